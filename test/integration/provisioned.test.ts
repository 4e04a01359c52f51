/**
 * Provisioned concurrency, the engine's side: environments initialised ahead of demand and kept
 * warm, asked for through PutProvisionedConcurrencyConfig on a published version (the API itself
 * is tested in provisioned-api.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GetProvisionedConcurrencyConfigCommand, InvokeCommand, PutProvisionedConcurrencyConfigCommand } from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { eventually } from '../helpers/wait.js';

const HANDLER = `
exports.handler = async (event) => {
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return { type: process.env.AWS_LAMBDA_INITIALIZATION_TYPE, api: process.env.AWS_LAMBDA_RUNTIME_API };
};`;

const k = useKumo({ idleTimeoutMs: 200 }, async ({ lambda }) => {
  await createNodeFunction(lambda, 'pc', await zipEntries([{ name: 'index.js', content: HANDLER }]), { Publish: true });
});

async function invoke(event: object): Promise<{ body: { type: string; api: string }; log: string }> {
  const out = await k.lambda.send(
    new InvokeCommand({ FunctionName: 'pc', Qualifier: '1', Payload: Buffer.from(JSON.stringify(event)), LogType: 'Tail' }),
  );
  assert.equal(out.FunctionError, undefined);
  return {
    body: JSON.parse(Buffer.from(out.Payload ?? []).toString()) as { type: string; api: string },
    log: Buffer.from(out.LogResult ?? '', 'base64').toString(),
  };
}

test('invocations within the provisioned count see no cold start; the next one spills over to an on-demand environment', async () => {
  await k.lambda.send(
    new PutProvisionedConcurrencyConfigCommand({ FunctionName: 'pc', Qualifier: '1', ProvisionedConcurrentExecutions: 2 }),
  );
  await eventually(
    async () =>
      (await k.lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'pc', Qualifier: '1' }))).Status === 'READY',
    'the provisioned environments to be ready',
  );
  assert.equal(k.kumo.engineStats().provisionedEnvironments, 2);
  const within = await Promise.all([invoke({ sleepMs: 400 }), invoke({ sleepMs: 400 })]);
  for (const r of within) {
    assert.doesNotMatch(r.log, /Init Duration/, 'no cold start within the provisioned count');
    assert.equal(r.body.type, 'provisioned-concurrency');
  }
  const three = await Promise.all([invoke({ sleepMs: 400 }), invoke({ sleepMs: 400 }), invoke({ sleepMs: 400 })]);
  const cold = three.filter((r) => /Init Duration/.test(r.log));
  assert.equal(cold.length, 1, 'the third concurrent invocation spilled over');
  assert.equal(cold[0]?.body.type, 'on-demand');
});

test('provisioned environments are kept warm past the idle timeout, while on-demand ones are reclaimed', async () => {
  // The idle timeout is 200 ms: the spill-over environment goes, the two provisioned ones stay.
  await eventually(() => k.kumo.engineStats().environments === 2, 'the on-demand environment to be reclaimed');
  assert.equal(k.kumo.engineStats().provisionedEnvironments, 2);
  const r = await invoke({});
  assert.doesNotMatch(r.log, /Init Duration/);
  assert.equal(r.body.type, 'provisioned-concurrency');
});
