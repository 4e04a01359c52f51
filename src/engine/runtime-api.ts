import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ConnectionEnds } from '../sandbox/index.js';

/**
 * Host side of Lambda's Runtime API (2018-06-01) for ONE execution environment.
 *
 * Each environment gets its own listener on 127.0.0.1 so that a request is attributed to its
 * environment by the socket it arrives on, never by anything the function sends.
 *
 * This is the invoke hot path, so it is a small HTTP/1.1 server on `net` sockets rather than
 * `node:http` (whose request/response streams cost about as much CPU as the rest of the host's
 * invoke path together). It does what the Runtime API needs, robustly: requests framed by
 * Content-Length or chunked transfer coding, arriving in any number of reads or several in one
 * read (pipelining); `Expect: 100-continue` (curl sends it for bodies over 1 KB); keep-alive and
 * `Connection: close`; one write per batch of responses.
 *
 * One more thing a generic server would not do: when a runtime pipelines `GET /next` right behind
 * its result (Kumo's own runtimes do), the result's `202` is held back and goes out in the same
 * write as the next event. The runtime waits for that event anyway, and waking it (or thawing it)
 * only to read a `202` would cost a context switch per invocation.
 */

/** Largest response or error body a runtime may post (Lambda: 6,291,556 bytes). */
export const MAX_RUNTIME_PAYLOAD = 6_291_556;

/** The request header that makes a `/response` post a streamed one (with `Transfer-Encoding: chunked`). */
export const RESPONSE_MODE_HEADER = 'lambda-runtime-function-response-mode';
/** Trailers of a streamed response that failed part-way: its error type, and its error document in base64. */
export const ERROR_TYPE_TRAILER = 'lambda-runtime-function-error-type';
export const ERROR_BODY_TRAILER = 'lambda-runtime-function-error-body';

/** Where the body of a streamed response goes, as it arrives. */
export interface ResponseStreamSink {
  /** Body bytes, in order, as they come off the socket (not copied: the sink may keep them). */
  write(data: Buffer): void;
  /** The body is complete. `trailers` (lower-cased names) may hold ERROR_TYPE_TRAILER and ERROR_BODY_TRAILER. */
  end(trailers: ReadonlyMap<string, string>): void;
  /** The connection ended (or sent nonsense) before the body did. */
  abort(): void;
}

export interface RuntimeInvocation {
  requestId: string;
  payload: Buffer;
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId: string;
  clientContext?: string | undefined;
  cognitoIdentity?: string | undefined;
}

export type RuntimeResult =
  { kind: 'response'; body: Buffer } | { kind: 'error'; body: Buffer; errorType: string | undefined } | { kind: 'too-large'; size: number };

export interface RuntimeApiListener {
  /** The runtime is waiting for work. The first call marks the end of its init phase. */
  onNext(): void;
  /** A result for `requestId`. Return false when that id is not the invocation in flight. */
  onResult(requestId: string, result: RuntimeResult): boolean;
  /** The runtime reported an init failure. */
  onInitError(errorType: string | undefined, body: Buffer): void;
  /**
   * A streamed response for `requestId` begins (`Lambda-Runtime-Function-Response-Mode: streaming`):
   * its body goes to the sink as it arrives, and the post is answered once it ends. Return
   * undefined when that id is not the invocation in flight: the post is then read like any other
   * and refused through `onResult`. Without this method, streamed posts are buffered like others.
   */
  onResponseStream?(requestId: string, contentType: string | undefined): ResponseStreamSink | undefined;
  /**
   * Whether a new connection may be served: asked once per connection, before any of its requests
   * is read (they wait in the socket meanwhile). A connection refused is closed without an answer.
   * Without this method every connection is served (unit tests).
   */
  authorize?(ends: ConnectionEnds): Promise<boolean>;
}


const NEXT = '/2018-06-01/runtime/invocation/next';
const INIT_ERROR = '/2018-06-01/runtime/init/error';
const INVOCATION = '/2018-06-01/runtime/invocation/';
const RESPONSE = '/response';
/** Largest request line + header block accepted. */
const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 4096;
const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
const REASONS: Record<number, string> = { 200: 'OK', 202: 'Accepted', 400: 'Bad Request', 404: 'Not Found', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' };
const ACCEPTED = response(202, '{"status":"OK"}');
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

function response(status: number, body: string | object, close = false): Buffer {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return Buffer.from(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${
      close ? 'Connection: close\r\n' : ''
    }\r\n${text}`,
    'utf8',
  );
}

interface Request {
  method: string;
  target: string;
  headers: Map<string, string>;
  close: boolean;
}

export class RuntimeApiServer {
  /** The connection whose `GET /next` is waiting for an event. */
  private pendingNext: Connection | undefined;
  private queued: RuntimeInvocation | undefined;
  private readonly connections = new Set<Connection>();
  /** Connections whose peer is being checked (nothing read from them yet). */
  private readonly unverified = new Set<net.Socket>();
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    readonly address: string,
    private listener: RuntimeApiListener,
  ) {}

  static async listen(listener: RuntimeApiListener): Promise<RuntimeApiServer> {
    const ref: { api?: RuntimeApiServer } = {};
    const server = net.createServer({ noDelay: true }, (socket) => {
      if (ref.api && !ref.api.closed) ref.api.accept(socket);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    ref.api = new RuntimeApiServer(server, `127.0.0.1:${port}`, listener);
    return ref.api;
  }

  /** Hands the Runtime API to another listener: a stem cell's API passes to the environment it becomes. */
  setListener(listener: RuntimeApiListener): void {
    this.listener = listener;
  }

  /** Whether the runtime is waiting in `/invocation/next`. */
  get polling(): boolean {
    return this.pendingNext !== undefined;
  }

  /** Hands an invocation to the runtime now if it is polling, else as soon as it polls. */
  deliver(inv: RuntimeInvocation): void {
    const conn = this.pendingNext;
    if (conn) {
      this.pendingNext = undefined;
      conn.answerNext(invocationResponse(inv));
    } else {
      this.queued = inv;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pendingNext = undefined;
    this.server.close();
    for (const conn of this.connections) conn.destroy();
    this.connections.clear();
    for (const socket of this.unverified) socket.destroy();
    this.unverified.clear();
  }

  /**
   * A new connection: served at once, or once `authorize` accepts it. Until then nothing is read
   * from it (pipelined requests wait in the socket); refused, it is closed without an answer.
   */
  private accept(socket: net.Socket): void {
    const authorize = this.listener.authorize?.bind(this.listener);
    if (!authorize) return this.serve(socket);
    socket.pause();
    this.unverified.add(socket);
    const drop = (): void => {
      this.unverified.delete(socket);
      socket.destroy();
    };
    socket.on('error', drop);
    const { remoteAddress, remotePort, localAddress, localPort } = socket;
    if (remoteAddress === undefined || remotePort === undefined || localAddress === undefined || localPort === undefined) return drop();
    authorize({ remoteAddress, remotePort, localAddress, localPort }).then(
      (ok) => {
        if (!ok || this.closed || socket.destroyed) return drop();
        this.unverified.delete(socket);
        socket.off('error', drop);
        this.serve(socket);
        socket.resume();
      },
      drop,
    );
  }

  private serve(socket: net.Socket): void {
    const conn = new Connection(
      socket,
      (c, req, body) => this.handle(c, req, body),
      (req) => this.openStream(req),
    );
    this.connections.add(conn);
    socket.once('close', () => {
      this.connections.delete(conn);
      if (this.pendingNext === conn) this.pendingNext = undefined;
    });
  }

  /** One complete request. Returns what to answer now; undefined when the connection now waits for an event. */
  private handle(conn: Connection, req: Request, body: Buffer | number): Buffer | undefined {
    const { method, target } = req;
    if (method === 'GET' && target === NEXT) {
      const queued = this.queued;
      let answer: Buffer | undefined;
      if (queued) {
        this.queued = undefined;
        answer = invocationResponse(queued);
      } else {
        // The newest poll wins: an older one is abandoned (its connection closed).
        const older = this.pendingNext;
        if (older && older !== conn) older.destroy();
        conn.waitForEvent();
        this.pendingNext = conn;
      }
      this.listener.onNext();
      return answer;
    }
    if (method === 'POST' && target === INIT_ERROR) {
      this.listener.onInitError(req.headers.get('lambda-runtime-function-error-type'), typeof body === 'number' ? Buffer.alloc(0) : body);
      return ACCEPTED;
    }
    if (method === 'POST' && target.startsWith(INVOCATION)) {
      const rest = target.slice(INVOCATION.length);
      const slash = rest.lastIndexOf('/');
      const action = rest.slice(slash + 1);
      if (slash > 0 && (action === 'response' || action === 'error')) {
        const requestId = decodeRequestId(rest.slice(0, slash));
        if (requestId === undefined) return response(400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
        const result: RuntimeResult =
          typeof body === 'number'
            ? { kind: 'too-large', size: body }
            : action === 'response'
              ? { kind: 'response', body }
              : { kind: 'error', body, errorType: req.headers.get('lambda-runtime-function-error-type') };
        if (!this.listener.onResult(requestId, result)) {
          return response(400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
        }
        if (result.kind === 'too-large') {
          return response(413, {
            errorMessage: `Exceeded maximum allowed payload size (${MAX_RUNTIME_PAYLOAD} bytes).`,
            errorType: 'RequestEntityTooLarge',
          });
        }
        return ACCEPTED;
      }
    }
    return response(404, { errorMessage: `Unknown Runtime API route ${method} ${target}`, errorType: 'InvalidRequest' });
  }

  /** The sink for a streamed `/response` post, or undefined to read it like any other request. */
  private openStream(req: Request): ResponseStreamSink | undefined {
    if (req.method !== 'POST' || !this.listener.onResponseStream || !req.target.startsWith(INVOCATION) || !req.target.endsWith(RESPONSE)) {
      return undefined;
    }
    if (req.headers.get(RESPONSE_MODE_HEADER)?.toLowerCase() !== 'streaming') return undefined;
    const requestId = decodeRequestId(req.target.slice(INVOCATION.length, -RESPONSE.length));
    return requestId === undefined ? undefined : this.listener.onResponseStream(requestId, req.headers.get('content-type'));
  }
}

function decodeRequestId(encoded: string): string | undefined {
  if (encoded === '' || encoded.includes('/')) return undefined;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

function invocationResponse(inv: RuntimeInvocation): Buffer {
  let head =
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ' +
    inv.payload.length +
    '\r\nLambda-Runtime-Aws-Request-Id: ' +
    inv.requestId +
    '\r\nLambda-Runtime-Deadline-Ms: ' +
    inv.deadlineMs +
    '\r\nLambda-Runtime-Invoked-Function-Arn: ' +
    inv.invokedFunctionArn +
    '\r\nLambda-Runtime-Trace-Id: ' +
    inv.traceId +
    '\r\n';
  if (inv.clientContext !== undefined) head += 'Lambda-Runtime-Client-Context: ' + headerSafe(inv.clientContext) + '\r\n';
  if (inv.cognitoIdentity !== undefined) head += 'Lambda-Runtime-Cognito-Identity: ' + headerSafe(inv.cognitoIdentity) + '\r\n';
  head += '\r\n';
  const headLength = Buffer.byteLength(head, 'latin1');
  const out = Buffer.allocUnsafe(headLength + inv.payload.length);
  out.write(head, 0, 'latin1');
  inv.payload.copy(out, headLength);
  return out;
}

/** A header value cannot hold CR or LF; the client context is JSON, which never needs them raw. */
function headerSafe(value: string): string {
  return value.replace(/[\r\n]/g, ' ');
}

type Handler = (conn: Connection, req: Request, body: Buffer | number) => Buffer | undefined;
type StreamOpener = (req: Request) => ResponseStreamSink | undefined;
/** Most bytes of trailer fields a streamed post may end with (its error document travels there, in base64). */
const MAX_TRAILERS = MAX_HEAD;

const enum Phase {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
}

/**
 * One client connection: parses requests as they arrive and answers them in order. Responses
 * produced while one batch of input is parsed go out in one write; while a `GET /next` waits for
 * its event, answers behind it wait too (HTTP answers in request order), and a `202` right before
 * it is held back to travel with the event.
 */
class Connection {
  private buf: Buffer = Buffer.alloc(0);
  private phase = Phase.Head;
  private req: Request | undefined;
  private remaining = 0;
  private bodyParts: Buffer[] = [];
  private bodySize = 0;
  /** Answers not yet written, in order. */
  private out: Buffer[] = [];
  /** A `GET /next` is waiting: nothing after it may be written yet. */
  private waiting = false;
  /** Requests after a waiting `GET /next` (a runtime should never send any). */
  private backlog: Array<{ req: Request; body: Buffer | number }> = [];
  private closing = false;
  private dead = false;
  /** Where the body of the streamed response being read goes (then it is not kept, nor limited to 6 MB). */
  private sink: ResponseStreamSink | undefined;
  private trailers: Map<string, string> | undefined;
  private trailerBytes = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly handler: Handler,
    private readonly openStream: StreamOpener,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => {
      const sink = this.sink;
      this.sink = undefined;
      sink?.abort();
    });
    // The client is done sending: answer what it asked (unless it waits for an event it can no longer ask for), then close.
    socket.on('end', () => {
      if (this.waiting) this.destroy();
      else {
        this.closing = true;
        this.flush();
      }
    });
  }

  /** A `GET /next` now waits for its event. */
  waitForEvent(): void {
    this.waiting = true;
  }

  /** The event a waiting `GET /next` gets; held answers go out with it. */
  answerNext(answer: Buffer): void {
    if (this.dead || !this.waiting) return;
    this.waiting = false;
    this.out.push(answer);
    const backlog = this.backlog;
    this.backlog = [];
    for (const { req, body } of backlog) this.dispatch(req, body);
    this.flush();
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    try {
      this.parse();
    } catch {
      this.out.push(response(400, { errorMessage: 'Malformed request', errorType: 'InvalidRequest' }, true));
      this.closing = true;
    }
    this.flush();
  }

  private flush(): void {
    if (this.dead) return;
    // A 202 right before a waiting GET /next travels with the event.
    if (this.waiting && !this.closing) return;
    if (this.out.length > 0) {
      const data = this.out.length === 1 ? (this.out[0] as Buffer) : Buffer.concat(this.out);
      this.out = [];
      this.socket.write(data);
    }
    if (this.closing) {
      this.dead = true;
      this.socket.end();
    }
  }

  private parse(): void {
    for (;;) {
      if (this.closing || this.dead) return;
      switch (this.phase) {
        case Phase.Head: {
          const end = this.buf.indexOf(CRLF_CRLF);
          if (end < 0) {
            if (this.buf.length > MAX_HEAD) {
              this.out.push(response(431, { errorMessage: 'Request headers too large', errorType: 'InvalidRequest' }, true));
              this.closing = true;
            }
            return;
          }
          if (end > MAX_HEAD) {
            this.out.push(response(431, { errorMessage: 'Request headers too large', errorType: 'InvalidRequest' }, true));
            this.closing = true;
            return;
          }
          const req = parseHead(this.buf.toString('latin1', 0, end));
          this.buf = this.buf.subarray(end + 4);
          this.req = req;
          this.bodyParts = [];
          this.bodySize = 0;
          // Only when nothing is owed before it (answers go in request order); a client that does
          // not get it sends the body after a short wait anyway.
          if (req.headers.get('expect')?.toLowerCase() === '100-continue' && this.out.length === 0 && !this.waiting) this.socket.write(CONTINUE);
          // A streamed response: its body goes on as it arrives (never behind a waiting GET /next).
          this.sink = this.waiting ? undefined : this.openStream(req);
          this.trailers = undefined;
          this.trailerBytes = 0;
          const te = req.headers.get('transfer-encoding');
          if (te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te)) {
            this.phase = Phase.ChunkSize;
          } else {
            const cl = req.headers.get('content-length');
            if (cl !== undefined && !/^\d+$/.test(cl.trim())) throw new Error('bad content-length');
            this.remaining = cl === undefined ? 0 : Number(cl);
            this.phase = Phase.Body;
          }
          break;
        }
        case Phase.Body: {
          if (!this.takeBody()) return;
          this.complete();
          break;
        }
        case Phase.ChunkSize: {
          const nl = this.buf.indexOf(10);
          if (nl < 0) {
            if (this.buf.length > MAX_CHUNK_LINE) throw new Error('chunk line too long');
            return;
          }
          const line = this.buf.toString('latin1', 0, nl).replace(/\r$/, '');
          this.buf = this.buf.subarray(nl + 1);
          const size = parseInt(line.split(';')[0]?.trim() ?? '', 16);
          if (!Number.isFinite(size) || size < 0) throw new Error('bad chunk size');
          if (size === 0) this.phase = Phase.Trailers;
          else {
            this.remaining = size;
            this.phase = Phase.ChunkData;
          }
          break;
        }
        case Phase.ChunkData: {
          if (!this.takeBody()) return;
          this.phase = Phase.ChunkEnd;
          break;
        }
        case Phase.ChunkEnd: {
          const nl = this.buf.indexOf(10);
          if (nl < 0) return;
          this.buf = this.buf.subarray(nl + 1);
          this.phase = Phase.ChunkSize;
          break;
        }
        case Phase.Trailers: {
          const nl = this.buf.indexOf(10);
          if (nl < 0) {
            if (this.trailerBytes + this.buf.length > MAX_TRAILERS) throw new Error('trailers too long');
            return;
          }
          const empty = nl === 0 || (nl === 1 && this.buf[0] === 13);
          this.trailerBytes += nl + 1;
          if (this.trailerBytes > MAX_TRAILERS) throw new Error('trailers too long');
          // Trailer fields matter only to a streamed response (its error); others are skipped.
          if (!empty && this.sink) this.addTrailer(this.buf.toString('latin1', 0, nl));
          this.buf = this.buf.subarray(nl + 1);
          if (empty) this.complete();
          break;
        }
      }
    }
  }

  /** Takes up to `remaining` body bytes from the buffer; true once they have all arrived. */
  private takeBody(): boolean {
    const take = Math.min(this.remaining, this.buf.length);
    if (take > 0) {
      this.addBody(this.buf.subarray(0, take));
      this.buf = this.buf.subarray(take);
      this.remaining -= take;
    }
    return this.remaining === 0;
  }

  private addTrailer(line: string): void {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error('bad trailer line');
    const trailers = (this.trailers ??= new Map());
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!trailers.has(name)) trailers.set(name, line.slice(colon + 1).trim());
  }

  /** Keeps up to MAX_RUNTIME_PAYLOAD of a body; past that only counts it. A streamed body goes on at once. */
  private addBody(part: Buffer): void {
    if (this.sink) {
      this.sink.write(part);
      return;
    }
    this.bodySize += part.length;
    if (this.bodySize <= MAX_RUNTIME_PAYLOAD) this.bodyParts.push(part);
    else this.bodyParts = [];
  }

  private complete(): void {
    const req = this.req;
    if (!req) return;
    this.req = undefined;
    this.phase = Phase.Head;
    const sink = this.sink;
    if (sink) {
      this.sink = undefined;
      const trailers = this.trailers ?? NO_TRAILERS;
      this.trailers = undefined;
      sink.end(trailers);
      this.out.push(ACCEPTED);
      if (req.close) this.closing = true;
      return;
    }
    const parts = this.bodyParts;
    this.bodyParts = [];
    const body: Buffer | number =
      this.bodySize > MAX_RUNTIME_PAYLOAD ? this.bodySize : parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.bodySize);
    if (this.waiting) this.backlog.push({ req, body });
    else this.dispatch(req, body);
  }

  private dispatch(req: Request, body: Buffer | number): void {
    const answer = this.handler(this, req, body);
    if (answer) this.out.push(answer);
    if (req.close) this.closing = true;
  }
}

const NO_TRAILERS: ReadonlyMap<string, string> = new Map();

function parseHead(head: string): Request {
  const lines = head.split('\r\n');
  const requestLine = lines[0] ?? '';
  const [method, target, version] = requestLine.split(' ');
  if (!method || !target || !version?.startsWith('HTTP/1.')) throw new Error('bad request line');
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error('bad header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  const connection = headers.get('connection')?.toLowerCase();
  const close = version === 'HTTP/1.0' ? connection !== 'keep-alive' : connection === 'close';
  return { method, target, headers, close };
}
