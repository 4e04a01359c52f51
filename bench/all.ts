/**
 * `npm run bench`: the floor of this host (baseline.ts), the engine's benchmark (run.ts), then
 * async invocation (async.ts), the queue service (queues.ts) and issue 5's features (features.ts),
 * one after another, each against a server of its own. Arguments go to run.ts (`--quick`,
 * `--memory=128`, `--update-readme`); features.ts takes `--quick` and `--update-readme` too.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const here = import.meta.dirname;

function run(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, file), ...args], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${file} exited with ${signal ?? code}`))));
  });
}

await run('baseline.js', process.argv.includes('--quick') ? ['--quick'] : []);
await run('run.js', process.argv.slice(2));
await run('async.js', []);
await run('queues.js', []);
await run('features.js', process.argv.slice(2));
