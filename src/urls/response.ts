import http from 'node:http';
import type { Readable } from 'node:stream';

/** An HTTP answer of a function URL: headers as ordered name/value pairs (Set-Cookie may repeat). */
export interface UrlResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
  /** RESPONSE_STREAM: the body as the function streams it, sent chunked after `body` (then empty). */
  stream?: Readable;
}

/**
 * Maps a function's result to the HTTP response, as Lambda does for function URLs (payload format
 * 2.0): a JSON object with `statusCode` gives the status, `headers`, `cookies` (one `Set-Cookie`
 * each) and `body` (base64-decoded when `isBase64Encoded`), with `content-type: application/json`
 * unless the function set one; any other JSON (a string, a number, an object without
 * `statusCode`) is the body of a 200 as is, `content-type: application/json`. Undefined when the
 * result is not a well-formed response (Lambda answers 502).
 */
export function mapResponse(payload: Buffer): UrlResponse | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(value) || !('statusCode' in value)) {
    return { status: 200, headers: [['content-type', 'application/json']], body: payload };
  }
  const status = typeof value.statusCode === 'string' ? Number(value.statusCode) : value.statusCode;
  if (!isSendableStatus(status)) return undefined;
  const given: Array<[string, string]> = [];
  if (value.headers !== undefined && value.headers !== null) {
    if (!isRecord(value.headers)) return undefined;
    for (const [name, v] of Object.entries(value.headers)) {
      if (v === null || v === undefined) continue;
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return undefined;
      given.push([name, String(v)]);
    }
  }
  const headers = sendableHeaders(given);
  if (!headers) return undefined;
  if (!headers.some(([name]) => name.toLowerCase() === 'content-type')) headers.unshift(['content-type', 'application/json']);
  if (value.cookies !== undefined && value.cookies !== null) {
    if (!Array.isArray(value.cookies)) return undefined;
    const cookies = sendableHeaders((value.cookies as unknown[]).map((cookie) => ['set-cookie', String(cookie)]));
    if (!cookies) return undefined;
    headers.push(...cookies);
  }
  let body: Buffer;
  const raw = value.body;
  if (raw === undefined || raw === null) body = Buffer.alloc(0);
  else if (typeof raw === 'string') body = value.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  else body = Buffer.from(JSON.stringify(raw), 'utf8');
  return { status, headers, body };
}

/** A status Node can send and Lambda passes on. */
export function isSendableStatus(status: unknown): status is number {
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599;
}

/** Headers Kumo frames the response with itself: a function's own would contradict them (two lengths, a length and chunks). */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade']);

/**
 * A function's headers as they can go on the wire: values as their UTF-8 bytes, framing headers
 * left out. Undefined when a name is not an HTTP token or a value holds a control character (CR,
 * LF, NUL...): such a response cannot be sent, and Lambda answers 502.
 */
export function sendableHeaders(pairs: ReadonlyArray<readonly [string, string]>): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  for (const [name, value] of pairs) {
    const wire = Buffer.from(value, 'utf8').toString('latin1');
    try {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, wire);
    } catch {
      return undefined;
    }
    if (!FRAMING_HEADERS.has(name.toLowerCase())) out.push([name, wire]);
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
