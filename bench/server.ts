import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The repository root (benchmarks run from dist/bench). */
export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface BenchServer {
  url: URL;
  child: ChildProcess;
  dataDir: string;
}

/** Starts `bin/kumo.js server` as its own process, as a user runs it, on a fresh data directory. */
export async function startServer(prefix = 'kumo-bench-', extraEnv: Record<string, string> = {}): Promise<BenchServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/kumo.js'), 'server', '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, KUMO_LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Kumo is running at (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(new URL(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`kumo server exited with ${code}`)));
  });
  // The server's own warnings and errors (pino, on stdout) show up beside the figures.
  child.stdout?.pipe(process.stderr);
  return { url, child, dataDir };
}

/** Stops the server (SIGTERM) and removes its data directory. */
export async function stopServer(server: BenchServer): Promise<void> {
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
  fs.rmSync(server.dataDir, { recursive: true, force: true });
}
