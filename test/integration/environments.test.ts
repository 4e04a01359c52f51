/**
 * Execution environments with real functions: reuse, replacement, idle reclaim, timeouts, crashes,
 * one invocation at a time, the account concurrency limit, and nothing left running afterwards.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  InvokeCommand,
  LambdaServiceException,
  UpdateFunctionConfigurationCommand,
  type CreateFunctionCommandInput,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { startKumo, type TestKumo } from '../helpers/server.js';
import { processesWithEnv } from '../helpers/processes.js';
import { eventually } from '../helpers/wait.js';

/** A Node function that reports its process and how many invocations that process has served. */
const PROBE = `
let served = 0;
let inFlight = 0;
let maxInFlight = 0;
exports.handler = async (event) => {
  served++;
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  try {
    if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
    if (event.spin) for (;;) {}
    if (event.exit !== undefined) process.exit(event.exit);
    if (event.spawn) {
      const { spawn } = require('node:child_process');
      const child = spawn('sleep', ['600'], { stdio: 'ignore', detached: true });
      child.unref();
    }
    return { env: process.env.AWS_LAMBDA_LOG_STREAM_NAME, api: process.env.AWS_LAMBDA_RUNTIME_API, served, maxInFlight, memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE };
  } finally {
    inFlight--;
  }
};`;

interface Probe {
  /** The environment's log stream: unique per environment. */
  env: string;
  /**
   * Its Runtime API address: unique among live environments, and in the initial environment
   * (/proc/<pid>/environ) of every process it runs, a stem cell's runtime included (which started
   * before it knew its function, so its initial environment has none of the function's variables).
   */
  api: string;
  served: number;
  maxInFlight?: number;
  memory?: string;
}

async function deploy(k: TestKumo, name: string, extra: Partial<CreateFunctionCommandInput> = {}): Promise<void> {
  await createNodeFunction(k.lambda, name, await zipEntries([{ name: 'index.js', content: PROBE }]), extra);
}

async function invoke(k: TestKumo, name: string, event: object = {}): Promise<{ out: InvokeCommandOutput; body: unknown; log: string }> {
  const out = await k.lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)), LogType: 'Tail' }));
  return {
    out,
    body: JSON.parse(Buffer.from(out.Payload ?? []).toString()),
    log: Buffer.from(out.LogResult ?? '', 'base64').toString(),
  };
}

async function probe(k: TestKumo, name: string, event: object = {}): Promise<Probe> {
  const r = await invoke(k, name, event);
  assert.equal(r.out.FunctionError, undefined, JSON.stringify(r.body));
  return r.body as Probe;
}

/** Host pids of an environment's live processes, found by its Runtime API address. */
function processesOf(env: Probe): number[] {
  return processesWithEnv('AWS_LAMBDA_RUNTIME_API', env.api);
}

function alive(env: Probe): boolean {
  return processesOf(env).length > 0;
}

describe('execution environments', () => {
  const k = useKumo();

  test('a warm environment is reused: same process, state kept, no Init Duration', async () => {
    await deploy(k, 'warm');
    const first = await invoke(k, 'warm');
    assert.match(first.log, /Init Duration: [\d.]+ ms/);
    const second = await invoke(k, 'warm');
    assert.doesNotMatch(second.log, /Init Duration/);
    const a = first.body as Probe;
    const b = second.body as Probe;
    assert.equal(b.env, a.env);
    assert.equal(b.served, a.served + 1);
  });

  test('a configuration change replaces the environment and ends the old process', async () => {
    await deploy(k, 'replace');
    const before = await probe(k, 'replace');
    await k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'replace', MemorySize: 256 }));
    const after = await probe(k, 'replace');
    assert.notEqual(after.env, before.env);
    assert.equal(after.served, 1);
    assert.equal(after.memory, '256');
    await eventually(() => !alive(before), 'old environment process to end');
  });

  test('each environment runs one invocation at a time; concurrent calls get their own', async () => {
    await deploy(k, 'parallel');
    const results = await Promise.all(Array.from({ length: 6 }, () => probe(k, 'parallel', { sleepMs: 300 })));
    const pids = new Set(results.map((r) => r.env));
    assert.equal(pids.size, 6, 'six concurrent invocations ran in six environments');
    for (const r of results) assert.equal(r.maxInFlight, 1);
  });

  test('a timeout ends the environment with Sandbox.Timedout and the next call gets a fresh one', async () => {
    await deploy(k, 'timeout', { Timeout: 1 });
    const before = await probe(k, 'timeout');
    const timedOut = await invoke(k, 'timeout', { spin: true });
    assert.equal(timedOut.out.FunctionError, 'Unhandled');
    const body = timedOut.body as { errorType: string; errorMessage: string };
    assert.equal(body.errorType, 'Sandbox.Timedout');
    assert.match(body.errorMessage, /^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$/);
    assert.match(timedOut.log, /Task timed out after 1\.00 seconds/);
    assert.match(timedOut.log, /REPORT RequestId: .*\tStatus: timeout\t/);
    await eventually(() => !alive(before), 'timed-out process to be killed');
    const next = await probe(k, 'timeout');
    assert.notEqual(next.env, before.env);
    assert.equal(next.served, 1);
  });

  test('a process that exits mid-invocation is Runtime.ExitError, and is replaced', async () => {
    await deploy(k, 'crash');
    const before = await probe(k, 'crash');
    const crashed = await invoke(k, 'crash', { exit: 7 });
    assert.equal(crashed.out.FunctionError, 'Unhandled');
    assert.deepEqual(Object.keys(crashed.body as object).sort(), ['errorMessage', 'errorType']);
    assert.equal((crashed.body as { errorType: string }).errorType, 'Runtime.ExitError');
    assert.match((crashed.body as { errorMessage: string }).errorMessage, /Runtime exited with error: exit status 7$/);
    const next = await probe(k, 'crash');
    assert.notEqual(next.env, before.env);
  });
});

describe('isolation, end to end', () => {
  test('in the sandbox a function sees /var/task, runs unprivileged and cannot reach Kumo’s data or the host', async (t) => {
    const k = await startKumo();
    try {
      if (k.kumo.isolationKind !== 'bubblewrap') {
        console.log(`# skipped: this host runs environments as plain processes (${k.kumo.isolationKind}); see kumo doctor`);
        t.skip('no sandbox on this host');
        return;
      }
      const code = `
        const fs = require('node:fs');
        const can = (p) => { try { fs.readdirSync(p); return true; } catch { try { fs.readFileSync(p); return true; } catch { return false; } } };
        exports.handler = async (e) => ({
          taskRoot: process.env.LAMBDA_TASK_ROOT, cwd: process.cwd(), uid: process.getuid(),
          dataDir: can(e.dataDir), db: can(e.dataDir + '/kumo.db'), home: can('/root'), shadow: can('/etc/shadow'),
          writeTask: (() => { try { fs.writeFileSync('/var/task/x', 'x'); return true; } catch { return false; } })(),
          tmp: (() => { fs.writeFileSync('/tmp/ok', 'ok'); return fs.readFileSync('/tmp/ok', 'utf8'); })(),
          pid1: fs.readFileSync('/proc/1/cmdline', 'utf8').split('\\0')[0],
        });`;
      await createNodeFunction(k.lambda, 'jail', await zipEntries([{ name: 'index.js', content: code }]));
      const r = await invoke(k, 'jail', { dataDir: k.dataDir });
      const body = r.body as Record<string, unknown>;
      assert.equal(body.taskRoot, '/var/task');
      assert.equal(body.cwd, '/var/task');
      assert.notEqual(body.uid, 0);
      assert.deepEqual([body.dataDir, body.db, body.home, body.shadow, body.writeTask], [false, false, false, false, false]);
      assert.equal(body.tmp, 'ok');
      assert.doesNotMatch(String(body.pid1), /kumo|node .*test/);
    } finally {
      await k.close();
    }
  });
});

describe('frozen between invocations', () => {
  test('an idle environment’s timers do not run until its next invocation', async () => {
    const k = await startKumo();
    try {
      const code = 'let ticks = 0; setInterval(() => ticks++, 10); exports.handler = async () => ticks;';
      await createNodeFunction(k.lambda, 'frozen', await zipEntries([{ name: 'index.js', content: code }]));
      const before = (await invoke(k, 'frozen')).body as number;
      // Idle time is what this test is about: 600 ms would be ~60 ticks in a running process.
      await new Promise((r) => setTimeout(r, 600));
      const after = (await invoke(k, 'frozen')).body as number;
      assert.ok(after - before < 15, `the interval ran ${after - before} times while the environment was idle`);
    } finally {
      await k.close();
    }
  });
});

describe('idle reclaim', () => {
  const k = useKumo({ idleTimeoutMs: 300 });

  test('an environment idle past the idle timeout is reclaimed; the next call is a cold start', async () => {
    await deploy(k, 'idle');
    const first = await probe(k, 'idle');
    await eventually(() => !alive(first), 'idle environment to be reclaimed');
    const next = await invoke(k, 'idle');
    assert.match(next.log, /Init Duration/);
    assert.notEqual((next.body as Probe).env, first.env);
  });
});

describe('account concurrency limit', () => {
  const k = useKumo({ concurrencyLimit: 2 });

  test('invocations beyond the limit are throttled with TooManyRequestsException', async () => {
    await deploy(k, 'limited');
    const results = await Promise.allSettled([1, 2, 3].map(() => probe(k, 'limited', { sleepMs: 500 })));
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(rejected.length, 1);
    const err: unknown = rejected[0]?.reason;
    assert.ok(err instanceof LambdaServiceException);
    assert.equal(err.name, 'TooManyRequestsException');
    assert.equal(err.$metadata.httpStatusCode, 429);
    assert.equal((err as LambdaServiceException & { Reason?: string }).Reason, 'ConcurrentInvocationLimitExceeded');
  });
});

describe('shutdown', () => {
  test('closing Kumo ends every environment and everything its functions started', async () => {
    const k = await startKumo();
    await deploy(k, 'spawner');
    const r = await probe(k, 'spawner', { spawn: true });
    await eventually(() => processesOf(r).length >= 2, 'the runtime and the child it started');
    await k.close();
    await eventually(() => !alive(r), 'environment and its child to end');
  });
});
