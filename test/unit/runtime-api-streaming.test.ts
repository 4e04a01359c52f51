/**
 * The Runtime API's streamed responses (`Lambda-Runtime-Function-Response-Mode: streaming`),
 * host side: RuntimeApiServer against raw sockets that send chunked bodies piece by piece, with
 * trailers; and the Node.js runtime's ResponseStream (runtime/nodejs/response-stream.mjs) against it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { MAX_RUNTIME_PAYLOAD, RuntimeApiServer } from '../../src/engine/index.js';

type Listener = Parameters<typeof RuntimeApiServer.listen>[0];
type RuntimeResult = Parameters<Listener['onResult']>[1];

interface Sink {
  chunks: Buffer[];
  trailers: ReadonlyMap<string, string> | undefined;
  aborted: boolean;
  contentType: string | undefined;
}

interface Host {
  api: RuntimeApiServer;
  sinks: Map<string, Sink>;
  results: Array<{ requestId: string; result: RuntimeResult }>;
  /** Request ids in flight (others are refused). */
  known: Set<string>;
  /** Resolves on the next sink event. */
  changed: () => Promise<void>;
}

async function host(): Promise<Host> {
  const sinks = new Map<string, Sink>();
  const results: Host['results'] = [];
  const known = new Set<string>();
  let wake: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const api = await RuntimeApiServer.listen({
    onNext: () => undefined,
    onInitError: () => undefined,
    onResult: (requestId, result) => {
      if (!known.has(requestId)) return false;
      results.push({ requestId, result });
      poke();
      return true;
    },
    onResponseStream: (requestId, contentType) => {
      if (!known.has(requestId)) return undefined;
      const sink: Sink = { chunks: [], trailers: undefined, aborted: false, contentType };
      sinks.set(requestId, sink);
      poke();
      return {
        write: (data) => {
          sink.chunks.push(Buffer.from(data));
          poke();
        },
        end: (trailers) => {
          sink.trailers = trailers;
          poke();
        },
        abort: () => {
          sink.aborted = true;
          poke();
        },
      };
    },
  });
  return { api, sinks, results, known, changed: () => new Promise<void>((resolve) => (wake = resolve)) };
}

async function until(h: Host, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await Promise.race([h.changed(), new Promise((r) => setTimeout(r, 50))]);
  }
}

/** A raw client connection that records everything the server sends. */
async function connect(api: RuntimeApiServer): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const [hostname, port] = api.address.split(':');
  const socket = net.connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => text, closed };
}

function streamHead(requestId: string, extra = ''): string {
  return (
    `POST /2018-06-01/runtime/invocation/${requestId}/response HTTP/1.1\r\nHost: x\r\n` +
    'Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n' +
    `Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n${extra}\r\n`
  );
}

function chunk(data: string | Buffer): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
}

describe('RuntimeApiServer: streamed responses', () => {
  test('chunks reach the sink as they arrive, before the body ends; the 202 comes after its end', async () => {
    const h = await host();
    h.known.add('req-1');
    const c = await connect(h.api);
    try {
      c.socket.write(streamHead('req-1', 'Content-Type: text/plain\r\n') + chunk('hello ').toString('latin1'));
      await until(h, () => (h.sinks.get('req-1')?.chunks.length ?? 0) > 0);
      const sink = h.sinks.get('req-1');
      assert.ok(sink);
      assert.equal(sink.contentType, 'text/plain');
      assert.equal(Buffer.concat(sink.chunks).toString(), 'hello ');
      assert.equal(sink.trailers, undefined, 'not ended yet');
      assert.equal(c.received(), '', 'no answer before the body ends');
      // A chunk split across writes, its size line too.
      const second = chunk('world');
      c.socket.write(second.subarray(0, 1));
      c.socket.write(second.subarray(1, 5));
      await until(h, () => Buffer.concat(sink.chunks).toString() === 'hello wo');
      c.socket.write(second.subarray(5));
      c.socket.write('0\r\n\r\n');
      await until(h, () => sink.trailers !== undefined);
      assert.equal(Buffer.concat(sink.chunks).toString(), 'hello world');
      assert.equal(h.sinks.get('req-1')?.trailers?.size, 0);
      await until(h, () => c.received().includes('\r\n\r\n'));
      assert.match(c.received(), /^HTTP\/1\.1 202 Accepted\r\n/);
      assert.equal(h.results.length, 0, 'a streamed response is not a buffered result');
    } finally {
      c.socket.destroy();
      h.api.close();
    }
  });

  test('error trailers: type and base64 body reach the sink, however long the body (past 4 KB)', async () => {
    const h = await host();
    h.known.add('req-2');
    const c = await connect(h.api);
    try {
      const doc = {
        errorType: 'TypeError',
        errorMessage: 'boom',
        trace: Array.from({ length: 200 }, (_, i) => `    at frame ${i} (file.js:1:1)`),
      };
      const body = Buffer.from(JSON.stringify(doc)).toString('base64');
      assert.ok(body.length > 4096);
      c.socket.write(
        streamHead('req-2') +
          chunk('partial').toString('latin1') +
          `0\r\nLambda-Runtime-Function-Error-Type: TypeError\r\nLambda-Runtime-Function-Error-Body: ${body}\r\n\r\n`,
      );
      await until(h, () => h.sinks.get('req-2')?.trailers !== undefined);
      const sink = h.sinks.get('req-2');
      assert.equal(Buffer.concat(sink?.chunks ?? []).toString(), 'partial');
      assert.equal(sink?.trailers?.get('lambda-runtime-function-error-type'), 'TypeError');
      assert.deepEqual(JSON.parse(Buffer.from(sink?.trailers?.get('lambda-runtime-function-error-body') ?? '', 'base64').toString()), doc);
      await until(h, () => c.received().startsWith('HTTP/1.1 202'));
    } finally {
      c.socket.destroy();
      h.api.close();
    }
  });

  test('a streamed body is not held to the 6 MB buffered limit', async () => {
    const h = await host();
    h.known.add('big');
    const c = await connect(h.api);
    try {
      const piece = Buffer.alloc(1024 * 1024, 0x61);
      c.socket.write(streamHead('big'));
      for (let i = 0; i < 7; i++) c.socket.write(chunk(piece));
      c.socket.write('0\r\n\r\n');
      await until(h, () => h.sinks.get('big')?.trailers !== undefined);
      const size = (h.sinks.get('big')?.chunks ?? []).reduce((n, b) => n + b.length, 0);
      assert.equal(size, 7 * piece.length);
      assert.ok(size > MAX_RUNTIME_PAYLOAD);
      await until(h, () => c.received().startsWith('HTTP/1.1 202'));
    } finally {
      c.socket.destroy();
      h.api.close();
    }
  });

  test('a connection that ends mid-stream aborts the sink', async () => {
    const h = await host();
    h.known.add('cut');
    const c = await connect(h.api);
    c.socket.write(streamHead('cut') + chunk('some').toString('latin1'));
    await until(h, () => (h.sinks.get('cut')?.chunks.length ?? 0) > 0);
    c.socket.destroy();
    await until(h, () => h.sinks.get('cut')?.aborted === true);
    assert.equal(h.sinks.get('cut')?.trailers, undefined);
    h.api.close();
  });

  test('an unknown request id: the streamed post is read and refused with 400, as a buffered one', async () => {
    const h = await host();
    const c = await connect(h.api);
    try {
      c.socket.write(streamHead('nobody') + chunk('x').toString('latin1') + '0\r\n\r\n');
      await until(h, () => c.received().includes('\r\n\r\n'));
      assert.match(c.received(), /^HTTP\/1\.1 400 /);
      assert.match(c.received(), /InvalidRequestID/);
      assert.equal(h.sinks.size, 0);
    } finally {
      c.socket.destroy();
      h.api.close();
    }
  });

  test('a post without the streaming mode header stays a buffered result, chunked or not', async () => {
    const h = await host();
    h.known.add('buf');
    const c = await connect(h.api);
    try {
      c.socket.write(
        'POST /2018-06-01/runtime/invocation/buf/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
          chunk('{"a":').toString('latin1') +
          chunk('1}').toString('latin1') +
          '0\r\nX-Ignored: yes\r\n\r\n',
      );
      await until(h, () => h.results.length === 1);
      const r = h.results[0]?.result;
      assert.equal(r?.kind, 'response');
      assert.equal(r?.kind === 'response' ? r.body.toString() : '', '{"a":1}');
      assert.equal(h.sinks.size, 0);
    } finally {
      c.socket.destroy();
      h.api.close();
    }
  });
});

// --- The Node.js runtime's ResponseStream against the real server ----------------------------------

interface ResponseStream extends NodeJS.WritableStream {
  setContentType(contentType: string): void;
  fail(err: unknown): Promise<void>;
  answered: Promise<void>;
  _onBeforeFirstWrite: ((write: (chunk: string | Uint8Array) => void) => void) | undefined;
}
type ResponseStreamClass = new (options: { hostPort: string; requestId: string; highWaterMark: number | undefined }) => ResponseStream;
interface HttpResponseStreamClass {
  from<S>(stream: S, prelude: unknown): S;
}

const runtimeDir = path.resolve(import.meta.dirname, '../../../runtime/nodejs');
const { ResponseStream } = (await import(pathToFileURL(path.join(runtimeDir, 'response-stream.mjs')).href)) as {
  ResponseStream: ResponseStreamClass;
};
const { HttpResponseStream } = (await import(pathToFileURL(path.join(runtimeDir, 'streaming.mjs')).href)) as {
  HttpResponseStream: HttpResponseStreamClass;
};

describe('the Node.js runtime ResponseStream', () => {
  test('each write reaches the host before the next; end answers; Content-Type is what was set before the first write', async () => {
    const h = await host();
    h.known.add('rs-1');
    try {
      const stream = new ResponseStream({ hostPort: h.api.address, requestId: 'rs-1', highWaterMark: undefined });
      stream.setContentType('text/csv');
      stream.write('a,b\n');
      await until(h, () => Buffer.concat(h.sinks.get('rs-1')?.chunks ?? []).toString() === 'a,b\n');
      assert.throws(() => stream.setContentType('text/plain'), { name: 'Runtime.InvalidStreamingOperation' });
      stream.write(Buffer.from('1,2\n'));
      stream.end('3,4\n');
      await stream.answered;
      const sink = h.sinks.get('rs-1');
      assert.equal(sink?.contentType, 'text/csv');
      assert.equal(Buffer.concat(sink?.chunks ?? []).toString(), 'a,b\n1,2\n3,4\n');
      assert.equal(sink?.trailers?.size, 0);
    } finally {
      h.api.close();
    }
  });

  test('fail: what was written, then the error in trailers', async () => {
    const h = await host();
    h.known.add('rs-2');
    try {
      const stream = new ResponseStream({ hostPort: h.api.address, requestId: 'rs-2', highWaterMark: undefined });
      stream.write('before');
      const err = new RangeError('out of range');
      await stream.fail(err);
      const sink = h.sinks.get('rs-2');
      assert.equal(Buffer.concat(sink?.chunks ?? []).toString(), 'before');
      assert.equal(sink?.trailers?.get('lambda-runtime-function-error-type'), 'RangeError');
      const doc = JSON.parse(Buffer.from(sink?.trailers?.get('lambda-runtime-function-error-body') ?? '', 'base64').toString()) as {
        errorType: string;
        errorMessage: string;
        trace: string[];
      };
      assert.equal(doc.errorType, 'RangeError');
      assert.equal(doc.errorMessage, 'out of range');
      assert.ok(Array.isArray(doc.trace));
    } finally {
      h.api.close();
    }
  });

  test('HttpResponseStream.from: its Content-Type, then the JSON prelude and 8 NUL bytes ahead of the first chunk', async () => {
    const h = await host();
    h.known.add('rs-3');
    try {
      const stream = HttpResponseStream.from(new ResponseStream({ hostPort: h.api.address, requestId: 'rs-3', highWaterMark: undefined }), {
        statusCode: 404,
        headers: { a: 'b' },
      });
      stream.end('body');
      await stream.answered;
      const sink = h.sinks.get('rs-3');
      assert.equal(sink?.contentType, 'application/vnd.awslambda.http-integration-response');
      assert.equal(Buffer.concat(sink?.chunks ?? []).toString('latin1'), `{"statusCode":404,"headers":{"a":"b"}}${'\0'.repeat(8)}body`);
    } finally {
      h.api.close();
    }
  });
});
