import type { Command } from 'commander';
import { clientOf, functionPath } from './client.js';
import { out } from './output.js';

/** `kumo rm <fn>`: DeleteFunction. Its logs stay (as in AWS, the log group outlives the function). */
export function registerRm(program: Command): void {
  program
    .command('rm')
    .alias('delete')
    .description('delete a function (its logs are kept)')
    .argument('<function>', 'function name or ARN')
    .action(async (name: string, _flags: object, cmd: Command) => {
      await clientOf(cmd).request('DELETE', functionPath(name));
      out(`Deleted ${name}`);
    });
}
