import type http from 'node:http';
import type { Readable } from 'node:stream';
import { KumoError } from '../errors/index.js';

/** A parsed API request as route handlers see it. */
export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** x-amzn-RequestId of this request (also the invocation's request id for Invoke). */
  requestId: string;
  /** Path parameters captured by the route pattern, URL-decoded. */
  params: Record<string, string>;
  /** `http://host:port` the client used, for URLs Kumo hands back. */
  origin: string;
  /** Aborted when the client hangs up before the answer (set for SQS requests, which may long-poll). */
  signal?: AbortSignal;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string | number>;
  /** A Buffer is sent as is; anything else as JSON; undefined sends no body. */
  body?: unknown;
  /**
   * A body sent as it is produced, each chunk as soon as it is read (chunked transfer coding, no
   * Content-Length), instead of `body`. Destroyed when the client goes away before its end.
   */
  stream?: Readable;
}

export type Handler = (req: ApiRequest) => Promise<ApiResponse> | ApiResponse;

export interface Route {
  method: string;
  /** Path pattern: literal segments and `{name}` captures, e.g. `/2015-03-31/functions/{FunctionName}`. */
  pattern: string;
  handler: Handler;
  /** Largest body accepted, in bytes (the error for larger ones is the route's `tooLarge`). */
  maxBody?: number;
  tooLarge?: () => KumoError;
  /** Execution environments may call it (src/api/callers.ts); others answer them AccessDeniedException. */
  fromEnvironments?: boolean;
}

export function json(status: number, body: unknown, headers?: Record<string, string | number>): ApiResponse {
  return headers ? { status, body, headers } : { status, body };
}

export function header(req: ApiRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Parses a JSON request body (an empty body is `{}`); malformed JSON is Lambda's InvalidRequestContentException. */
export function jsonBody(req: ApiRequest): unknown {
  if (req.body.length === 0) return {};
  try {
    return JSON.parse(req.body.toString('utf8'));
  } catch (err) {
    throw new KumoError(
      'InvalidRequestContentException',
      `Could not parse request body into json: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
