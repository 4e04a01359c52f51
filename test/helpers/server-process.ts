import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { repoPath, TEST_CREDENTIALS } from './server.js';

/** `kumo server` as a child process on an ephemeral port (for tests that kill it). */
export class ServerProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    private readonly stderr: string[],
  ) {}

  static async start(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
    const child = spawn(process.execPath, [repoPath('bin/kumo.js'), 'server', '--port', '0', '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KUMO_LOG_LEVEL: 'warn', ...env },
    });
    const stderr: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    const lines = readline.createInterface({ input: child.stdout ?? assert.fail('no stdout') });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kumo server did not start within 20 s: ${stderr.join('')}`)), 20_000);
      child.once('exit', (code, signal) => reject(new Error(`kumo server exited (${code ?? signal}) before starting: ${stderr.join('')}`)));
      lines.on('line', (line) => {
        const match = /^Kumo is running at (http:\/\/\S+)$/.exec(line);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    lines.on('line', () => {}); // keep draining stdout
    return new ServerProcess(child, url, stderr);
  }

  lambda(): LambdaClient {
    return new LambdaClient({ endpoint: this.url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  }

  /** Sends `signal` and resolves once the process is gone. */
  async stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return { code: this.child.exitCode, signal: this.child.signalCode };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      this.child.once('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    this.child.kill(signal);
    return exited;
  }

  get output(): string {
    return this.stderr.join('');
  }
}
