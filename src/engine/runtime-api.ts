import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Host side of Lambda's Runtime API (2018-06-01) for ONE execution environment.
 *
 * Each environment gets its own listener on 127.0.0.1 so that a request is attributed to its
 * environment by the socket it arrives on, never by anything the function sends. This is on the
 * invoke hot path: no framework, no URL parsing, no per-request closures beyond Node's own.
 */

/** Largest response or error body a runtime may post (Lambda: 6,291,556 bytes). */
export const MAX_RUNTIME_PAYLOAD = 6_291_556;

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
}

const PREFIX = '/2018-06-01/runtime/';
const NEXT = '/2018-06-01/runtime/invocation/next';
const INIT_ERROR = '/2018-06-01/runtime/init/error';
const INVOCATION = '/2018-06-01/runtime/invocation/';
const ACCEPTED = Buffer.from('{"status":"OK"}');
const JSON_HEADERS = { 'Content-Type': 'application/json' } as const;

export class RuntimeApiServer {
  private pendingNext: http.ServerResponse | undefined;
  private queued: RuntimeInvocation | undefined;
  private closed = false;

  private constructor(
    private readonly server: http.Server,
    readonly address: string,
    private listener: RuntimeApiListener,
  ) {}

  /** Hands the Runtime API to another listener: a stem cell's API passes to the environment it becomes. */
  setListener(listener: RuntimeApiListener): void {
    this.listener = listener;
  }

  static async listen(listener: RuntimeApiListener): Promise<RuntimeApiServer> {
    const ref: { api?: RuntimeApiServer } = {};
    const server = http.createServer({ keepAlive: true, requestTimeout: 0, noDelay: true }, (req, res) => {
      if (ref.api) ref.api.handle(req, res);
      else res.destroy();
    });
    server.keepAliveTimeout = 0; // the runtime holds one connection for the environment's life
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    ref.api = new RuntimeApiServer(server, `127.0.0.1:${port}`, listener);
    return ref.api;
  }

  /** Whether the runtime is waiting in `/invocation/next`. */
  get polling(): boolean {
    return this.pendingNext !== undefined;
  }

  /** Hands an invocation to the runtime now if it is polling, else as soon as it polls. */
  deliver(inv: RuntimeInvocation): void {
    const res = this.pendingNext;
    if (res) {
      this.pendingNext = undefined;
      writeInvocation(res, inv);
    } else {
      this.queued = inv;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pendingNext?.destroy();
    this.pendingNext = undefined;
    this.server.close();
    this.server.closeAllConnections();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === NEXT) {
      this.onNext(res);
      return;
    }
    if (req.method !== 'POST' || !url.startsWith(PREFIX)) {
      drain(req);
      reply(res, 404, { errorMessage: `Unknown Runtime API route ${req.method} ${url}`, errorType: 'InvalidRequest' });
      return;
    }
    if (url === INIT_ERROR) {
      readBody(req, (body) => {
        reply(res, 202, ACCEPTED);
        this.listener.onInitError(headerValue(req, 'lambda-runtime-function-error-type'), body ?? Buffer.alloc(0));
      });
      return;
    }
    if (url.startsWith(INVOCATION)) {
      const rest = url.slice(INVOCATION.length);
      const slash = rest.lastIndexOf('/');
      const requestId = decodeURIComponent(rest.slice(0, slash));
      const action = rest.slice(slash + 1);
      if (action === 'response' || action === 'error') {
        readBody(req, (body, size) => {
          const result: RuntimeResult =
            body === undefined
              ? { kind: 'too-large', size }
              : action === 'response'
                ? { kind: 'response', body }
                : { kind: 'error', body, errorType: headerValue(req, 'lambda-runtime-function-error-type') };
          if (!this.listener.onResult(requestId, result)) {
            reply(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
          } else if (result.kind === 'too-large') {
            reply(res, 413, {
              errorMessage: `Exceeded maximum allowed payload size (${MAX_RUNTIME_PAYLOAD} bytes).`,
              errorType: 'RequestEntityTooLarge',
            });
          } else {
            reply(res, 202, ACCEPTED);
          }
        });
        return;
      }
    }
    drain(req);
    reply(res, 404, { errorMessage: `Unknown Runtime API route ${req.method} ${url}`, errorType: 'InvalidRequest' });
  }

  private onNext(res: http.ServerResponse): void {
    const queued = this.queued;
    if (queued) {
      this.queued = undefined;
      writeInvocation(res, queued);
    } else {
      this.pendingNext?.destroy();
      this.pendingNext = res;
      res.once('close', () => {
        if (this.pendingNext === res) this.pendingNext = undefined;
      });
    }
    this.listener.onNext();
  }
}

function writeInvocation(res: http.ServerResponse, inv: RuntimeInvocation): void {
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': inv.payload.length,
    'Lambda-Runtime-Aws-Request-Id': inv.requestId,
    'Lambda-Runtime-Deadline-Ms': inv.deadlineMs,
    'Lambda-Runtime-Invoked-Function-Arn': inv.invokedFunctionArn,
    'Lambda-Runtime-Trace-Id': inv.traceId,
  };
  if (inv.clientContext !== undefined) headers['Lambda-Runtime-Client-Context'] = inv.clientContext;
  if (inv.cognitoIdentity !== undefined) headers['Lambda-Runtime-Cognito-Identity'] = inv.cognitoIdentity;
  res.writeHead(200, headers);
  res.end(inv.payload);
}

function reply(res: http.ServerResponse, status: number, body: Buffer | object): void {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': buf.length });
  res.end(buf);
}

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function drain(req: http.IncomingMessage): void {
  req.resume();
}

/** Reads a body up to MAX_RUNTIME_PAYLOAD; past it, calls back with `undefined` and the size seen. */
function readBody(req: http.IncomingMessage, done: (body: Buffer | undefined, size: number) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_RUNTIME_PAYLOAD) chunks.push(chunk);
  });
  req.once('end', () => {
    if (size > MAX_RUNTIME_PAYLOAD) done(undefined, size);
    else done(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size), size);
  });
  // A connection torn down mid-body means the runtime died; the process exit reports that.
  req.once('error', () => undefined);
}
