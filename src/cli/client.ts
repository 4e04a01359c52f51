import type { Command } from 'commander';
import { UsageError } from './output.js';

/**
 * The CLI's only way to the server: `fetch` against Kumo's Lambda and CloudWatch Logs HTTP APIs.
 * No AWS SDK, so the CLI starts fast and installs light. Failures come out as two error kinds:
 * `ApiError` (the server answered with an error: its Lambda/Logs type and message) and
 * `ConnectionError` (nothing answered at the endpoint).
 */

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:9001';

/** An error response from Kumo, e.g. `ResourceNotFoundException: Function not found: arn:...`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly type: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Nothing is listening at the endpoint (or the host does not resolve). */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

export interface RequestOptions {
  /** Sent as JSON (Content-Type application/json unless `headers` says otherwise). */
  json?: unknown;
  /** Sent as is. */
  body?: Buffer;
  headers?: Record<string, string>;
  query?: Record<string, string | undefined>;
  signal?: AbortSignal;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

export class KumoClient {
  readonly endpoint: string;

  constructor(endpoint: string) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`invalid endpoint URL: ${endpoint}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`endpoint must be an http(s) URL: ${endpoint}`);
    this.endpoint = endpoint.replace(/\/+$/, '');
  }

  /** One HTTP exchange; a non-2xx answer throws ApiError. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const headers: Record<string, string> = { ...options.headers };
    let body: Buffer | string | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['Content-Type'] ??= 'application/json';
    }
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query.set(k, v);
    const qs = query.size > 0 ? `?${query.toString()}` : '';
    let res: Response;
    try {
      res = await fetch(`${this.endpoint}${path}${qs}`, { method, headers, body, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      const code = causeCode(err);
      if (code !== undefined && CONNECTION_CODES.has(code)) {
        throw new ConnectionError(
          `cannot reach Kumo at ${this.endpoint} (${code}): is \`kumo server\` running at ${this.endpoint}? (set --endpoint or KUMO_ENDPOINT)`,
        );
      }
      throw err;
    }
    const out = { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
    if (res.status >= 400) throw apiError(out);
    return out;
  }

  /** A Lambda REST-JSON call; resolves to the parsed JSON body (undefined when there is none). */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, options);
    return (res.body.length === 0 ? undefined : JSON.parse(res.body.toString('utf8'))) as T;
  }

  /** An SQS JSON 1.0 call, e.g. `sqs('ListQueues', {})`. */
  sqs<T>(operation: string, input: object): Promise<T> {
    return this.json<T>('POST', '/', {
      json: input,
      headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AmazonSQS.${operation}` },
    });
  }

  /** A CloudWatch Logs JSON 1.1 call, e.g. `logs('FilterLogEvents', {...})`. */
  logs<T>(operation: string, input: object, signal?: AbortSignal): Promise<T> {
    return this.json<T>('POST', '/', {
      json: input,
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `Logs_20140328.${operation}` },
      ...(signal ? { signal } : {}),
    });
  }
}

/** The client for the `--endpoint` (or KUMO_ENDPOINT) a command was given. */
export function clientOf(cmd: Command): KumoClient {
  const { endpoint } = cmd.optsWithGlobals<{ endpoint?: string }>();
  return new KumoClient(endpoint ?? DEFAULT_ENDPOINT);
}

/** `/2015-03-31/functions/<name>` with the name escaped (names may be ARNs with colons). */
export function functionPath(name: string, suffix = ''): string {
  return `/2015-03-31/functions/${encodeURIComponent(name)}${suffix}`;
}

function apiError(res: RawResponse): ApiError {
  // X-Amzn-ErrorType may carry a ":<url>" suffix; JSON-protocol bodies say "__type" (maybe "ns#Type").
  let type = res.headers.get('x-amzn-errortype')?.split(':')[0];
  let message: string | undefined;
  try {
    const body = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    const m = body.message ?? body.Message;
    if (typeof m === 'string') message = m;
    if (!type && typeof body.__type === 'string') type = body.__type.split('#').pop();
  } catch {
    // Not JSON: fall back to the raw text below.
  }
  return new ApiError(type || `HTTP ${res.status}`, message ?? (res.body.toString('utf8').trim() || `HTTP ${res.status}`), res.status);
}

function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    // AggregateError (e.g. both IPv4 and IPv6 refused) keeps the codes in `errors`.
    if (e instanceof AggregateError) {
      const inner = (e.errors as unknown[]).map((x) => (x as { code?: unknown }).code).find((c) => typeof c === 'string');
      if (typeof inner === 'string') return inner;
    }
  }
  return undefined;
}
