/**
 * The Node.js runtime's Runtime API client (runtime/nodejs/runtime-client.mjs over http-wire.mjs),
 * against the real host-side RuntimeApiServer and against a raw TCP server that frames responses
 * in awkward ways (one byte per read, several responses per read, chunked, close-delimited).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { MAX_RUNTIME_PAYLOAD, RuntimeApiServer } from '../../src/engine/index.js';

// --- The client under test (plain .mjs, loaded by path) -------------------------------------------

interface NextInvocation {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
interface RuntimeClient {
  next(onInvocation: (inv: NextInvocation) => void): void;
  postInvocationResponse(result: unknown, requestId: string, done: () => void): void;
  postInvocationError(error: unknown, requestId: string, done: () => void): void;
  postFatalInvocationError(error: unknown, requestId: string, done: () => void): void;
  postInitError(error: unknown, done: () => void): void;
  postResponseThenNext(result: unknown, requestId: string, onInvocation: (inv: NextInvocation) => void): void;
  postErrorThenNext(error: unknown, requestId: string, onInvocation: (inv: NextInvocation) => void): void;
  preconnect(): void;
}
type RuntimeClientClass = new (hostPort: string, onTransportError: (err: Error) => void) => RuntimeClient;

const CLIENT_URL = pathToFileURL(path.resolve(import.meta.dirname, '../../../runtime/nodejs/runtime-client.mjs')).href;
const { RuntimeClient } = (await import(CLIENT_URL)) as { RuntimeClient: RuntimeClientClass };

type Listener = Parameters<typeof RuntimeApiServer.listen>[0];
type RuntimeResult = Parameters<Listener['onResult']>[1];
type RuntimeInvocation = Parameters<RuntimeApiServer['deliver']>[0];

// --- Helpers ----------------------------------------------------------------------------------------

/** An unbounded queue whose `take()` waits for the next value. */
class Channel<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((v: T) => void)[] = [];
  push(v: T): void {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.items.push(v);
  }
  take(timeoutMs = 10_000): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting')), timeoutMs);
      this.waiters.push((v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
  }
  get size(): number {
    return this.items.length;
  }
}

interface Host {
  api: RuntimeApiServer;
  results: Channel<{ requestId: string; result: RuntimeResult }>;
  initErrors: Channel<{ errorType: string | undefined; body: Buffer }>;
  /** Request ids onResult accepts (others get 400). */
  known: Set<string>;
}

async function host(): Promise<Host> {
  const results = new Channel<{ requestId: string; result: RuntimeResult }>();
  const initErrors = new Channel<{ errorType: string | undefined; body: Buffer }>();
  const known = new Set<string>();
  const api = await RuntimeApiServer.listen({
    onNext: () => undefined,
    onResult: (requestId, result) => {
      if (!known.has(requestId)) return false;
      results.push({ requestId, result });
      return true;
    },
    onInitError: (errorType, body) => initErrors.push({ errorType, body }),
  });
  return { api, results, initErrors, known };
}

function invocation(requestId: string, payload: Buffer | string, extra: Partial<RuntimeInvocation> = {}): RuntimeInvocation {
  return {
    requestId,
    payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    deadlineMs: 1_900_000_000_000,
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
    traceId: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
    ...extra,
  };
}

function nextOf(client: RuntimeClient): Promise<NextInvocation> {
  return new Promise((resolve) => client.next(resolve));
}

function posted(start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => start(resolve));
}

function failOnTransportError(err: Error): void {
  assert.fail(`unexpected transport error: ${err.message}`);
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A JSON event of about `bytes` bytes, with multi-byte characters so UTF-8 sequences straddle reads. */
function bigEvent(bytes: number): string {
  const unit = 'abcdefghij€ü𝄞'; // 10 + 3 + 2 + 4 bytes
  const unitBytes = Buffer.byteLength(unit);
  return JSON.stringify({ data: unit.repeat(Math.floor(bytes / unitBytes)) });
}

// --- A raw TCP "Runtime API" whose responses the test writes byte for byte ----------------------------

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Index of the connection it arrived on (0 = first). */
  conn: number;
  socket: net.Socket;
}

interface RawServer {
  address: string;
  requests: Channel<RawRequest>;
  connections: () => number;
  close: () => void;
}

async function rawServer(): Promise<RawServer> {
  const requests = new Channel<RawRequest>();
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    const conn = connections++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const lines = buf.toString('latin1', 0, end).split('\r\n');
        const [method = '', target = ''] = (lines[0] ?? '').split(' ');
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (buf.length < end + 4 + length) return;
        const body = buf.subarray(end + 4, end + 4 + length);
        buf = buf.subarray(end + 4 + length);
        requests.push({ method, path: target, headers, body, conn, socket });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** Writes `data` one byte per TCP segment (with a pause, so each is its own read on the client). */
async function writeBytewise(socket: net.Socket, data: Buffer | string): Promise<void> {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  for (let i = 0; i < buf.length; i++) {
    socket.write(buf.subarray(i, i + 1));
    await sleep(i % 8 === 0 ? 1 : 0);
  }
}

const NEXT = '/2018-06-01/runtime/invocation/next';

function okHead(body: Buffer | string, extra = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n`;
}

const ACCEPTED = 'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"OK"}';

// --- Against the real RuntimeApiServer -------------------------------------------------------------

describe('RuntimeClient against RuntimeApiServer', () => {
  test('next delivers the event and its Lambda-Runtime-* headers; a response post reaches the host', async () => {
    const h = await host();
    try {
      const client = new RuntimeClient(h.api.address, failOnTransportError);
      for (let i = 0; i < 3; i++) {
        const id = `req-${i}`;
        h.known.add(id);
        const got = nextOf(client);
        await waitFor(() => h.api.polling);
        h.api.deliver(
          invocation(id, `{"n":${i},"s":"é€"}`, { clientContext: '{"custom":{"a":1}}', cognitoIdentity: '{"cognitoIdentityId":"x"}' }),
        );
        const inv = await got;
        assert.equal(inv.body, `{"n":${i},"s":"é€"}`);
        assert.equal(inv.headers['lambda-runtime-aws-request-id'], id);
        assert.equal(inv.headers['lambda-runtime-deadline-ms'], '1900000000000');
        assert.equal(inv.headers['lambda-runtime-invoked-function-arn'], 'arn:aws:lambda:us-east-1:000000000000:function:f');
        assert.equal(inv.headers['lambda-runtime-trace-id'], 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1');
        assert.equal(inv.headers['lambda-runtime-client-context'], '{"custom":{"a":1}}');
        assert.equal(inv.headers['lambda-runtime-cognito-identity'], '{"cognitoIdentityId":"x"}');
        assert.equal(inv.headers['content-type'], 'application/json');

        await posted((done) => client.postInvocationResponse(i === 2 ? undefined : { ok: i, s: 'ü' }, id, done));
        const { requestId, result } = await h.results.take();
        assert.equal(requestId, id);
        assert.equal(result.kind, 'response');
        assert.equal(result.kind === 'response' && result.body.toString(), i === 2 ? 'null' : `{"ok":${i},"s":"ü"}`);
      }
    } finally {
      h.api.close();
    }
  });

  test('an event queued before the poll is answered at once', async () => {
    const h = await host();
    try {
      h.api.deliver(invocation('early', '{}'));
      const inv = await nextOf(new RuntimeClient(h.api.address, failOnTransportError));
      assert.equal(inv.headers['lambda-runtime-aws-request-id'], 'early');
      assert.equal(inv.headers['lambda-runtime-client-context'], undefined);
    } finally {
      h.api.close();
    }
  });

  test('error posts carry Lambda-Runtime-Function-Error-Type: sanitised, latin1 kept', async () => {
    const h = await host();
    try {
      const client = new RuntimeClient(h.api.address, failOnTransportError);
      h.known.add('e1');
      h.known.add('e2');
      const err = new Error('boom');
      err.name = 'MyError';
      await posted((done) => client.postInvocationError(err, 'e1', done));
      const first = await h.results.take();
      assert.equal(first.result.kind, 'error');
      if (first.result.kind !== 'error') return;
      assert.equal(first.result.errorType, 'MyError');
      const doc = JSON.parse(first.result.body.toString()) as { errorType: string; errorMessage: string; trace: string[] };
      assert.equal(doc.errorType, 'MyError');
      assert.equal(doc.errorMessage, 'boom');
      assert.match(doc.trace[0] ?? '', /^MyError: boom/);

      const odd = new Error('bad name');
      odd.name = 'Érreur\n€x'; // \n is dropped, € (not latin1) is dropped, É goes out as latin1
      await posted((done) => client.postInvocationError(odd, 'e2', done));
      const second = await h.results.take();
      assert.equal(second.result.kind === 'error' && second.result.errorType, 'Érreurx');
      assert.equal(
        second.result.kind === 'error' && (JSON.parse(second.result.body.toString()) as { errorType: string }).errorType,
        'Érreur\n€x',
      );
    } finally {
      h.api.close();
    }
  });

  test('init error', async () => {
    const h = await host();
    try {
      const client = new RuntimeClient(h.api.address, failOnTransportError);
      const err = new Error('cannot load');
      err.name = 'Runtime.ImportModuleError';
      await posted((done) => client.postInitError(err, done));
      const { errorType, body } = await h.initErrors.take();
      assert.equal(errorType, 'Runtime.ImportModuleError');
      assert.equal((JSON.parse(body.toString()) as { errorMessage: string }).errorMessage, 'cannot load');
    } finally {
      h.api.close();
    }
  });

  test('the fatal error goes out on its own connection while next is parked in its long poll', async () => {
    const h = await host();
    try {
      const client = new RuntimeClient(h.api.address, failOnTransportError);
      h.known.add('a');
      h.known.add('b');
      const first = nextOf(client);
      await waitFor(() => h.api.polling);
      h.api.deliver(invocation('a', '{}'));
      await first;
      await posted((done) => client.postInvocationResponse(1, 'a', done));
      await h.results.take();

      const parked = nextOf(client);
      await waitFor(() => h.api.polling);
      await posted((done) => client.postFatalInvocationError(new TypeError('late'), 'a', done));
      const fatal = await h.results.take();
      assert.equal(fatal.result.kind === 'error' && fatal.result.errorType, 'TypeError');
      assert.ok(h.api.polling, 'the long poll is still parked');

      h.api.deliver(invocation('b', '{"still":"works"}'));
      assert.equal((await parked).body, '{"still":"works"}');
    } finally {
      h.api.close();
    }
  });

  test('6 MB event and 6 MB response; a response over the limit gets 413 and the loop carries on', async () => {
    const h = await host();
    try {
      const client = new RuntimeClient(h.api.address, failOnTransportError);
      for (const id of ['big', 'too-big', 'after']) h.known.add(id);
      const event = bigEvent(6 * 1024 * 1024);

      let got = nextOf(client);
      await waitFor(() => h.api.polling);
      h.api.deliver(invocation('big', event));
      const inv = await got;
      assert.equal(inv.body.length, event.length);
      assert.ok(inv.body === event, 'the 6 MB event arrives intact');

      const parsed = JSON.parse(inv.body) as { data: string };
      await posted((done) => client.postInvocationResponse(parsed, 'big', done));
      const big = await h.results.take();
      assert.ok(big.result.kind === 'response' && big.result.body.toString() === inv.body, 'the 6 MB response arrives intact');

      got = nextOf(client);
      await waitFor(() => h.api.polling);
      h.api.deliver(invocation('too-big', '{}'));
      await got;
      await posted((done) => client.postInvocationResponse({ data: 'x'.repeat(MAX_RUNTIME_PAYLOAD) }, 'too-big', done));
      const tooBig = await h.results.take();
      assert.equal(tooBig.result.kind, 'too-large');

      got = nextOf(client);
      await waitFor(() => h.api.polling);
      h.api.deliver(invocation('after', '{"small":true}'));
      assert.equal((await got).body, '{"small":true}');
    } finally {
      h.api.close();
    }
  });

  test('a post the host refuses (400, unknown request id) still calls back', async () => {
    const h = await host();
    try {
      const client = new RuntimeClient(h.api.address, failOnTransportError);
      await posted((done) => client.postInvocationResponse({}, 'unknown', done));
      await posted((done) => client.postInvocationError(new Error('x'), 'unknown/../weird id', done));
      assert.equal(h.results.size, 0);
    } finally {
      h.api.close();
    }
  });

  test('a Runtime API that went away is a transport error; so is a failed last-chance post, through done', async () => {
    const h = await host();
    const address = h.api.address;
    h.api.close();
    const errors = new Channel<Error>();
    const client = new RuntimeClient(address, (err) => errors.push(err));
    client.next(() => assert.fail('no invocation expected'));
    assert.equal(((await errors.take()) as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    await posted((done) => client.postFatalInvocationError(new Error('x'), 'id', done));
    await posted((done) => client.postInitError(new Error('x'), done));
  });

  test('the connection keeps the process alive only while a request is outstanding', async () => {
    // A child process: between a response and the next request (a handler running), the event loop
    // must be able to run dry (beforeExit) while the connection stays open; during the long poll it
    // must not exit.
    const h = await host();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-rc-'));
    try {
      h.known.add('r1');
      const script = path.join(dir, 'child.mjs');
      fs.writeFileSync(
        script,
        `const { RuntimeClient } = await import(${JSON.stringify(CLIENT_URL)});
const client = new RuntimeClient(process.argv[2], (err) => { console.log('transport ' + err.message); process.exit(3); });
let n = 0;
process.on('beforeExit', () => {
  console.log('beforeExit ' + ++n);
  if (n === 1) client.postInvocationResponse({ ok: true }, 'r1', () => console.log('posted'));
});
client.next((inv) => console.log('invocation ' + inv.headers['lambda-runtime-aws-request-id']));
`,
      );
      const child = spawn(process.execPath, [script, h.api.address], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      await waitFor(() => h.api.polling);
      await sleep(300);
      assert.equal(child.exitCode, null, 'alive while the long poll is outstanding');
      assert.equal(out, '');
      h.api.deliver(invocation('r1', '{}'));
      assert.equal(await exited, 0);
      assert.deepEqual(out.trim().split('\n'), ['invocation r1', 'beforeExit 1', 'posted', 'beforeExit 2']);
      const { result } = await h.results.take();
      assert.equal(result.kind === 'response' && result.body.toString(), '{"ok":true}');
    } finally {
      h.api.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// --- Against a raw server ------------------------------------------------------------------------------

describe('RuntimeClient pipelining: a result and the next poll in one write', () => {
  test('against RuntimeApiServer: both arrive, in order, and the next event follows', async () => {
    const h = await host();
    const client = new RuntimeClient(h.api.address, failOnTransportError);
    try {
      h.known.add('p1');
      h.known.add('p2');
      h.api.deliver(invocation('p1', '{"n":1}'));
      const first = await nextOf(client);
      assert.equal(first.headers['lambda-runtime-aws-request-id'], 'p1');
      const second = new Promise<NextInvocation>((resolve) => client.postResponseThenNext({ ok: 1 }, 'p1', resolve));
      const r1 = await h.results.take();
      assert.equal(r1.requestId, 'p1');
      assert.deepEqual(r1.result, { kind: 'response', body: Buffer.from('{"ok":1}') });
      await waitFor(() => h.api.polling);
      h.api.deliver(invocation('p2', '{"n":2}'));
      const inv = await second;
      assert.equal(inv.headers['lambda-runtime-aws-request-id'], 'p2');
      assert.equal(inv.body, '{"n":2}');
      const third = new Promise<NextInvocation>((resolve) => client.postErrorThenNext(new TypeError('boom'), 'p2', resolve));
      const r2 = await h.results.take();
      assert.equal(r2.result.kind, 'error');
      assert.equal(r2.result.kind === 'error' ? r2.result.errorType : '', 'TypeError');
      await waitFor(() => h.api.polling);
      h.known.add('p3');
      h.api.deliver(invocation('p3', '{}'));
      assert.equal((await third).headers['lambda-runtime-aws-request-id'], 'p3');
    } finally {
      h.api.close();
    }
  });

  test('raw server: one write holds the POST and the GET; a Connection: close answer to the POST sends the GET again', async () => {
    const s = await rawServer();
    try {
      const client = new RuntimeClient(s.address, failOnTransportError);
      const got = nextOf(client);
      const get = await s.requests.take();
      get.socket.write(okHead('{}', 'Lambda-Runtime-Aws-Request-Id: r1\r\n') + '{}');
      await got;
      const next = new Promise<NextInvocation>((resolve) => client.postResponseThenNext('done', 'r1', resolve));
      const post = await s.requests.take();
      const pipelined = await s.requests.take();
      assert.equal(post.method, 'POST');
      assert.equal(post.body.toString(), '"done"');
      assert.equal(pipelined.method, 'GET');
      assert.equal(pipelined.path, NEXT);
      assert.equal(pipelined.conn, post.conn, 'on the same connection');
      // The server answers the POST and closes: the pipelined GET was lost with the connection.
      post.socket.write('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      post.socket.end();
      const again = await s.requests.take();
      assert.equal(again.method, 'GET');
      assert.equal(again.conn, post.conn + 1, 'on a new connection');
      again.socket.write(okHead('{"n":2}', 'Lambda-Runtime-Aws-Request-Id: r2\r\n') + '{"n":2}');
      assert.equal((await next).body, '{"n":2}');
    } finally {
      s.close();
    }
  });
});

describe('RuntimeClient HTTP/1.1 framing (raw server)', () => {
  test('each request is one socket.write, and requests reuse one connection', async () => {
    const s = await rawServer();
    const port = Number(s.address.split(':')[1]);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- restored below, always called with a socket as `this`
    const write = net.Socket.prototype.write;
    let writes = 0;
    // Count the client's writes (its sockets connect to the server's port; the first write may precede the connect).
    net.Socket.prototype.write = function (this: net.Socket, ...args: Parameters<net.Socket['write']>) {
      if (this.connecting || this.remotePort === port) writes++;
      return write.apply(this, args);
    } as net.Socket['write'];
    try {
      const client = new RuntimeClient(s.address, failOnTransportError);
      const got = nextOf(client);
      const get = await s.requests.take();
      assert.equal(writes, 1);
      assert.equal(get.method, 'GET');
      assert.equal(get.path, NEXT);
      assert.equal(get.headers['host'], s.address);
      get.socket.write(okHead('{}', 'Lambda-Runtime-Aws-Request-Id: x1\r\n') + '{}');
      await got;

      const posts: [(done: () => void) => void, number | undefined, string | undefined][] = [
        [(done) => client.postInvocationResponse({ a: 1 }, 'x1', done), 7, undefined],
        [(done) => client.postInvocationResponse({ a: 'y'.repeat(100_000) }, 'x1', done), 100_008, undefined],
        [(done) => client.postInvocationError(Object.assign(new Error('m'), { name: 'Ünïcode' }), 'x1', done), undefined, 'Ünïcode'],
      ];
      for (const [start, length, errorType] of posts) {
        writes = 0;
        const done = posted(start);
        const req = await s.requests.take();
        assert.equal(writes, 1, 'one write per request');
        assert.equal(req.method, 'POST');
        assert.equal(req.conn, 0, 'same connection');
        assert.equal(req.headers['content-type'], 'application/json');
        assert.equal(Number(req.headers['content-length']), req.body.length);
        if (length !== undefined) assert.equal(req.body.length, length);
        assert.equal(req.headers['lambda-runtime-function-error-type'], errorType, 'header values go out as latin1');
        req.socket.write(ACCEPTED);
        await done;
      }
      assert.equal(s.connections(), 1);
    } finally {
      net.Socket.prototype.write = write;
      s.close();
    }
  });

  test('a response split into one-byte reads: Content-Length, chunked, odd headers, UTF-8 across reads', async () => {
    const s = await rawServer();
    try {
      const client = new RuntimeClient(s.address, failOnTransportError);
      const body = Buffer.from('{"s":"é€𝄞 done"}');
      let got = nextOf(client);
      let req = await s.requests.take();
      await writeBytewise(
        req.socket,
        Buffer.concat([
          Buffer.from(
            'HTTP/1.1 200 OK\r\n' +
              `content-LENGTH:   ${body.length}  \r\n` +
              'LAMBDA-RUNTIME-AWS-REQUEST-ID:\tid-1\t\r\n' +
              'Lambda-Runtime-Deadline-Ms: 123\r\n' +
              'X-Folded: first\r\n  second\r\n' +
              'X-Twice: a\r\nX-Twice: b\r\n' +
              'Lambda-Runtime-Client-Context: caf\xe9\r\n\r\n',
            'latin1',
          ),
          body,
        ]),
      );
      let inv = await got;
      assert.equal(inv.body, body.toString());
      assert.equal(inv.headers['lambda-runtime-aws-request-id'], 'id-1');
      assert.equal(inv.headers['lambda-runtime-deadline-ms'], '123');
      assert.equal(inv.headers['content-length'], String(body.length));
      assert.equal(inv.headers['x-folded'], 'first second');
      assert.equal(inv.headers['x-twice'], 'a, b');
      assert.equal(inv.headers['lambda-runtime-client-context'], 'café', 'header values are latin1, as in Node');

      const done = posted((d) => client.postInvocationResponse('ok', 'id-1', d));
      req = await s.requests.take();
      await writeBytewise(req.socket, ACCEPTED);
      await done;

      got = nextOf(client);
      req = await s.requests.take();
      await writeBytewise(
        req.socket,
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nLambda-Runtime-Aws-Request-Id: id-2\r\n\r\n' +
          '4;ext=1\r\n{"a"\r\n' +
          'A  \r\n:"chunked"\r\n' +
          '1\r\n}\r\n' +
          '0\r\nX-Trailer: t\r\n\r\n',
      );
      inv = await got;
      assert.equal(inv.body, '{"a":"chunked"}');
      assert.equal(inv.headers['lambda-runtime-aws-request-id'], 'id-2');
      assert.equal(inv.headers['x-trailer'], undefined);

      got = nextOf(client);
      req = await s.requests.take();
      const utf8 = Buffer.from('{"a":"é€𝄞"}');
      await writeBytewise(
        req.socket,
        Buffer.concat([
          Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
          Buffer.from(`${(7).toString(16)}\r\n`),
          utf8.subarray(0, 7),
          Buffer.from(`\r\n${(utf8.length - 7).toString(16)}\r\n`),
          utf8.subarray(7),
          Buffer.from('\r\n0\r\n\r\n'),
        ]),
      );
      assert.equal((await got).body, '{"a":"é€𝄞"}');
      assert.equal(s.connections(), 1);
    } finally {
      s.close();
    }
  });

  test('several responses in one read: 1xx interim responses, and an answer sent before its request', async () => {
    const s = await rawServer();
    try {
      const client = new RuntimeClient(s.address, failOnTransportError);
      let got = nextOf(client);
      let req = await s.requests.take();
      req.socket.write(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n' +
          okHead('{"n":1}', 'Lambda-Runtime-Aws-Request-Id: i1\r\n') +
          '{"n":1}',
      );
      let inv = await got;
      assert.equal(inv.body, '{"n":1}');
      assert.equal(inv.headers['link'], undefined, 'interim headers are not merged');

      // The POST's 202 and the next event arrive in the same read as the answer to the POST.
      const done = posted((d) => client.postInvocationResponse(1, 'i1', d));
      req = await s.requests.take();
      got = new Promise((resolve) => {
        void done.then(() => client.next(resolve));
      });
      req.socket.write(ACCEPTED + okHead('{"n":2}', 'Lambda-Runtime-Aws-Request-Id: i2\r\n') + '{"n":2}' + ACCEPTED);
      inv = await got;
      assert.equal(inv.body, '{"n":2}');
      assert.equal((await s.requests.take()).path, NEXT, 'the GET still went out');

      // The third response in that read answers the next post without the server writing again.
      await posted((d) => client.postInvocationResponse(2, 'i2', d));
      assert.equal((await s.requests.take()).method, 'POST');
      assert.equal(s.connections(), 1);
    } finally {
      s.close();
    }
  });

  test('a close-delimited body, and Connection: close, make the next request open a new connection', async () => {
    const s = await rawServer();
    try {
      const client = new RuntimeClient(s.address, failOnTransportError);
      let got = nextOf(client);
      let req = await s.requests.take();
      req.socket.write('HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: c1\r\n\r\n{"until":');
      await sleep(20);
      req.socket.end('"close"}');
      assert.equal((await got).body, '{"until":"close"}');

      const done = posted((d) => client.postInvocationResponse(1, 'c1', d));
      req = await s.requests.take();
      assert.equal(req.conn, 1);
      req.socket.write(ACCEPTED.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
      await done;

      got = nextOf(client);
      req = await s.requests.take();
      assert.equal(req.conn, 2);
      req.socket.write('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}'); // HTTP/1.0 without keep-alive: closes too
      await got;
      const last = posted((d) => client.postInvocationResponse(1, 'c1', d));
      req = await s.requests.take();
      assert.equal(req.conn, 3);
      req.socket.write(ACCEPTED);
      await last;
    } finally {
      s.close();
    }
  });

  test('an idle connection the server closed is reopened; a request that meets a closing connection is retried once', async () => {
    const s = await rawServer();
    try {
      const errors = new Channel<Error>();
      const client = new RuntimeClient(s.address, (err) => errors.push(err));
      let got = nextOf(client);
      let req = await s.requests.take();
      req.socket.write(okHead('{}') + '{}');
      await got;
      req.socket.end(); // idle keep-alive timeout on the server side
      await sleep(50);

      let done = posted((d) => client.postInvocationResponse(1, 'x', d));
      req = await s.requests.take();
      assert.equal(req.conn, 1, 'reconnected');
      req.socket.write(ACCEPTED);
      await done;

      // The server drops the (reused) connection as the request arrives: sent again on a new one.
      got = nextOf(client);
      req = await s.requests.take();
      assert.equal(req.conn, 1);
      req.socket.destroy();
      req = await s.requests.take();
      assert.equal(req.conn, 2);
      assert.equal(req.path, NEXT);
      req.socket.write(okHead('{"retried":true}') + '{"retried":true}');
      assert.equal((await got).body, '{"retried":true}');

      // Only once: a fresh connection that fails is a transport error.
      done = posted((d) => client.postInvocationResponse(1, 'x', d));
      req = await s.requests.take();
      req.socket.destroy();
      req = await s.requests.take();
      assert.equal(req.conn, 3);
      req.socket.destroy();
      const err = await errors.take();
      assert.match(err.message, /socket hang up|ECONNRESET|EPIPE/);

      // A connection that dies half-way through a response is not retried either.
      client.next(() => assert.fail('no invocation expected'));
      req = await s.requests.take();
      req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{"a"');
      assert.equal((await errors.take()).message, 'socket hang up');
      void done;
    } finally {
      s.close();
    }
  });

  test('a connection opened ahead (preconnect) carries the first request; dropped by the server as that request arrives, it is sent again on a new one', async () => {
    const s = await rawServer();
    try {
      const client = new RuntimeClient(s.address, failOnTransportError);
      client.preconnect();
      await waitFor(() => s.connections() === 1);
      client.preconnect(); // already open: nothing more
      let got = nextOf(client);
      let req = await s.requests.take();
      assert.equal(req.conn, 0, 'the first request went out on the connection opened ahead');
      req.socket.write(okHead('{}') + '{}');
      await got;
      assert.equal(s.connections(), 1);

      // A fresh client whose early connection the server drops as the first request arrives (as it may
      // an idle connection it closes): retried once, as on a used connection.
      const other = new RuntimeClient(s.address, failOnTransportError);
      other.preconnect();
      await waitFor(() => s.connections() === 2);
      const early = await new Promise<net.Socket>((resolve) => {
        got = nextOf(other);
        void s.requests.take().then((r) => resolve(r.socket));
      });
      early.destroy();
      req = await s.requests.take();
      assert.equal(req.conn, 2, 'sent again on a new connection');
      req.socket.write(okHead('{"again":true}') + '{"again":true}');
      assert.equal((await got).body, '{"again":true}');
    } finally {
      s.close();
    }
  });

  test('a non-200 next and a malformed response are transport errors', async () => {
    const s = await rawServer();
    try {
      const errors = new Channel<Error>();
      const client = new RuntimeClient(s.address, (err) => errors.push(err));
      client.next(() => assert.fail('no invocation expected'));
      let req = await s.requests.take();
      req.socket.write('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}');
      assert.equal((await errors.take()).message, 'Failed to get next invocation, status 500');

      client.next(() => assert.fail('no invocation expected'));
      req = await s.requests.take();
      req.socket.write('NOT HTTP\r\n\r\n');
      assert.match((await errors.take()).message, /^Parse Error/);

      client.next(() => assert.fail('no invocation expected'));
      req = await s.requests.take();
      req.socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
      assert.match((await errors.take()).message, /^Parse Error: invalid chunk size/);
    } finally {
      s.close();
    }
  });

  test('a 6 MB chunked event in uneven chunks', async () => {
    const s = await rawServer();
    try {
      const client = new RuntimeClient(s.address, failOnTransportError);
      const event = Buffer.from(bigEvent(6 * 1024 * 1024 + 123));
      const got = nextOf(client);
      const req = await s.requests.take();
      const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')];
      for (let off = 0, size = 1; off < event.length; off += size, size = (size * 7 + 13) % 300_000) {
        const piece = event.subarray(off, off + size);
        parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
      }
      parts.push(Buffer.from('0\r\n\r\n'));
      req.socket.write(Buffer.concat(parts));
      const inv = await got;
      assert.ok(inv.body === event.toString(), 'the chunked 6 MB event arrives intact');
    } finally {
      s.close();
    }
  });
});
