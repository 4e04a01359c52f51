import crypto from 'node:crypto';
import type { FunctionUrlRecord } from '../store/index.js';

/** An HTTP request to a function URL, as it arrived. */
export interface UrlRequest {
  method: string;
  /** The path after the URL's root, as sent (still percent-encoded), starting with `/`. */
  rawPath: string;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  /** Node's `rawHeaders`: names and values alternating, in arrival order. */
  rawHeaders: readonly string[];
  body: Buffer;
  sourceIp: string;
  /** `HTTP/1.1`. */
  protocol: string;
  /** The port the request came in on (for `x-forwarded-port`). */
  localPort: number;
}

/** Who signed an AWS_IAM request (`requestContext.authorizer.iam`). */
export interface IamCaller {
  accessKey: string;
  accountId: string;
}

/**
 * Lambda's payload format version 2.0 for a function URL request. Headers are lowercased and
 * repeated ones joined with commas; the `cookie` header becomes `cookies`; the body is text for
 * text content types and base64 for anything else (Lambda's split: `text/*`, `application/json`,
 * `application/javascript`, `application/xml`); members Lambda leaves out when empty (`cookies`,
 * `queryStringParameters`, `body`) are left out.
 */
export function buildEvent(
  req: UrlRequest,
  url: FunctionUrlRecord,
  context: { domainName: string; requestId: string; now: number; caller: IamCaller | undefined },
): Record<string, unknown> {
  const headers = joinHeaders(req.rawHeaders);
  const cookieHeader = headers.cookie;
  delete headers.cookie;
  headers['x-forwarded-for'] ??= req.sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-port'] ??= String(req.localPort);
  headers['x-amzn-trace-id'] ??= traceId(context.now);
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.rawPath,
    rawQueryString: req.rawQuery,
  };
  if (cookieHeader !== undefined) event.cookies = cookieHeader.split(/;\s*/).filter((c) => c !== '');
  event.headers = headers;
  const query = queryParameters(req.rawQuery);
  if (query) event.queryStringParameters = query;
  const requestContext: Record<string, unknown> = {
    accountId: context.caller ? context.caller.accountId : 'anonymous',
    apiId: url.urlId,
    authentication: null,
  };
  if (context.caller) {
    const { accessKey, accountId } = context.caller;
    requestContext.authorizer = {
      iam: {
        accessKey,
        accountId,
        callerId: accountId,
        cognitoIdentity: null,
        principalOrgId: null,
        userArn: `arn:aws:iam::${accountId}:root`,
        userId: accountId,
      },
    };
  }
  Object.assign(requestContext, {
    domainName: context.domainName,
    domainPrefix: url.urlId,
    http: {
      method: req.method,
      path: req.rawPath,
      protocol: req.protocol,
      sourceIp: req.sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: context.requestId,
    routeKey: '$default',
    stage: '$default',
    time: clfTime(context.now),
    timeEpoch: context.now,
  });
  event.requestContext = requestContext;
  if (req.body.length > 0) {
    const text = isTextContent(headers['content-type']);
    event.body = text ? req.body.toString('utf8') : req.body.toString('base64');
    event.isBase64Encoded = !text;
  } else {
    event.isBase64Encoded = false;
  }
  return event;
}

/** Lowercased names, repeated headers joined with `,` (as Lambda presents them). */
export function joinHeaders(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    const prior = out[name];
    out[name] = prior === undefined ? value : name === 'cookie' ? `${prior}; ${value}` : `${prior},${value}`;
  }
  return out;
}

/** Decoded query parameters, repeated ones joined with `,`; undefined when there are none. */
function queryParameters(rawQuery: string): Record<string, string> | undefined {
  if (rawQuery === '') return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    const prior = out[key];
    out[key] = prior === undefined ? value : `${prior},${value}`;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const TEXT_TYPES = new Set(['application/json', 'application/javascript', 'application/xml']);

/** Whether Lambda passes a body of this content type as text (else base64). No content type is binary. */
export function isTextContent(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return type.startsWith('text/') || TEXT_TYPES.has(type);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the time format of `requestContext.time`. */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()] ?? ''}/${d.getUTCFullYear()}:` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/** An X-Ray style trace id, `Root=1-<epoch seconds hex>-<24 hex>`. */
function traceId(now: number): string {
  return `Root=1-${Math.floor(now / 1000).toString(16)}-${crypto.randomBytes(12).toString('hex')}`;
}
