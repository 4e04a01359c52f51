/**
 * Reserved concurrency (PutFunctionConcurrency & co.) and throttling, enforced on real invocations.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DeleteFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  GetAccountSettingsCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  InvokeCommand,
  LambdaServiceException,
  PutFunctionConcurrencyCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import type { KumoOptions } from '../../src/config/index.js';
import { createNodeFunction } from '../helpers/functions.js';
import { startKumo, type TestKumo } from '../helpers/server.js';

const SLOW = 'exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms ?? 0)); return "done"; };';

async function withKumo(options: KumoOptions, fn: (k: TestKumo) => Promise<void>, keepData = false): Promise<void> {
  const k = await startKumo(options);
  try {
    await fn(k);
  } finally {
    await k.close({ keepData });
  }
}

async function deploy(k: TestKumo, name: string): Promise<void> {
  await createNodeFunction(k.lambda, name, await zipEntries([{ name: 'index.js', content: SLOW }]));
}

function invoke(k: TestKumo, name: string, ms = 0): Promise<unknown> {
  return k.lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify({ ms })) }));
}

function assertThrottled(err: unknown, reason: string): void {
  assert.ok(err instanceof TooManyRequestsException, `expected TooManyRequestsException, got ${String(err)}`);
  assert.equal(err.$metadata.httpStatusCode, 429);
  assert.equal(err.Reason, reason);
  assert.equal(err.message, 'Rate Exceeded.');
}

describe('reserved concurrency API', () => {
  test('Put, Get and Delete round-trip, and GetFunction shows the reservation', async () => {
    await withKumo({}, async (k) => {
      await deploy(k, 'rc');
      assert.deepEqual((await k.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'rc' }))).ReservedConcurrentExecutions, undefined);
      const put = await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'rc', ReservedConcurrentExecutions: 5 }));
      assert.equal(put.ReservedConcurrentExecutions, 5);
      assert.equal((await k.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'rc' }))).ReservedConcurrentExecutions, 5);
      assert.deepEqual((await k.lambda.send(new GetFunctionCommand({ FunctionName: 'rc' }))).Concurrency, { ReservedConcurrentExecutions: 5 });
      const settings = await k.lambda.send(new GetAccountSettingsCommand({}));
      assert.equal(settings.AccountLimit?.UnreservedConcurrentExecutions, 995);
      const del = await k.lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'rc' }));
      assert.equal(del.$metadata.httpStatusCode, 204);
      assert.equal((await k.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'rc' }))).ReservedConcurrentExecutions, undefined);
      assert.equal((await k.lambda.send(new GetFunctionCommand({ FunctionName: 'rc' }))).Concurrency, undefined);
    });
  });

  test('a reservation may not take the unreserved pool below its minimum of 100', async () => {
    await withKumo({}, async (k) => {
      await deploy(k, 'big');
      await assert.rejects(
        k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'big', ReservedConcurrentExecutions: 901 })),
        (err: unknown) =>
          err instanceof LambdaServiceException &&
          err.name === 'InvalidParameterValueException' &&
          /below its minimum value of \[100\]/.test(err.message),
      );
      await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'big', ReservedConcurrentExecutions: 900 }));
      assert.equal((await k.lambda.send(new GetAccountSettingsCommand({}))).AccountLimit?.UnreservedConcurrentExecutions, 100);
      // Deleting the function releases its reservation.
      await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'big' }));
      assert.equal((await k.lambda.send(new GetAccountSettingsCommand({}))).AccountLimit?.UnreservedConcurrentExecutions, 1000);
    });
  });

  test('an unknown function is ResourceNotFoundException; a negative value is refused', async () => {
    await withKumo({}, async (k) => {
      await assert.rejects(k.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'nope' })), { name: 'ResourceNotFoundException' });
      await deploy(k, 'neg');
      await assert.rejects(k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'neg', ReservedConcurrentExecutions: -1 })), {
        name: 'ValidationException',
      });
    });
  });

  test('a reservation survives a restart', async () => {
    const first = await startKumo();
    await deploy(first, 'kept');
    await first.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'kept', ReservedConcurrentExecutions: 0 }));
    await first.close({ keepData: true });
    await withKumo({ dataDir: first.dataDir }, async (k) => {
      assert.equal((await k.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'kept' }))).ReservedConcurrentExecutions, 0);
      await assert.rejects(invoke(k, 'kept'), (err) => {
        assertThrottled(err, 'ReservedFunctionConcurrentInvocationLimitExceeded');
        return true;
      });
    });
  });
});

describe('throttling', () => {
  test('reserved concurrency 0 throttles every invocation', async () => {
    await withKumo({}, async (k) => {
      await deploy(k, 'zero');
      await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'zero', ReservedConcurrentExecutions: 0 }));
      for (let i = 0; i < 3; i++) {
        await assert.rejects(invoke(k, 'zero'), (err) => {
          assertThrottled(err, 'ReservedFunctionConcurrentInvocationLimitExceeded');
          return true;
        });
      }
    });
  });

  test('a function runs at most its reserved concurrency at once', async () => {
    await withKumo({}, async (k) => {
      await deploy(k, 'two');
      await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'two', ReservedConcurrentExecutions: 2 }));
      const results = await Promise.allSettled([1, 2, 3, 4].map(() => invoke(k, 'two', 800)));
      const throttled = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(throttled.length, 2);
      for (const r of throttled) assertThrottled(r.reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
    });
  });

  test('unreserved functions share what reservations leave of the account limit', async () => {
    await withKumo({ concurrencyLimit: 3, unreservedConcurrencyMinimum: 0 }, async (k) => {
      await deploy(k, 'reserved');
      await deploy(k, 'shared');
      await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'reserved', ReservedConcurrentExecutions: 2 }));
      // One unreserved slot: of two concurrent calls to 'shared', one is throttled...
      const shared = await Promise.allSettled([invoke(k, 'shared', 800), invoke(k, 'shared', 800)]);
      const rejected = shared.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(rejected.length, 1);
      assertThrottled(rejected[0]?.reason, 'ConcurrentInvocationLimitExceeded');
      // ...while the reserved function still has both of its own.
      const reserved = await Promise.allSettled([invoke(k, 'reserved', 200), invoke(k, 'reserved', 200), invoke(k, 'shared', 200)]);
      assert.deepEqual(
        reserved.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled'],
      );
    });
  });
});
