import { Command, CommanderError } from 'commander';
import { registerServer } from './server.js';

/** Entry point of the `kumo` executable. Resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('kumo')
    .description('Kumo: a self-hosted, AWS Lambda-compatible serverless platform')
    .exitOverride()
    .showHelpAfterError();
  registerServer(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}
