import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryPolicy, invocationRecord } from '../../src/async/index.js';
import { OptionsError, compileOptions, optionsFromEnv } from '../../src/config/index.js';
import type { EventInvokeConfigRecord } from '../../src/store/index.js';

const config = (c: Partial<EventInvokeConfigRecord>): EventInvokeConfigRecord => ({
  functionName: 'f',
  qualifier: '$LATEST',
  maximumRetryAttempts: undefined,
  maximumEventAgeInSeconds: undefined,
  onSuccess: undefined,
  onFailure: undefined,
  lastModified: 0,
  ...c,
});

test("Lambda's defaults: 2 retries, 6 hours of age", () => {
  const p = new RetryPolicy(1);
  assert.equal(p.maxRetries(undefined), 2);
  assert.equal(p.maxAgeMs(undefined), 21_600_000);
  assert.equal(p.maxRetries(config({ maximumRetryAttempts: 0 })), 0);
  assert.equal(p.expiresAt(1000, config({ maximumEventAgeInSeconds: 60 })), 61_000);
});

test('function errors wait about 1 minute, then 2', () => {
  const p = new RetryPolicy(1);
  assert.equal(p.functionErrorDelayMs(1), 60_000);
  assert.equal(p.functionErrorDelayMs(2), 120_000);
});

test('throttles back off from 1 s, doubling, up to 5 minutes', () => {
  const p = new RetryPolicy(1);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 9, 10, 30].map((n) => p.throttleDelayMs(n)),
    [1000, 2000, 4000, 8000, 16000, 256000, 300000, 300000],
  );
});

test('the time scale applies to every delay and to the maximum age', () => {
  const p = new RetryPolicy(0.01);
  assert.equal(p.functionErrorDelayMs(1), 600);
  assert.equal(p.throttleDelayMs(1), 10);
  assert.equal(p.maxAgeMs(config({ maximumEventAgeInSeconds: 60 })), 600);
});

test('the invocation record: a response only when the function ran', () => {
  const base = {
    now: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    requestId: 'r-1',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST',
    payload: Buffer.from('{"a":1}'),
    executedVersion: '$LATEST',
  };
  assert.deepEqual(invocationRecord({ ...base, condition: 'ZeroReservedConcurrency', invokeCount: 0, response: undefined }), {
    version: '1.0',
    timestamp: '2026-01-02T03:04:05.678Z',
    requestContext: { requestId: 'r-1', functionArn: base.functionArn, condition: 'ZeroReservedConcurrency', approximateInvokeCount: 0 },
    requestPayload: { a: 1 },
  });
  const failed = invocationRecord({
    ...base,
    condition: 'RetriesExhausted',
    invokeCount: 3,
    response: { statusCode: 200, functionError: 'Unhandled', payload: '{"errorMessage":"x","errorType":"Error"}' },
  });
  assert.deepEqual(failed.responseContext, { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
  assert.deepEqual(failed.responsePayload, { errorMessage: 'x', errorType: 'Error' });
  const ok = invocationRecord({
    ...base,
    condition: 'Success',
    invokeCount: 1,
    response: { statusCode: 200, functionError: undefined, payload: 'null' },
  });
  assert.deepEqual(ok.responseContext, { statusCode: 200, executedVersion: '$LATEST' });
  assert.equal(ok.responsePayload, null);
});

test('KUMO_ASYNC_TIME_SCALE and KUMO_ASYNC_CONCURRENCY set the async options; bad values are refused', () => {
  const o = compileOptions(optionsFromEnv({ KUMO_ASYNC_TIME_SCALE: '0.01', KUMO_ASYNC_CONCURRENCY: '4' }));
  assert.equal(o.asyncTimeScale, 0.01);
  assert.equal(o.asyncConcurrency, 4);
  assert.equal(compileOptions().asyncTimeScale, 1);
  assert.equal(compileOptions().asyncConcurrency, 16);
  assert.throws(() => compileOptions({ asyncTimeScale: 0 }), OptionsError);
  assert.throws(() => compileOptions({ asyncConcurrency: 0 }), OptionsError);
});
