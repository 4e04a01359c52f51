import { Command, CommanderError, Option } from 'commander';
import { ApiError, ConnectionError, DEFAULT_ENDPOINT } from './client.js';
import { registerDeploy } from './deploy.js';
import { registerDoctor } from './doctor.js';
import { registerInvoke } from './invoke.js';
import { registerLogs } from './logs.js';
import { registerLs } from './ls.js';
import { registerPending } from './pending.js';
import { err, Exit, UsageError } from './output.js';
import { registerQueues } from './queues.js';
import { registerRm } from './rm.js';
import { registerServer } from './server.js';
import { registerSign } from './sign.js';

/**
 * Entry point of the `kumo` executable. Resolves to the process exit code:
 * 0 success; 1 the operation failed (API error, function error); 2 usage error or no server.
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('kumo')
    .description('Kumo: a self-hosted, AWS Lambda-compatible serverless platform')
    .addOption(new Option('--endpoint <url>', 'URL of the Kumo server').env('KUMO_ENDPOINT').default(DEFAULT_ENDPOINT))
    .exitOverride()
    .showHelpAfterError();
  registerServer(program);
  registerDeploy(program);
  registerInvoke(program);
  registerLs(program);
  registerRm(program);
  registerLogs(program);
  registerPending(program);
  registerQueues(program);
  registerSign(program);
  registerDoctor(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    return exitCodeOf(e);
  }
}

function exitCodeOf(e: unknown): number {
  // Commander has printed its own message; any failure of its is a usage error (help/version are 0).
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (e instanceof Exit) return e.code;
  if (e instanceof ApiError) {
    err(`kumo: ${e.type}: ${e.message}`);
    return 1;
  }
  if (e instanceof ConnectionError || e instanceof UsageError) {
    err(`kumo: ${e.message}`);
    return 2;
  }
  err(`kumo: ${e instanceof Error ? e.message : String(e)}`);
  return 1;
}
