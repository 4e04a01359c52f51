/**
 * Under load it holds: many concurrent clients, a burst over the concurrency limit, the control
 * plane answering meanwhile, and nothing left running once Kumo stops. Bounded in count and time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GetAccountSettingsCommand, InvokeCommand, ListFunctionsCommand, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { createNodeFunction } from '../helpers/functions.js';
import { startKumo } from '../helpers/server.js';
import { processesOfDataDir } from '../helpers/processes.js';
import { eventually } from '../helpers/wait.js';

const FUNCTION = 'stress-sleeper';
const LIMIT = 24;

test('concurrent clients, a burst over the limit, a responsive control plane, and no process left behind', async () => {
  const k = await startKumo({ concurrencyLimit: LIMIT });
  try {
    await createNodeFunction(
      k.lambda,
      FUNCTION,
      await zipEntries([
        { name: 'index.js', content: 'exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return e.n; };' },
      ]),
      { MemorySize: 256 },
    );
    const invoke = async (n: number, ms: number): Promise<unknown> => {
      const out = await k.lambda.send(new InvokeCommand({ FunctionName: FUNCTION, Payload: Buffer.from(JSON.stringify({ n, ms })) }));
      assert.equal(out.FunctionError, undefined);
      return JSON.parse(Buffer.from(out.Payload ?? []).toString());
    };

    // 16 clients, 8 invocations each, within the limit: every one answers with its own result.
    const clients = 16;
    const perClient = 8;
    const answers = await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const mine: unknown[] = [];
        for (let i = 0; i < perClient; i++) mine.push(await invoke(c * perClient + i, 20));
        return mine;
      }),
    );
    assert.deepEqual(
      answers.flat(),
      Array.from({ length: clients * perClient }, (_, i) => i),
    );

    // A burst of twice the limit: the excess is throttled with Lambda's 429, nothing else fails, and
    // control-plane calls made during the burst still answer.
    const burst = Array.from({ length: LIMIT * 2 }, (_, i) => invoke(i, 1500));
    const control = await Promise.all([k.lambda.send(new ListFunctionsCommand({})), k.lambda.send(new GetAccountSettingsCommand({}))]);
    assert.equal(control[0].Functions?.length, 1);
    const settled = await Promise.allSettled(burst);
    const ok = settled.filter((r) => r.status === 'fulfilled').length;
    const throttled = settled.filter((r) => r.status === 'rejected' && r.reason instanceof TooManyRequestsException).length;
    assert.equal(ok + throttled, LIMIT * 2, 'every call either ran or was throttled');
    assert.ok(ok >= 1 && ok <= LIMIT, `at most the limit ran (${ok})`);
    assert.ok(throttled >= LIMIT, `the excess was throttled (${throttled})`);
    assert.ok(processesOfDataDir(k.dataDir).length > 0, 'environments are running before the stop');
  } finally {
    await k.close();
  }
  await eventually(() => processesOfDataDir(k.dataDir).length === 0, 'every process of every environment to end after close');
});
