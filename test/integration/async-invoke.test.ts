/**
 * Asynchronous invocation end to end, with every async delay scaled by 0.01 through
 * `asyncTimeScale` (KUMO_ASYNC_TIME_SCALE): a minute is 0.6 s. Functions report each run to a
 * collector on 127.0.0.1, so the tests see which request ids ran, how often and when.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import {
  DeleteFunctionCommand,
  InvokeAsyncCommand,
  InvokeCommand,
  LambdaServiceException,
  PutFunctionConcurrencyCommand,
  PutFunctionEventInvokeConfigCommand,
  type DestinationConfig,
} from '@aws-sdk/client-lambda';
import { Collector, createRecorderFunction, type Hit } from '../helpers/collector.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { repoPath } from '../helpers/server.js';
import { pendingEvents, type PendingOut } from '../helpers/pending.js';
import { eventually } from '../helpers/wait.js';

const SCALE = 0.01;
const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:';

let collector: Collector;
const k = useKumo({ asyncTimeScale: SCALE }, async () => {
  collector = await Collector.start();
  await deploy('sink');
});

async function deploy(name: string, extra: { dlq?: string; timeout?: number } = {}): Promise<void> {
  await createRecorderFunction(k.lambda, name, collector, {
    Timeout: extra.timeout ?? 10,
    ...(extra.dlq ? { DeadLetterConfig: { TargetArn: extra.dlq } } : {}),
  });
}

async function configure(name: string, config: { retries?: number; maxAge?: number; destinations?: DestinationConfig }): Promise<void> {
  await k.lambda.send(
    new PutFunctionEventInvokeConfigCommand({
      FunctionName: name,
      MaximumRetryAttempts: config.retries,
      MaximumEventAgeInSeconds: config.maxAge,
      DestinationConfig: config.destinations,
    }),
  );
}

/** Invoke with InvocationType Event; returns the request id of the 202. */
async function invokeEvent(name: string, event: unknown): Promise<string> {
  const out = await k.lambda.send(
    new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }),
  );
  assert.equal(out.StatusCode, 202);
  assert.equal(out.Payload?.length ?? 0, 0);
  return out.$metadata.requestId ?? assert.fail('no x-amzn-RequestId');
}

/** Records delivered to the destination function `sink`, for one request id of the source. */
function recordsFor(requestId: string): Array<Record<string, unknown> & { requestContext: Record<string, unknown> }> {
  return collector
    .of('sink')
    .map((h) => h.event as Record<string, unknown> & { requestContext: Record<string, unknown> })
    .filter((e) => e.requestContext?.requestId === requestId);
}

after(async () => {
  await collector?.close();
});

describe('Invoke with InvocationType Event', () => {
  test("answers 202 with x-amzn-RequestId, and that id is the function's context.awsRequestId", async () => {
    await deploy('plain');
    const id = await invokeEvent('plain', { hello: 'async' });
    await eventually(() => collector.byId(id).length === 1, 'the event to run');
    const hit = collector.byId(id)[0] as Hit;
    assert.equal(hit.fn, 'plain');
    assert.deepEqual(hit.event, { hello: 'async' });
  });

  test('the legacy InvokeAsync answers {"Status":202} and runs the event', async () => {
    const out = await k.lambda.send(new InvokeAsyncCommand({ FunctionName: 'plain', InvokeArgs: Buffer.from('{"legacy":true}') }));
    assert.equal(out.Status, 202);
    assert.equal(out.$metadata.httpStatusCode, 202);
    const id = out.$metadata.requestId ?? assert.fail('no request id');
    await eventually(() => collector.byId(id).length === 1, 'the legacy event to run');
  });

  test('payloads up to 1 MB are accepted; larger ones are RequestEntityTooLargeException', async () => {
    const exactly = Buffer.from(JSON.stringify({ pad: '' }).replace('""', `"${'x'.repeat(1024 * 1024 - 10)}"`));
    assert.equal(exactly.length, 1024 * 1024);
    const ok = await k.lambda.send(new InvokeCommand({ FunctionName: 'plain', InvocationType: 'Event', Payload: exactly }));
    assert.equal(ok.StatusCode, 202);
    const over = Buffer.concat([exactly.subarray(0, exactly.length - 2), Buffer.from('x"}')]);
    await assert.rejects(
      k.lambda.send(new InvokeCommand({ FunctionName: 'plain', InvocationType: 'Event', Payload: over })),
      (err: unknown) =>
        err instanceof LambdaServiceException &&
        err.name === 'RequestEntityTooLargeException' &&
        err.$metadata.httpStatusCode === 413 &&
        err.message === 'Request must be smaller than 1048576 bytes for the InvokeFunction operation',
    );
    await assert.rejects(
      k.lambda.send(new InvokeAsyncCommand({ FunctionName: 'plain', InvokeArgs: Buffer.alloc(256 * 1024 + 1, 0x20) })),
      (err: unknown) =>
        err instanceof LambdaServiceException &&
        err.name === 'RequestEntityTooLargeException' &&
        err.message === 'Request must be smaller than 262144 bytes for the InvokeAsync operation',
    );
  });

  test('a missing function is ResourceNotFoundException and bad JSON is InvalidRequestContentException, before any 202', async () => {
    await assert.rejects(
      k.lambda.send(new InvokeCommand({ FunctionName: 'nope', InvocationType: 'Event', Payload: Buffer.from('{}') })),
      (err: unknown) =>
        err instanceof LambdaServiceException &&
        err.name === 'ResourceNotFoundException' &&
        err.message === `Function not found: ${ARN}nope`,
    );
    await assert.rejects(
      k.lambda.send(new InvokeCommand({ FunctionName: 'plain', InvocationType: 'Event', Payload: Buffer.from('{not json') })),
      (err: unknown) => err instanceof LambdaServiceException && err.name === 'InvalidRequestContentException',
    );
  });
});

describe('retries', () => {
  test('a function error is retried twice by default, about 1 and then 2 (scaled) minutes apart, with the same request id', async () => {
    await deploy('flaky');
    const id = await invokeEvent('flaky', { fail: true });
    await eventually(() => collector.byId(id).length === 3, 'three attempts', 15_000);
    const [a, b, c] = collector.byId(id).map((h) => h.t) as [number, number, number];
    assert.ok(b - a >= 60_000 * SCALE * 0.95, `first retry after ${b - a} ms, expected about ${60_000 * SCALE}`);
    assert.ok(c - b >= 120_000 * SCALE * 0.95, `second retry after ${c - b} ms, expected about ${120_000 * SCALE}`);
    assert.ok(b - a < 120_000 * SCALE, `first retry after ${b - a} ms`);
    // No fourth attempt: the event has left the queue.
    await eventually(async () => (await pending('flaky')).Count === 0, 'the queue to empty');
    assert.equal(collector.byId(id).length, 3);
  });

  test('MaximumRetryAttempts 0: one attempt, then the OnFailure record says RetriesExhausted', async () => {
    await deploy('once');
    await configure('once', { retries: 0, destinations: { OnFailure: { Destination: `${ARN}sink` } } });
    const id = await invokeEvent('once', { fail: true, tag: 'once' });
    await eventually(() => recordsFor(id).length === 1, 'the failure record');
    assert.equal(collector.byId(id).length, 1);
    const record = recordsFor(id)[0];
    assert.equal(record?.requestContext.condition, 'RetriesExhausted');
    assert.equal(record?.requestContext.approximateInvokeCount, 1);
  });

  test('a timeout is a function error: retried, then reported with its error', async () => {
    await deploy('sleepy', { timeout: 1 });
    await configure('sleepy', { retries: 1, destinations: { OnFailure: { Destination: `${ARN}sink` } } });
    const id = await invokeEvent('sleepy', { sleepMs: 3000 });
    await eventually(() => recordsFor(id).length === 1, 'the failure record', 15_000);
    const record = recordsFor(id)[0] ?? assert.fail('no record');
    assert.equal(record.requestContext.condition, 'RetriesExhausted');
    assert.equal(record.requestContext.approximateInvokeCount, 2);
    assert.deepEqual(record.responseContext, { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' });
    assert.equal((record.responsePayload as { errorType?: string }).errorType, 'Sandbox.Timedout');
    assert.equal(collector.byId(id).length, 2);
  });

  test('throttles are requeued with backoff until the function has room', async () => {
    await deploy('narrow');
    await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'narrow', ReservedConcurrentExecutions: 1 }));
    // A synchronous call holds the only slot; the event is throttled, backs off, and runs after.
    const holding = k.lambda.send(new InvokeCommand({ FunctionName: 'narrow', Payload: Buffer.from('{"sleepMs":400}') }));
    await eventually(() => collector.of('narrow').length === 1, 'the synchronous call to start');
    const id = await invokeEvent('narrow', { after: 'throttle' });
    await holding;
    await eventually(() => collector.byId(id).length === 1, 'the throttled event to run');
    const metrics = await (await fetch(`${k.url}/metrics`)).text();
    assert.match(metrics, /kumo_async_retries_total\{function="narrow",kind="throttle"\} [1-9]/);
  });
});

describe('maximum event age', () => {
  test('an event whose retry falls after MaximumEventAgeInSeconds is not run again: EventAgeExceeded', async () => {
    await deploy('aging');
    // 60 s (0.6 s scaled) of age; the first retry is due after 1 minute (0.6 s): the age runs out first.
    await configure('aging', { maxAge: 60, destinations: { OnFailure: { Destination: `${ARN}sink` } } });
    const sentAt = Date.now();
    const id = await invokeEvent('aging', { fail: true });
    await eventually(() => recordsFor(id).length === 1, 'the failure record');
    const record = recordsFor(id)[0];
    assert.equal(record?.requestContext.condition, 'EventAgeExceeded');
    assert.equal(record?.requestContext.approximateInvokeCount, 1);
    const runs = collector.byId(id);
    assert.equal(runs.length, 1);
    for (const run of runs) assert.ok(run.t <= sentAt + 60_000 * SCALE + 50, 'ran after its maximum age');
  });
});

describe('destinations', () => {
  test('OnSuccess gets the invocation record exactly', async () => {
    await deploy('good');
    await configure('good', { destinations: { OnSuccess: { Destination: `${ARN}sink` } } });
    const before = Date.now();
    const id = await invokeEvent('good', { n: 1, s: 'two' });
    await eventually(() => recordsFor(id).length === 1, 'the success record');
    const record = recordsFor(id)[0] ?? assert.fail('no record');
    assert.deepEqual(Object.keys(record), [
      'version',
      'timestamp',
      'requestContext',
      'requestPayload',
      'responseContext',
      'responsePayload',
    ]);
    const { timestamp, ...rest } = record;
    assert.match(String(timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Date.parse(String(timestamp)) >= before);
    assert.deepEqual(rest, {
      version: '1.0',
      requestContext: { requestId: id, functionArn: `${ARN}good:$LATEST`, condition: 'Success', approximateInvokeCount: 1 },
      requestPayload: { n: 1, s: 'two' },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { echo: { n: 1, s: 'two' } },
    });
  });

  test('OnFailure gets the invocation record exactly, with the last error', async () => {
    await deploy('bad');
    await configure('bad', { retries: 1, destinations: { OnFailure: { Destination: `${ARN}sink` } } });
    const id = await invokeEvent('bad', { fail: true, tag: 'x' });
    await eventually(() => recordsFor(id).length === 1, 'the failure record', 15_000);
    const { timestamp: _t, ...record } = recordsFor(id)[0] ?? assert.fail('no record');
    const response = record.responsePayload as { errorType: string; errorMessage: string; trace: unknown };
    assert.deepEqual(record, {
      version: '1.0',
      requestContext: { requestId: id, functionArn: `${ARN}bad:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 2 },
      requestPayload: { fail: true, tag: 'x' },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: response,
    });
    assert.equal(response.errorType, 'Error');
    assert.equal(response.errorMessage, 'failed on purpose: x');
    assert.ok(Array.isArray(response.trace));
    assert.equal(collector.byId(id).length, 2);
  });

  test('reserved concurrency 0 sends events straight to the failure path, without running them', async () => {
    await deploy('closed');
    await configure('closed', { destinations: { OnFailure: { Destination: `${ARN}sink` } } });
    await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'closed', ReservedConcurrentExecutions: 0 }));
    const id = await invokeEvent('closed', { never: 'runs' });
    await eventually(() => recordsFor(id).length === 1, 'the failure record');
    const { timestamp: _t, ...record } = recordsFor(id)[0] ?? assert.fail('no record');
    assert.deepEqual(record, {
      version: '1.0',
      requestContext: {
        requestId: id,
        functionArn: `${ARN}closed:$LATEST`,
        condition: 'ZeroReservedConcurrency',
        approximateInvokeCount: 0,
      },
      requestPayload: { never: 'runs' },
    });
    assert.equal(collector.byId(id).length, 0);
  });
});

function pending(name: string): Promise<PendingOut> {
  return pendingEvents(k.url, name);
}

describe('deleted functions', () => {
  test("a deleted function's queued events are dropped, even when a function of that name is created again", async () => {
    await deploy('doomed');
    await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'doomed', ReservedConcurrentExecutions: 1 }));
    const first = await invokeEvent('doomed', { sleepMs: 800 });
    const queued = await invokeEvent('doomed', { queued: true });
    await eventually(() => collector.byId(first).length === 1, 'the first event to start');
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'doomed' }));
    await deploy('doomed');
    const fresh = await invokeEvent('doomed', { fresh: true });
    await eventually(() => collector.byId(fresh).length === 1, "the new function's event to run");
    await eventually(async () => (await pending('doomed')).Count === 0, 'the queue to empty', 10_000);
    assert.equal(collector.byId(queued).length, 0);
    const metrics = await (await fetch(`${k.url}/metrics`)).text();
    assert.match(metrics, /kumo_async_events_dropped_total\{function="doomed",reason="FunctionDeleted"\} 1/);
  });
});

describe('seeing the queue', () => {
  test('`kumo pending` lists queued events; /metrics counts them', async () => {
    await deploy('slow');
    await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'slow', ReservedConcurrentExecutions: 1 }));
    const ids = [await invokeEvent('slow', { sleepMs: 1500 }), await invokeEvent('slow', {}), await invokeEvent('slow', {})];
    const p = await pending('slow');
    assert.equal(p.Count, 3);
    assert.deepEqual(p.Events.map((e) => e.RequestId).sort(), [...ids].sort());
    const { stdout } = await promisify(execFile)(process.execPath, [repoPath('bin/kumo.js'), '--endpoint', k.url, 'pending', 'slow']);
    assert.match(stdout, /^slow: 3 pending \(1 running\), oldest [\d.]+ s old, next attempt now/);
    for (const id of ids) assert.ok(stdout.includes(id), stdout);
    const metrics = await (await fetch(`${k.url}/metrics`)).text();
    assert.match(metrics, /kumo_async_events_received_total\{function="slow"\} 3/);
    await eventually(async () => (await pending('slow')).Count === 0, 'the queue to drain', 10_000);
  });
});
