import crypto from 'node:crypto';
import type http from 'node:http';
import { isKumoError } from '../errors/index.js';
import { readBodyUpTo } from '../http/index.js';
import type { Readable } from 'node:stream';
import {
  MAX_SYNC_PAYLOAD,
  readHttpPrelude,
  type FunctionService,
  type StreamCompletion,
  type StreamInvokeResult,
} from '../functions/index.js';
import type { FunctionUrlRecord } from '../store/index.js';
import { isPreflight, preflightResponse, withCorsHeaders } from './cors.js';
import { buildEvent, joinHeaders, type IamCaller, type UrlRequest } from './event.js';
import { isSendableStatus, mapResponse, sendableHeaders, type UrlResponse } from './response.js';
import type { FunctionUrls } from './service.js';
import { verifySigV4, type Credentials } from './sigv4.js';

export interface UrlGatewayDeps {
  urls: FunctionUrls;
  functions: FunctionService;
  /** What AWS_IAM requests must be signed with. */
  credentials: Credentials;
  region: string;
  accountId: string;
  log: { error(obj: object, msg: string): void };
  now?: () => number;
}

const HOST_RE = /^([a-z0-9]{32})\.lambda-url\.([a-z0-9-]+)\.localhost\.?(?::\d+)?$/;
const PATH_RE = /^\/_kumo\/url\/([a-z0-9]{32})(\/.*)?$/;

/**
 * Serves function URLs on Kumo's own port. A request is a function URL request when its Host is
 * `<url-id>.lambda-url.<region>.localhost` (any port) or, for clients that cannot set Host, when
 * its path is `/_kumo/url/<url-id>/<path>`. It is answered as Lambda answers: CORS preflights by
 * Kumo, then AuthType (a SigV4 signature for AWS_IAM, the resource policy for NONE), then the
 * function invoked with the payload format 2.0 event and its result mapped to the response.
 */
export class UrlGateway {
  private readonly now: () => number;

  constructor(private readonly deps: UrlGatewayDeps) {
    this.now = deps.now ?? Date.now;
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const requestId = crypto.randomUUID();
    this.serve(req, requestId)
      .then((answer) => send(res, requestId, answer))
      .catch((err: unknown) => {
        // Nothing may escape: a rejection here would be unhandled, and end the server.
        this.deps.log.error({ err, url: req.url }, 'function URL request failed');
        if (res.headersSent) res.destroy();
        else send(res, requestId, message(500, 'Internal Server Error'));
      });
  }

  private async serve(req: http.IncomingMessage, requestId: string): Promise<UrlResponse> {
    const located = this.locate(req);
    const served = located && (await this.deps.urls.serving(located.urlId));
    if (!located || !served) {
      req.resume();
      return FORBIDDEN;
    }
    const url = served.url;
    const headers = joinHeaders(req.rawHeaders);
    const method = req.method ?? 'GET';
    if (url.cors && isPreflight(method, headers)) {
      req.resume();
      return preflightResponse(url.cors, headers);
    }
    const body = await readBodyUpTo(req, MAX_SYNC_PAYLOAD);
    if (!body) return message(413, `Request must be smaller than ${MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation`);
    const request: UrlRequest = {
      method,
      rawPath: located.rawPath,
      rawQuery: located.rawQuery,
      rawHeaders: req.rawHeaders,
      body,
      sourceIp: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      protocol: `HTTP/${req.httpVersion}`,
      localPort: req.socket.localPort ?? 0,
    };
    const now = this.now();
    let caller: IamCaller | undefined;
    if (url.authType === 'AWS_IAM') {
      const signed = { ...request, rawPath: located.signedPath };
      const verdict = await verifySigV4(signed, headers, { credentials: this.deps.credentials, region: this.deps.region, now });
      if (!verdict.ok) return message(403, verdict.message);
      caller = { accessKey: verdict.accessKeyId, accountId: this.deps.accountId };
    } else if (!served.publicAccess) {
      return FORBIDDEN;
    }
    const event = buildEvent(request, url, { domainName: this.deps.urls.domain(url.urlId), requestId, now, caller });
    const answer = await serveInvoke(this.deps.functions, url, Buffer.from(JSON.stringify(event)), requestId);
    return url.cors ? withCorsHeaders(answer, url.cors, headers.origin) : answer;
  }

  /** The URL id and the path after the URL's root; `signedPath` is the path as the client sent (and signed) it. */
  private locate(req: http.IncomingMessage): { urlId: string; rawPath: string; signedPath: string; rawQuery: string } | undefined {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
    const host = (req.headers.host ?? '').toLowerCase();
    if (host.includes('.lambda-url.')) {
      const m = HOST_RE.exec(host);
      if (!m?.[1] || m[2] !== this.deps.region) return undefined;
      return { urlId: m[1], rawPath: path, signedPath: path, rawQuery };
    }
    const m = PATH_RE.exec(path);
    if (!m?.[1]) return undefined;
    return { urlId: m[1], rawPath: m[2] ?? '/', signedPath: path, rawQuery };
  }
}

/**
 * Runs a function URL's invocation and maps its result to the HTTP answer. THE place where the
 * URL's InvokeMode matters: both go through FunctionService (so versions, aliases, concurrency and
 * logs behave as for Invoke). BUFFERED waits for the result and maps it as a payload 2.0 response;
 * RESPONSE_STREAM sends the status and headers of the handler's `HttpResponseStream.from` prelude
 * (or its Content-Type) as soon as it has written them, and then the body as it is written.
 */
export async function serveInvoke(
  functions: FunctionService,
  url: FunctionUrlRecord,
  payload: Buffer,
  requestId: string,
): Promise<UrlResponse> {
  const input = {
    functionName: url.functionName,
    qualifier: url.qualifier === '$LATEST' ? undefined : url.qualifier,
    payload,
    invocationType: 'RequestResponse' as const,
    wantTail: false,
    requestId,
  };
  try {
    if (url.invokeMode === 'RESPONSE_STREAM') return await serveStream(await functions.invokeStream(input));
    const result = await functions.invoke(input);
    const outcome = result.outcome;
    if (!outcome || outcome.functionError) return BAD_GATEWAY;
    return mapResponse(outcome.payload) ?? BAD_GATEWAY;
  } catch (err) {
    if (!isKumoError(err)) throw err;
    if (err.code === 'TooManyRequestsException') return message(429, 'Rate Exceeded.');
    if (err.code === 'RequestEntityTooLargeException') return message(413, err.message);
    if (err.code === 'ResourceNotFoundException') return FORBIDDEN;
    return BAD_GATEWAY;
  }
}

/**
 * RESPONSE_STREAM. A function that does not stream answers as in BUFFERED mode, once it has
 * returned. One that streams and fails before its first byte (or its prelude) answers 502; once
 * the status is sent, a failure can only cut the body short.
 */
async function serveStream(result: StreamInvokeResult): Promise<UrlResponse> {
  const response = result.response;
  if (!response) return BAD_GATEWAY;
  if (!response.streaming) {
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
    if ((await response.completion).error) return BAD_GATEWAY;
    return mapResponse(Buffer.concat(chunks)) ?? BAD_GATEWAY;
  }
  const prelude = await readHttpPrelude(response);
  if (prelude.statusCode === 502 || !(await startsBeforeFailing(prelude.body, prelude.completion))) {
    prelude.body.resume();
    return BAD_GATEWAY;
  }
  const headers = sendableHeaders([...Object.entries(prelude.headers), ...prelude.cookies.map((c): [string, string] => ['set-cookie', c])]);
  if (!headers || !isSendableStatus(prelude.statusCode)) {
    prelude.body.resume();
    return BAD_GATEWAY;
  }
  if (!headers.some(([name]) => name === 'content-type')) headers.unshift(['content-type', 'application/octet-stream']);
  return { status: prelude.statusCode, headers, body: Buffer.alloc(0), stream: prelude.body };
}

/** Whether the body has a byte to send or ends without the invocation failing. */
function startsBeforeFailing(body: Readable, completion: Promise<StreamCompletion>): Promise<boolean> {
  if (body.readableLength > 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReadable = (): void => {
      if (body.readableLength === 0 && !body.readableEnded) return;
      body.off('readable', onReadable);
      if (body.readableLength > 0) resolve(true);
      else void completion.then((c) => resolve(c.error === undefined));
    };
    body.on('readable', onReadable);
    body.once('end', () => void completion.then((c) => resolve(c.error === undefined)));
    void completion.then((c) => {
      if (body.readableLength === 0 && c.error !== undefined) resolve(false);
    });
  });
}

/** Lambda's answers of its own: `{"Message": ...}`, as JSON. */
function message(status: number, text: string): UrlResponse {
  return { status, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify({ Message: text })) };
}

const FORBIDDEN = message(403, 'Forbidden');
/** A function error, or a result that is not a response: Lambda answers 502 with this text. */
const BAD_GATEWAY: UrlResponse = {
  status: 502,
  headers: [['content-type', 'application/json']],
  body: Buffer.from('Internal Server Error'),
};

function send(res: http.ServerResponse, requestId: string, answer: UrlResponse): void {
  const flat: string[] = [];
  for (const [name, value] of answer.headers) flat.push(name, value);
  flat.push('x-amzn-RequestId', requestId);
  const stream = answer.stream;
  if (!stream) {
    res.writeHead(answer.status, [...flat, 'content-length', String(answer.body.length)]);
    res.end(answer.body);
    return;
  }
  res.writeHead(answer.status, flat);
  res.flushHeaders();
  const forward = (chunk: Buffer): void => {
    if (!res.write(chunk)) stream.pause();
  };
  stream.on('data', forward);
  res.on('drain', () => stream.resume());
  stream.once('end', () => res.end());
  stream.once('error', () => res.destroy());
  res.once('close', () => {
    // The client left: the invocation runs on, and what it still writes is drained unread.
    stream.off('data', forward);
    if (!stream.readableEnded) stream.resume();
  });
  stream.resume();
}
