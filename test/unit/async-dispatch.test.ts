/**
 * The async service's retry and age rules on a manual clock: exact delays, without sleeping. The
 * store is the real SQLite adapter (in memory); the functions port is a scripted stand-in for
 * FunctionService that answers each attempt as the test says.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AsyncService } from '../../src/async/index.js';
import type { Clock, Timer } from '../../src/clock/index.js';
import { KumoError } from '../../src/errors/index.js';
import type { InvokeInput, InvokeResult } from '../../src/functions/index.js';
import { functionArn, parseFunctionRef } from '../../src/functions/index.js';
import { Metrics } from '../../src/metrics/index.js';
import { openStore, type FunctionRecord } from '../../src/store/index.js';

class ManualClock implements Clock {
  private t = 1_000_000;
  private timers: Array<{ at: number; fn: () => void; id: object }> = [];
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): Timer {
    const id = {};
    this.timers.push({ at: this.t + ms, fn, id });
    return { cancel: () => (this.timers = this.timers.filter((t) => t.id !== id)) };
  }
  /** Moves to the next timer, fires it, and lets the work it starts settle. */
  async next(): Promise<number> {
    this.timers.sort((a, b) => a.at - b.at);
    const due = this.timers.shift();
    if (!due) return this.t;
    this.t = due.at;
    due.fn();
    await settle();
    return this.t;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

const P = { region: 'us-east-1', accountId: '000000000000' };
const FN: FunctionRecord = {
  name: 'f',
  version: '$LATEST',
  config: {
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    role: 'arn:aws:iam::000000000000:role/r',
    description: '',
    memorySize: 128,
    timeout: 3,
    ephemeralStorage: 512,
    environment: {},
    architectures: ['x86_64'],
    packageType: 'Zip',
    tracingMode: 'PassThrough',
    logFormat: 'Text',
    logGroup: '/aws/lambda/f',
  },
  codeSha256Hex: '0'.repeat(64),
  codeSize: 1,
  codeUnzippedSize: 1,
  revisionId: 'r',
  createdAt: 0,
  lastModified: 0,
};

type Answer = 'ok' | 'error' | 'throttle';

function setup(answers: Answer[]) {
  const clock = new ManualClock();
  const store = openStore(':memory:');
  const attempts: Array<{ at: number; requestId: string }> = [];
  const functions = {
    partition: P,
    ref: (input: string, qualifier?: string) => {
      const r = parseFunctionRef(P, input);
      return { name: r.name, qualifier: qualifier ?? r.qualifier };
    },
    arn: (name: string, qualifier?: string) => functionArn(P, name, qualifier),
    get: (name: string) => {
      if (name !== 'f') return Promise.reject(new KumoError('ResourceNotFoundException', 'Function not found'));
      return Promise.resolve(FN);
    },
    invoke: (input: InvokeInput): Promise<InvokeResult> => {
      attempts.push({ at: clock.now(), requestId: input.requestId });
      const answer = answers.shift() ?? 'ok';
      if (answer === 'throttle') return Promise.reject(new KumoError('TooManyRequestsException', 'Rate Exceeded.'));
      return Promise.resolve({
        executedVersion: '$LATEST',
        outcome: {
          payload: Buffer.from(answer === 'ok' ? '"done"' : '{"errorType":"Error","errorMessage":"no"}'),
          functionError: answer === 'ok' ? undefined : 'Unhandled',
          errorType: answer === 'ok' ? undefined : 'Error',
          durationMs: 1,
          initDurationMs: undefined,
          maxMemoryUsedMb: 1,
          logLines: undefined,
        },
      });
    },
  };
  const service = new AsyncService({
    functions,
    events: store.asyncEvents,
    configs: store.eventInvokeConfigs,
    reservedConcurrency: () => undefined,
    metrics: new Metrics({ processMetrics: false }),
    timeScale: 1,
    concurrency: 4,
    log: { warn: () => {}, error: () => {} },
    clock,
  });
  return { clock, store, service, attempts };
}

test('function errors: retried after exactly 1 and then 2 minutes, with the same request id, then dropped', async () => {
  const { clock, store, service, attempts } = setup(['error', 'error', 'error']);
  await service.accept({ functionName: 'f', qualifier: undefined, payload: Buffer.from('{}'), requestId: 'req-1', operation: 'Invoke' });
  await settle();
  const start = attempts[0]?.at ?? assert.fail('no first attempt');
  await clock.next();
  await clock.next();
  assert.deepEqual(
    attempts.map((a) => [a.at - start, a.requestId]),
    [
      [0, 'req-1'],
      [60_000, 'req-1'],
      [180_000, 'req-1'],
    ],
  );
  assert.equal((await store.asyncEvents.pending()).length, 0);
  await store.close();
});

test('throttles: backoff of 1, 2, 4, 8 ... s, capped at 5 minutes, until the maximum age; never run after it', async () => {
  const { clock, store, service, attempts } = setup(Array<Answer>(100).fill('throttle'));
  await service.putConfig('f', undefined, { MaximumEventAgeInSeconds: 1800 });
  await service.accept({ functionName: 'f', qualifier: undefined, payload: Buffer.from('{}'), requestId: 'req-2', operation: 'Invoke' });
  await settle();
  const start = attempts[0]?.at ?? assert.fail('no first attempt');
  for (let i = 0; i < 30; i++) await clock.next();
  const gaps = attempts.slice(1).map((a, i) => a.at - (attempts[i]?.at ?? 0));
  assert.deepEqual(gaps.slice(0, 10), [1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000]);
  for (const a of attempts) assert.ok(a.at - start < 1_800_000, `attempt at ${a.at - start} ms, past the 30-minute age`);
  assert.equal((await store.asyncEvents.pending()).length, 0, 'the event left the queue as EventAgeExceeded');
  await store.close();
});

test('a throttle then success: the event runs once it has room and leaves the queue', async () => {
  const { clock, store, service, attempts } = setup(['throttle', 'ok']);
  await service.accept({
    functionName: 'f',
    qualifier: undefined,
    payload: Buffer.from('{"a":1}'),
    requestId: 'req-3',
    operation: 'Invoke',
  });
  await settle();
  await clock.next();
  assert.equal(attempts.length, 2);
  assert.equal((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0), 1000);
  assert.equal((await store.asyncEvents.pending()).length, 0);
  await store.close();
});
