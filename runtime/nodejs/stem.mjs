// @ts-check
/**
 * Stem-cell mode (`KUMO_STEM=1`). Kumo starts a runtime process, in its sandbox, before it knows
 * which function will run there: by the time this runs, Node has started and the runtime's modules
 * are loaded. The process says so on stdout, then blocks on stdin until Kumo sends the function's
 * environment as one JSON line, `{"env": {...}, "cwd": "/var/task"}`; by then the function's code
 * sits at the task root. From here on the process is one started for that function, and its init
 * (`Init Duration`) begins.
 *
 * A blocking read on purpose: the process has nothing else to do, and Kumo keeps it frozen meanwhile.
 */

import fs from 'node:fs';
import { RuntimeClient } from './runtime-client.mjs';

/** The line a stem cell writes once it is ready to be specialised. */
export const STEM_READY = 'KUMO_STEM_READY';

const NEWLINE = 10;

/**
 * What every environment pays for on its first use anyway, done while nobody waits: Node creates
 * `console`, `process.stdout` and `process.stderr` lazily (about a millisecond together), and the
 * first dynamic `import()` sets up the machinery the handler's import goes through.
 */
export async function prewarm() {
  void console.log;
  void process.stdout;
  void process.stderr;
  const empty = 'data:text/javascript,export default 0';
  await import(empty);
}

/**
 * Connects to the Runtime API before the stem cell says it is ready: Kumo checks a new
 * connection's peer (docs/sandbox.md), and this way it does so while the stem cell waits for a
 * function instead of during a cold start. The runtime takes the client over if its function's
 * Runtime API is the same (it is: a stem cell's API becomes its environment's).
 * @returns {Promise<RuntimeClient | undefined>}
 */
export async function connectEarly() {
  const api = process.env['AWS_LAMBDA_RUNTIME_API'];
  if (!api) return undefined;
  const client = new RuntimeClient(api, () => undefined);
  await client.preconnect();
  return client;
}

export function awaitSpecialisation() {
  fs.writeSync(1, `${STEM_READY}\n`);
  /** @type {Buffer[]} */
  const chunks = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    const n = fs.readSync(0, buf);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    if (buf[n - 1] === NEWLINE) break;
  }
  const message = /** @type {{ env: Record<string, string>, cwd: string }} */ (JSON.parse(Buffer.concat(chunks).toString('utf8')));
  // stdin is /dev/null from now on, as in any environment (the lowest free descriptor is 0 again).
  fs.closeSync(0);
  fs.openSync('/dev/null', 'r');
  const env = process.env;
  for (const key of Object.keys(env)) delete env[key];
  Object.assign(env, message.env);
  process.chdir(message.cwd);
}
