import type { UrlCors } from '../store/index.js';
import type { UrlResponse } from './response.js';

/**
 * CORS as Lambda applies a function URL's configuration. A preflight (OPTIONS with `Origin` and
 * `Access-Control-Request-Method`) is answered by Kumo without invoking the function; other
 * responses get `Access-Control-Allow-Origin` (and Allow-Credentials, Expose-Headers) when the
 * request's Origin is allowed, replacing any the function set itself. An origin or method that
 * is not allowed gets no CORS headers, so the browser refuses the response.
 */
export function isPreflight(method: string, headers: Record<string, string>): boolean {
  return method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined;
}

export function preflightResponse(cors: UrlCors, headers: Record<string, string>): UrlResponse {
  const out: Array<[string, string]> = [];
  const origin = headers.origin ?? '';
  const method = (headers['access-control-request-method'] ?? '').toUpperCase();
  const methods = cors.AllowMethods ?? [];
  const methodAllowed = methods.some((m) => m === '*' || m.toUpperCase() === method);
  const allowOrigin = allowedOrigin(cors, origin);
  if (allowOrigin !== undefined && methodAllowed) {
    out.push(['access-control-allow-origin', allowOrigin]);
    out.push(['access-control-allow-methods', methods.join(',')]);
    if (cors.AllowHeaders && cors.AllowHeaders.length > 0) out.push(['access-control-allow-headers', cors.AllowHeaders.join(',')]);
    if (cors.ExposeHeaders && cors.ExposeHeaders.length > 0) out.push(['access-control-expose-headers', cors.ExposeHeaders.join(',')]);
    if (cors.AllowCredentials === true) out.push(['access-control-allow-credentials', 'true']);
    if (cors.MaxAge !== undefined) out.push(['access-control-max-age', String(cors.MaxAge)]);
  }
  out.push(['vary', 'Origin']);
  return { status: 200, headers: out, body: Buffer.alloc(0) };
}

/** Adds the configured CORS headers to a function's response when the request's Origin is allowed. */
export function withCorsHeaders(response: UrlResponse, cors: UrlCors, origin: string | undefined): UrlResponse {
  if (origin === undefined) return response;
  const allowOrigin = allowedOrigin(cors, origin);
  if (allowOrigin === undefined) return response;
  const added: Array<[string, string]> = [['access-control-allow-origin', allowOrigin]];
  if (cors.AllowCredentials === true) added.push(['access-control-allow-credentials', 'true']);
  if (cors.ExposeHeaders && cors.ExposeHeaders.length > 0) added.push(['access-control-expose-headers', cors.ExposeHeaders.join(',')]);
  const replaced = new Set(added.map(([name]) => name));
  const kept = response.headers.filter(([name]) => !replaced.has(name.toLowerCase()));
  return { ...response, headers: [...kept, ...added, ['vary', 'Origin']] };
}

/** The Access-Control-Allow-Origin value for `origin`: `*` for a wildcard (the origin itself when credentials are allowed), else the origin when listed. */
function allowedOrigin(cors: UrlCors, origin: string): string | undefined {
  const origins = cors.AllowOrigins ?? [];
  if (origins.includes('*')) return cors.AllowCredentials === true ? origin : '*';
  const wanted = origin.toLowerCase();
  return origins.some((o) => o.toLowerCase() === wanted) ? origin : undefined;
}
