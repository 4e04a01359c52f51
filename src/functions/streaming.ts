import { Readable } from 'node:stream';
import type { InvokeOutcome } from '../engine/index.js';

/**
 * Streamed invocations, as InvokeWithResponseStream and function URLs in RESPONSE_STREAM mode see
 * them: the function's response as a Readable of chunks that arrive as the function writes them,
 * then how the invocation ended. See docs/streaming.md.
 */

/** The Content-Type `awslambda.HttpResponseStream.from` sets: a JSON prelude, 8 NUL bytes, then the body. */
export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
/** What a function that does not stream answers with (its whole payload, as one chunk). */
export const BUFFERED_CONTENT_TYPE = 'application/json';
/** Longest prelude read before its delimiter (Lambda does not say; function URL headers are far smaller). */
export const MAX_PRELUDE_BYTES = 64 * 1024;
const PRELUDE_DELIMITER = Buffer.alloc(8);

export interface ResponseStream {
  /**
   * The response's Content-Type: the one the function streamed with (`application/octet-stream`
   * unless it set another; HTTP_INTEGRATION_CONTENT_TYPE after `HttpResponseStream.from`), or
   * `application/json` for a function that does not stream.
   */
  contentType: string;
  /** The function streams; false: its whole payload comes as one chunk once it has returned. */
  streaming: boolean;
  /** The response's bytes as they arrive. Ends when the invocation ends, whether it failed or not. */
  body: Readable;
  /** Settles once the invocation has ended, after the body's last chunk. Never rejects. */
  completion: Promise<StreamCompletion>;
}

export interface StreamCompletion {
  /** Set when the function failed: before or while streaming, by timeout, crash or a response over the limit. */
  error: StreamError | undefined;
  /** The invocation's log lines, when a tail was asked for. */
  logLines: string[] | undefined;
  durationMs: number;
}

export interface StreamError {
  /** Lambda's error type: the runtime's (`Error`, `TypeError`, ...) or the platform's (`Sandbox.Timedout`, `Runtime.ExitError`, ...). */
  type: string;
  /** The error document's `errorMessage` (the whole document when it has none). */
  message: string;
  /** The error document as the runtime posted it (`{errorType, errorMessage, trace}`). */
  document: Buffer;
}

/** What `awslambda.HttpResponseStream.from(stream, prelude)` said about the HTTP response. */
export interface HttpPrelude {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
}

export interface HttpResponseStreamResult extends HttpPrelude {
  /** The body after the prelude and its delimiter. */
  body: Readable;
  completion: Promise<StreamCompletion>;
}

/**
 * The sink an invocation streams into, and the ResponseStream its caller reads. `begin` resolves
 * with the Content-Type once the function starts streaming.
 */
export class StreamCollector {
  readonly body = new Readable({ read: () => undefined });
  readonly begin: Promise<string>;
  private started: ((contentType: string) => void) | undefined;

  constructor() {
    this.begin = new Promise<string>((resolve) => (this.started = resolve));
  }

  readonly sink = {
    start: (contentType: string): void => this.started?.(contentType),
    write: (chunk: Buffer): void => {
      this.body.push(chunk);
    },
  };

  /** The invocation ended: a function that did not stream has its whole payload sent now; the body ends. */
  finish(outcome: InvokeOutcome): StreamCompletion {
    const error = outcome.functionError === undefined ? undefined : streamError(outcome.errorType, outcome.payload);
    if (!outcome.streamed && !error && outcome.payload.length > 0) this.body.push(outcome.payload);
    this.body.push(null);
    return { error, logLines: outcome.logLines, durationMs: outcome.durationMs };
  }

  /** The host failed the invocation after it began (not the function): the body ends with a service error. */
  fail(err: unknown): StreamCompletion {
    this.body.push(null);
    const message = err instanceof Error ? err.message : String(err);
    return {
      error: { type: 'ServiceException', message, document: Buffer.from(JSON.stringify({ errorMessage: message })) },
      logLines: undefined,
      durationMs: 0,
    };
  }
}

function streamError(type: string | undefined, document: Buffer): StreamError {
  let message = document.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(message);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed && typeof parsed.errorMessage === 'string')
      message = parsed.errorMessage;
  } catch {
    /* not JSON: the whole document is the message */
  }
  return { type: type ?? 'Unhandled', message, document };
}

/**
 * Reads the HTTP prelude a handler wrote through `awslambda.HttpResponseStream.from`: the JSON
 * object before the 8 NUL bytes. A response of another Content-Type has no prelude: it is a 200
 * with that Content-Type. A prelude that is not a JSON object (or runs past MAX_PRELUDE_BYTES
 * without its delimiter) gives a 502, as a function URL answers a malformed function response.
 * A response that ends before the delimiter is all prelude, with an empty body.
 */
export async function readHttpPrelude(response: ResponseStream): Promise<HttpResponseStreamResult> {
  const { body, completion } = response;
  if (response.contentType.split(';')[0]?.trim().toLowerCase() !== HTTP_INTEGRATION_CONTENT_TYPE) {
    return { statusCode: 200, headers: { 'content-type': response.contentType }, cookies: [], body, completion };
  }
  const { prelude, rest } = await splitPrelude(body);
  const parsed = prelude === undefined ? undefined : parsePrelude(prelude);
  if (!parsed) {
    rest.resume(); // drained: nothing of it is sent
    return { statusCode: 502, headers: { 'content-type': 'application/json' }, cookies: [], body: Readable.from([]), completion };
  }
  return { ...parsed, body: rest, completion };
}

function splitPrelude(body: Readable): Promise<{ prelude: Buffer | undefined; rest: Readable }> {
  return new Promise((resolve, reject) => {
    let seen: Buffer = Buffer.alloc(0);
    const done = (prelude: Buffer | undefined, rest: Readable): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', reject);
      resolve({ prelude, rest });
    };
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const at = seen.indexOf(PRELUDE_DELIMITER);
      if (at >= 0) {
        body.pause();
        const after = seen.subarray(at + PRELUDE_DELIMITER.length);
        if (after.length > 0) body.unshift(after);
        done(seen.subarray(0, at), body);
      } else if (seen.length > MAX_PRELUDE_BYTES) {
        body.pause();
        done(undefined, body);
      }
    };
    const onEnd = (): void => done(seen, Readable.from([]));
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', reject);
  });
}

function parsePrelude(raw: Buffer): HttpPrelude | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as { statusCode?: unknown; headers?: unknown; cookies?: unknown };
  const headers: Record<string, string> = {};
  if (v.headers && typeof v.headers === 'object') {
    for (const [name, h] of Object.entries(v.headers))
      if (typeof h === 'string' || typeof h === 'number') headers[name.toLowerCase()] = String(h);
  }
  const cookies = Array.isArray(v.cookies) ? v.cookies.filter((c): c is string => typeof c === 'string') : [];
  const statusCode = typeof v.statusCode === 'number' && Number.isInteger(v.statusCode) ? v.statusCode : 200;
  return { statusCode, headers, cookies };
}
