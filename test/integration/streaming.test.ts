/**
 * Response streaming end to end: a real Kumo, the Node.js runtime's `awslambda.streamifyResponse`,
 * and @aws-sdk/client-lambda's InvokeWithResponseStreamCommand reading the event stream.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  PutFunctionConcurrencyCommand,
  TooManyRequestsException,
  InvokeCommand,
  InvokeWithResponseStreamCommand,
  PublishVersionCommand,
  CreateAliasCommand,
  ResourceNotFoundException,
  type InvokeWithResponseStreamResponseEvent,
} from '@aws-sdk/client-lambda';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { zipDirectory } from '../../src/code/index.js';
import { readHttpPrelude } from '../../src/functions/index.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { fixtureDir, TEST_CREDENTIALS } from '../helpers/server.js';
import { signalServer } from '../helpers/signal.js';
import { eventually } from '../helpers/wait.js';

const k = useKumo();
let zip: Buffer;

before(async () => {
  zip = await zipDirectory(fixtureDir('node-streaming'));
});

let counter = 0;
async function deploy(handler: string, timeout = 10): Promise<string> {
  const name = `stream-${++counter}-${handler}`;
  await createNodeFunction(k.lambda, name, zip, { Handler: `index.${handler}`, Timeout: timeout });
  return name;
}

type Event = InvokeWithResponseStreamResponseEvent;

async function collect(stream: AsyncIterable<Event> | undefined): Promise<{ body: string; events: Event[] }> {
  assert.ok(stream, 'an event stream');
  const events: Event[] = [];
  let body = '';
  for await (const event of stream) {
    events.push(event);
    if (event.PayloadChunk?.Payload) body += Buffer.from(event.PayloadChunk.Payload).toString('utf8');
  }
  return { body, events };
}

describe('InvokeWithResponseStream (AWS SDK v3)', () => {
  test(
    'the first chunk reaches the caller before the handler finishes; then the rest and InvokeComplete',
    { timeout: 60_000 },
    async () => {
      const name = await deploy('chunks');
      const signal = await signalServer();
      try {
        const res = await k.lambda.send(
          new InvokeWithResponseStreamCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify({ signal: signal.url })) }),
        );
        assert.equal(res.StatusCode, 200);
        assert.equal(res.ExecutedVersion, '$LATEST');
        assert.equal(res.ResponseStreamContentType, 'application/octet-stream');
        assert.ok(res.EventStream);
        const iterator: AsyncIterator<Event> = res.EventStream[Symbol.asyncIterator]();
        const first = await iterator.next();
        assert.ok(!first.done);
        assert.equal(Buffer.from(first.value.PayloadChunk?.Payload ?? []).toString(), 'first\n');
        // The handler is still running: it waits for this signal, which is only given now.
        await signal.requested;
        signal.release();
        const rest: Event[] = [];
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest.push(r.value);
        const body = rest.map((e) => Buffer.from(e.PayloadChunk?.Payload ?? []).toString()).join('');
        assert.equal(body, 'last\n');
        const complete = rest.at(-1)?.InvokeComplete;
        assert.ok(complete, 'the stream ends with InvokeComplete');
        assert.equal(complete.ErrorCode, undefined);
        assert.equal(complete.LogResult, undefined);
      } finally {
        signal.release();
        await signal.close();
      }
    },
  );

  test(
    'a caller that goes away mid-stream: the invocation runs to its end and the environment serves the next one',
    { timeout: 60_000 },
    async () => {
      const name = await deploy('chunks');
      const signal = await signalServer();
      try {
        const abort = new AbortController();
        const res = await k.lambda.send(
          new InvokeWithResponseStreamCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify({ signal: signal.url })) }),
          { abortSignal: abort.signal },
        );
        assert.ok(res.EventStream);
        const iterator: AsyncIterator<Event> = res.EventStream[Symbol.asyncIterator]();
        assert.ok(!(await iterator.next()).done);
        await signal.requested;
        abort.abort();
        await iterator.return?.();
        signal.release();
        // The function finishes although nobody reads its response any more: its REPORT is logged.
        const logs = new CloudWatchLogsClient({
          endpoint: k.url,
          region: k.kumo.options.region,
          credentials: TEST_CREDENTIALS,
          maxAttempts: 1,
        });
        try {
          await eventually(async () => {
            const found = await logs.send(new FilterLogEventsCommand({ logGroupName: `/aws/lambda/${name}`, filterPattern: 'REPORT' }));
            return (found.events ?? []).length === 1;
          }, 'the first invocation to end');
        } finally {
          logs.destroy();
        }
        const again = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, LogType: 'Tail' }));
        const { body, events } = await collect(again.EventStream);
        assert.equal(body, 'first\nlast\n');
        // A warm environment: no Init Duration in this invocation's REPORT.
        assert.doesNotMatch(Buffer.from(events.at(-1)?.InvokeComplete?.LogResult ?? '', 'base64').toString(), /Init Duration/);
      } finally {
        signal.release();
        await signal.close();
      }
    },
  );

  test('an error thrown mid-stream: the chunks written before it, then InvokeComplete with ErrorCode and ErrorDetails', async () => {
    const name = await deploy('failing');
    const res = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, Payload: Buffer.from('{}') }));
    const { body, events } = await collect(res.EventStream);
    assert.equal(body, 'partial\n');
    const complete = events.at(-1)?.InvokeComplete;
    assert.equal(complete?.ErrorCode, 'TypeError');
    assert.equal(complete?.ErrorDetails, 'boom mid-stream');
  });

  test('a buffered (not streamified) handler: its payload as one chunk, Content-Type application/json', async () => {
    const name = await deploy('plain');
    const res = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, Payload: Buffer.from('{"x":1}') }));
    assert.equal(res.ResponseStreamContentType, 'application/json');
    const { body, events } = await collect(res.EventStream);
    assert.deepEqual(JSON.parse(body), { hello: 'world', echo: { x: 1 } });
    assert.equal(events.filter((e) => e.PayloadChunk).length, 1);
    assert.deepEqual(events.at(-1)?.InvokeComplete, {});
  });

  test('LogType Tail: the log tail in InvokeComplete.LogResult, with START, the handler output, END and REPORT', async () => {
    const name = await deploy('chunks');
    const res = await k.lambda.send(
      new InvokeWithResponseStreamCommand({ FunctionName: name, LogType: 'Tail', Payload: Buffer.from('{}') }),
    );
    const { body, events } = await collect(res.EventStream);
    assert.equal(body, 'first\nlast\n');
    const log = Buffer.from(events.at(-1)?.InvokeComplete?.LogResult ?? '', 'base64').toString('utf8');
    assert.match(log, /START RequestId: /);
    assert.match(log, /streaming starts/);
    assert.match(log, /END RequestId: /);
    assert.match(log, /REPORT RequestId: .*Duration: /);
  });

  test('HttpResponseStream.from: the prelude, 8 NUL bytes, then the body; its Content-Type passed on', async () => {
    const name = await deploy('http');
    const res = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name }));
    assert.equal(res.ResponseStreamContentType, 'application/vnd.awslambda.http-integration-response');
    const { body } = await collect(res.EventStream);
    const at = body.indexOf('\0'.repeat(8));
    assert.ok(at > 0, 'a prelude and its delimiter');
    assert.deepEqual(JSON.parse(body.slice(0, at)), {
      statusCode: 201,
      headers: { 'Content-Type': 'text/plain', 'X-Custom': 'yes' },
      cookies: ['a=b'],
    });
    assert.equal(body.slice(at + 8), 'hello world');
  });

  test('setContentType before the first write is the response Content-Type; after it, it throws; objects are written as JSON', async () => {
    const name = await deploy('typed');
    const res = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name }));
    assert.equal(res.ResponseStreamContentType, 'application/x-ndjson');
    const { body } = await collect(res.EventStream);
    assert.equal(body, '{"n":1}\n{"late":"Runtime.InvalidStreamingOperation"}');
  });

  test('a handler that returns without ending its stream fails with "Response stream is not finished."', async () => {
    const name = await deploy('unfinished');
    const res = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name }));
    const { body, events } = await collect(res.EventStream);
    assert.equal(body, '');
    assert.equal(events.at(-1)?.InvokeComplete?.ErrorCode, 'Error');
    assert.equal(events.at(-1)?.InvokeComplete?.ErrorDetails, 'Response stream is not finished.');
  });

  test('versions and aliases: Qualifier runs that version and X-Amz-Executed-Version says which', async () => {
    const name = await deploy('plain');
    const v = await k.lambda.send(new PublishVersionCommand({ FunctionName: name }));
    await k.lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: v.Version }));
    const res = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, Qualifier: 'live' }));
    assert.equal(res.ExecutedVersion, v.Version);
    const { body } = await collect(res.EventStream);
    assert.equal((JSON.parse(body) as { hello: string }).hello, 'world');
  });

  test('DryRun answers 204 without running the function', async () => {
    const name = await deploy('plain');
    const res = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, InvocationType: 'DryRun' }));
    assert.equal(res.StatusCode, 204);
  });

  test('an unknown function is ResourceNotFoundException', async () => {
    await assert.rejects(
      k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'no-such-function' })),
      (err: unknown) => err instanceof ResourceNotFoundException,
    );
  });
});

describe('limits: timeout, response size, concurrency', () => {
  test('a timeout while streaming: the chunks sent so far, then InvokeComplete with Sandbox.Timedout', { timeout: 30_000 }, async () => {
    const name = await deploy('stalled', 1);
    const res = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, LogType: 'Tail' }));
    const { body, events } = await collect(res.EventStream);
    assert.equal(body, 'started\n');
    const complete = events.at(-1)?.InvokeComplete;
    assert.equal(complete?.ErrorCode, 'Sandbox.Timedout');
    assert.match(complete?.ErrorDetails ?? '', /Task timed out after 1\.00 seconds/);
    assert.match(Buffer.from(complete?.LogResult ?? '', 'base64').toString(), /Status: timeout/);
  });

  test(
    'a response streamed past 20 MiB ends with Function.ResponseSizeTooLarge; up to the limit it all arrives',
    { timeout: 60_000 },
    async () => {
      const name = await deploy('large');
      const ok = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, Payload: Buffer.from('{"mb":8}') }));
      let size = 0;
      let last: Event | undefined;
      for await (const event of ok.EventStream ?? []) {
        size += event.PayloadChunk?.Payload?.length ?? 0;
        last = event;
      }
      assert.equal(size, 8 * 1024 * 1024, 'more than the 6 MB of a buffered response');
      assert.deepEqual(last?.InvokeComplete, {});
      const tooLarge = await k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, Payload: Buffer.from('{"mb":21}') }));
      let sent = 0;
      for await (const event of tooLarge.EventStream ?? []) {
        sent += event.PayloadChunk?.Payload?.length ?? 0;
        last = event;
      }
      assert.ok(sent <= 20 * 1024 * 1024, `at most 20 MiB sent (${sent})`);
      assert.equal(last?.InvokeComplete?.ErrorCode, 'Function.ResponseSizeTooLarge');
    },
  );

  test('reserved concurrency 0 throttles: TooManyRequestsException before any event', async () => {
    const name = await deploy('plain');
    await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 0 }));
    await assert.rejects(
      k.lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name })),
      (err: unknown) => err instanceof TooManyRequestsException,
    );
  });
});

describe('FunctionService.invokeStream + readHttpPrelude (for function URLs)', () => {
  test('the prelude of HttpResponseStream.from gives status, headers and cookies; the body follows', async () => {
    const name = await deploy('http');
    const result = await k.kumo.functions.invokeStream({
      functionName: name,
      payload: Buffer.from('{}'),
      invocationType: 'RequestResponse',
      wantTail: false,
      requestId: 'url-1',
    });
    assert.ok(result.response);
    const http = await readHttpPrelude(result.response);
    assert.equal(http.statusCode, 201);
    assert.deepEqual(http.headers, { 'content-type': 'text/plain', 'x-custom': 'yes' });
    assert.deepEqual(http.cookies, ['a=b']);
    const chunks: Buffer[] = [];
    for await (const c of http.body) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello world');
    assert.equal((await http.completion).error, undefined);
  });

  test('a stream without a prelude is a 200 of its own Content-Type; a failure shows in the completion', async () => {
    const name = await deploy('failing');
    const result = await k.kumo.functions.invokeStream({
      functionName: name,
      payload: Buffer.from('{}'),
      invocationType: 'RequestResponse',
      wantTail: false,
      requestId: 'url-2',
    });
    assert.ok(result.response);
    assert.equal(result.response.streaming, true);
    const http = await readHttpPrelude(result.response);
    assert.equal(http.statusCode, 200);
    assert.deepEqual(http.headers, { 'content-type': 'application/octet-stream' });
    const chunks: Buffer[] = [];
    for await (const c of http.body) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'partial\n');
    const { error } = await http.completion;
    assert.equal(error?.type, 'TypeError');
    assert.equal(error?.message, 'boom mid-stream');
  });
});

describe('Invoke of a streaming handler', () => {
  test('plain Invoke returns the concatenated stream', async () => {
    const name = await deploy('chunks');
    const res = await k.lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from('{}') }));
    assert.equal(res.FunctionError, undefined);
    assert.equal(Buffer.from(res.Payload ?? []).toString(), 'first\nlast\n');
  });

  test('plain Invoke of a handler that fails mid-stream returns its error document', async () => {
    const name = await deploy('failing');
    const res = await k.lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from('{}') }));
    assert.equal(res.FunctionError, 'Unhandled');
    const doc = JSON.parse(Buffer.from(res.Payload ?? []).toString()) as { errorType: string; errorMessage: string };
    assert.equal(doc.errorType, 'TypeError');
    assert.equal(doc.errorMessage, 'boom mid-stream');
  });
});
