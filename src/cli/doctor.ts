import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { Isolation, IsolationSupport } from '../sandbox/index.js';
import { out } from './output.js';

/**
 * `kumo doctor`: which isolation `kumo server` would use on this host, and why. It runs the same
 * detection locally (a trial sandbox and a trial cgroup), so it needs no server. Exits 0 whatever it
 * finds: a weaker isolation is a fact about the host, not a failure of the command.
 */
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show which isolation functions get on this host, and why')
    .option('--measure', 'also time sandbox start-up and a freeze+thaw round trip')
    .action(async (flags: { measure?: boolean }) => {
      // Imported here, as the server is, so the other commands start fast.
      const { Isolation } = await import('../sandbox/index.js');
      const isolation = await Isolation.create();
      try {
        out(describeIsolation(isolation.support, isolation.peerCheckMethod));
        if (flags.measure) out(await measure(isolation));
      } finally {
        await isolation.close();
      }
    });
}

function yesNo(v: boolean): string {
  return v ? 'yes' : 'no';
}

export function describeIsolation(s: IsolationSupport, peerCheck?: 'sock_diag' | 'proc'): string {
  const headline =
    s.kind === 'bubblewrap'
      ? `bubblewrap sandbox${s.cgroup ? ` + cgroup ${s.cgroup} limits` : ', no cgroup limits'}`
      : `plain processes with rlimits${s.cgroup ? ` + cgroup ${s.cgroup} limits` : ''}`;
  const lines = [
    `Isolation: ${headline}`,
    `  namespaces (mount, PID, IPC, UTS)  ${yesNo(s.namespaces)}`,
    `  unprivileged user (sbx_user1051)   ${s.user ? `yes, via ${s.user}` : 'no'}`,
    `  cgroup limits                      ${s.cgroup ?? 'no (RLIMIT_DATA for memory only)'}`,
    `  freezer                            ${s.freezer}`,
    `  /tmp capped at EphemeralStorage    ${yesNo(s.tmpSizeCapped)}`,
    ...(peerCheck === undefined
      ? []
      : [
          `  Runtime API for own processes only ${s.cgroup ? 'cgroup' : 'process tree'}, ${
            peerCheck === 'sock_diag' ? 'sock_diag lookup (~0.1 ms a connection)' : '/proc/net/tcp (python3 missing: ~7 ms a connection)'
          }`,
        ]),
    'Why:',
    ...s.reasons.map((r) => `  - ${r}`),
  ];
  if (s.warning) lines.push('', s.warning);
  return lines.join('\n');
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

function ms(n: number): string {
  return `${n.toFixed(2)} ms`;
}

/** Runs `file args` to completion and resolves to the time it took. */
function timed(
  file: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  onPid?: (pid: number | undefined) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { env, cwd, detached: true, stdio: 'ignore' });
    onPid?.(child.pid);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${file} exited with ${code}`))));
  });
}

async function measure(isolation: Isolation): Promise<string> {
  // An empty directory stands in for the code and the runtime.
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-doctor-'));
  fs.chmodSync(empty, 0o755);
  try {
    return await measureIn(isolation, empty);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
}

async function measureIn(isolation: Isolation, empty: string): Promise<string> {
  const runs = 20;
  const plain: number[] = [];
  const sandboxed: number[] = [];
  const env = { PATH: '/usr/bin:/bin' };
  for (let i = 0; i < runs; i++) {
    plain.push(await timed('/bin/true', [], env, '/'));
    const launch = isolation.command({
      envId: `doctor-${process.pid}-${i}`,
      taskRoot: empty,
      runtimeDir: empty,
      scratchDir: empty,
      command: { file: '/bin/true', args: [] },
      memoryMb: 128,
      ephemeralStorageMb: 16,
      env,
      cpus: 'unlimited',
    });
    try {
      sandboxed.push(await timed(launch.file, launch.args, launch.env, launch.cwd, (pid) => launch.handle.attach(pid)));
    } finally {
      await launch.handle.destroy();
    }
  }
  const lines = [
    'Measured:',
    `  start+exit of /bin/true, plain       p50 ${ms(percentile(plain, 0.5))}  p90 ${ms(percentile(plain, 0.9))}`,
    `  start+exit of /bin/true, isolated    p50 ${ms(percentile(sandboxed, 0.5))}  p90 ${ms(percentile(sandboxed, 0.9))}`,
  ];

  // Freeze+thaw of a running process.
  const launch = isolation.command({
    envId: `doctor-${process.pid}-freeze`,
    taskRoot: empty,
    runtimeDir: empty,
    scratchDir: empty,
    command: { file: '/bin/sh', args: ['-c', 'while :; do sleep 0.01; done'] },
    memoryMb: 128,
    ephemeralStorageMb: 16,
    env,
  });
  const child = spawn(launch.file, launch.args, { env: launch.env, cwd: launch.cwd, detached: true, stdio: 'ignore' });
  launch.handle.attach(child.pid);
  const rounds: number[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await launch.handle.freeze();
      launch.handle.thaw();
      rounds.push(performance.now() - started);
    }
  } finally {
    await launch.handle.destroy();
  }
  lines.push(
    `  freeze+thaw round trip (${isolation.support.freezer})  p50 ${ms(percentile(rounds, 0.5))}  p99 ${ms(percentile(rounds, 0.99))}`,
  );
  return lines.join('\n');
}
