// @ts-check
/**
 * Kumo's Node.js runtime (nodejs20.x, nodejs22.x): the entry point of an execution environment.
 *
 * Everything in runtime/nodejs/ runs INSIDE the function's process, next to user code. It is plain
 * ESM with JSDoc types (no build step), uses only node: builtins, and the host never imports it:
 * the host only starts `node [flags] runtime/nodejs/bootstrap.mjs` with cwd = task root and the
 * Lambda environment variables (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, ...).
 *
 * A stem cell (KUMO_STEM=1, see stem.mjs) first waits here for the function it is to become.
 * From here on it behaves like AWS's runtime interface client: patch console, install the process
 * listeners, load the handler (failures go to /runtime/init/error, exit 129), then loop on
 * /runtime/invocation/next.
 */

import { loadHandler } from './handler-loader.mjs';
import { patchConsole } from './logging.mjs';
import { Runtime } from './runtime.mjs';
import { awaitSpecialisation, connectEarly, prewarm } from './stem.mjs';

/** @type {import('./runtime-client.mjs').RuntimeClient | undefined} */
let early;
if (process.env['KUMO_STEM'] === '1') {
  await prewarm();
  early = await connectEarly();
  awaitSpecialisation();
}
const env = process.env;
patchConsole(env);

const runtime = new Runtime(env, early);
runtime.installProcessListeners();
runtime.preconnect();

try {
  const taskRoot = env['LAMBDA_TASK_ROOT'] || process.cwd();
  // Top-level await on purpose: a user module whose own top-level await never settles makes Node
  // exit with code 13 and say so, instead of exiting silently.
  runtime.start(await loadHandler(taskRoot, env['_HANDLER'] ?? ''));
} catch (err) {
  runtime.failInit(err);
}
