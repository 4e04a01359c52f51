import crypto from 'node:crypto';
import http from 'node:http';
import { pipeline } from 'node:stream';
import { KumoError } from '../errors/index.js';
import { readBodyUpTo } from '../http/index.js';
import { CallerGate, sqsActionForEnvironments, type EnvironmentCheck } from './callers.js';
import { errorResponse, type ErrorProtocol } from './errors.js';
import type { ApiRequest, ApiResponse, Route } from './http.js';
import { Router } from './router.js';

/** Default body limit: a CreateFunction with a 50 MB zip, base64-encoded, in JSON (Lambda's number). */
export const MAX_REQUEST_BODY = 70_167_211;

export interface ServerLog {
  error(obj: object, msg: string): void;
}

/** Handles `POST /` requests of AWS JSON-protocol services, told apart by `X-Amz-Target`. */
export type TargetHandler = (target: string, req: ApiRequest) => Promise<ApiResponse> | undefined;

/** Handles AWS query-protocol requests (form-encoded `Action=...`): SQS's older protocol. */
export type QueryHandler = (req: ApiRequest) => Promise<ApiResponse>;

/** Serves function URL requests (src/urls), which share the API's port. */
export interface FunctionUrlHandler {
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
}

export interface HttpServerOptions {
  /** AWS query-protocol requests (SQS). */
  queryApi?: QueryHandler;
  /** Function URL requests. */
  functionUrls?: FunctionUrlHandler;
  /** Tells connections from execution environments apart (src/api/callers.ts); without it every caller may call everything. */
  environments?: EnvironmentCheck;
}

/**
 * Kumo's HTTP server: node:http with a small segment router, no framework, because Invoke goes
 * through here. Every response carries `x-amzn-RequestId`; every error goes through `errorResponse`.
 */
export function createHttpServer(routes: readonly Route[], targets: TargetHandler, log: ServerLog, options: HttpServerOptions = {}): http.Server {
  const router = new Router(routes);
  const { functionUrls } = options;
  const gate = options.environments ? new CallerGate(options.environments) : undefined;
  const api: Api = { router, targets, queryApi: options.queryApi, gate, log };
  const server = http.createServer({ keepAlive: true, noDelay: true, requestTimeout: 0 }, (req, res) => {
    // Function URLs first: a Host of `<id>.lambda-url.<region>.localhost`, or a `/_kumo/url/` path.
    if (functionUrls && isFunctionUrlRequest(req)) {
      functionUrls.handle(req, res);
      return;
    }
    const requestId = crypto.randomUUID();
    handle(api, req, res, requestId).then(
      (response) => send(res, requestId, response),
      (err: unknown) =>
        send(
          res,
          requestId,
          errorResponse(err, 'rest-json', (e) => log.error({ err: e }, 'unhandled error')),
        ),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

/** One substring test per request: the API's hot path stays as it was. */
function isFunctionUrlRequest(req: http.IncomingMessage): boolean {
  const host = req.headers.host;
  return (host !== undefined && host.includes('.lambda-url.')) || (req.url?.startsWith('/_kumo/url/') ?? false);
}

interface Api {
  router: Router;
  targets: TargetHandler;
  queryApi: QueryHandler | undefined;
  gate: CallerGate | undefined;
  log: ServerLog;
}

async function handle(api: Api, req: http.IncomingMessage, res: http.ServerResponse, requestId: string): Promise<ApiResponse> {
  const { router, targets, queryApi, gate, log } = api;
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
  const method = req.method ?? 'GET';
  const origin = `http://${req.headers.host ?? 'localhost'}`;
  const target = req.headers['x-amz-target'];
  let protocol: ErrorProtocol = 'rest-json';
  try {
    if (typeof target === 'string' && method === 'POST' && (path === '/' || path === '')) {
      protocol = target.startsWith('AmazonSQS.') ? 'sqs-json' : 'json';
      if (gate && !(protocol === 'sqs-json' && sqsActionForEnvironments(target.slice('AmazonSQS.'.length)))) {
        await gate.refuseEnvironment(req, target);
      }
      const body = await readBody(req, MAX_REQUEST_BODY, () => new KumoError('RequestEntityTooLargeException', 'Request too large'));
      const signal = protocol === 'sqs-json' ? hangUpSignal(res) : undefined;
      const answer = targets(target, {
        method,
        path,
        query,
        headers: req.headers,
        body,
        requestId,
        params: {},
        origin,
        ...(signal ? { signal } : {}),
      });
      if (!answer) throw new KumoError('UnknownOperationException', `Unknown operation ${target}`);
      return await answer;
    }
    if (queryApi && isQueryRequest(method, path, req.headers['content-type'], query)) {
      protocol = 'sqs-query';
      const body = await readBody(req, MAX_REQUEST_BODY);
      if (gate) {
        const action = query.get('Action') ?? new URLSearchParams(body.toString('utf8')).get('Action');
        if (!sqsActionForEnvironments(action)) await gate.refuseEnvironment(req, `SQS ${action ?? '(no Action)'}`);
      }
      return await queryApi({ method, path, query, headers: req.headers, body, requestId, params: {}, origin, signal: hangUpSignal(res) });
    }
    const match = router.match(method, path);
    if (match === undefined || match === 'method') {
      req.resume();
      throw new KumoError('UnknownOperationException', `Unknown operation ${method} ${path}`);
    }
    const { route, params } = match;
    if (gate && !route.fromEnvironments) await gate.refuseEnvironment(req, `${method} ${path}`);
    const body = await readBody(req, route.maxBody ?? MAX_REQUEST_BODY, route.tooLarge);
    return await route.handler({ method, path, query, headers: req.headers, body, requestId, params, origin });
  } catch (err) {
    return errorResponse(err, protocol, (e) => log.error({ err: e, method, path }, 'unhandled error'), requestId);
  }
}

/**
 * A query-protocol request: a form-encoded POST, or `Action` in the URL's query string, to `/` or
 * to a queue URL's path (`/<account id>/<queue name>`). Other paths stay Lambda's, whatever their
 * content type (curl sends form-encoded by default).
 */
function isQueryRequest(method: string, path: string, contentType: string | undefined, query: URLSearchParams): boolean {
  if (path !== '/' && path !== '' && !/^\/\d{12}\/[^/]+\/?$/.test(path)) return false;
  if (method === 'POST' && contentType?.startsWith('application/x-www-form-urlencoded')) return true;
  return query.has('Action');
}

/** Aborts when the client goes away before its answer is sent (SQS long polls stop waiting). */
function hangUpSignal(res: http.ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

function send(res: http.ServerResponse, requestId: string, r: ApiResponse): void {
  let body: Buffer | undefined;
  const headers: Record<string, string | number> = { 'x-amzn-RequestId': requestId, ...r.headers };
  if (r.stream) {
    res.writeHead(r.status, headers);
    // An error part-way can only cut the response short: its status and headers are gone.
    pipeline(r.stream, res, (err) => {
      if (err) res.destroy();
    });
    return;
  }
  if (Buffer.isBuffer(r.body)) body = r.body;
  else if (r.body !== undefined) {
    body = Buffer.from(JSON.stringify(r.body));
    if (!('Content-Type' in headers)) headers['Content-Type'] = 'application/json';
  }
  headers['Content-Length'] = body?.length ?? 0;
  res.writeHead(r.status, headers);
  res.end(body);
}

async function readBody(req: http.IncomingMessage, limit: number, tooLarge?: () => KumoError): Promise<Buffer> {
  const body = await readBodyUpTo(req, limit);
  if (body === undefined) {
    throw tooLarge ? tooLarge() : new KumoError('RequestEntityTooLargeException', `Request must be smaller than ${limit} bytes`);
  }
  return body;
}
