import http from 'node:http';

/** The benchmarks' keep-alive agent: figures are Kumo's, not connection setup's. */
export const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request to Kumo over loopback (JSON unless `headers` says otherwise). */
export function send(
  url: URL,
  method: string,
  pathname: string,
  body?: Buffer,
  headers: Record<string, string | number> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: pathname,
        agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': body?.length ?? 0, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `send` with a JSON body; throws unless the status is `expect`. */
export async function sendJson(url: URL, method: string, pathname: string, input: unknown, expect: number): Promise<Answer> {
  const res = await send(url, method, pathname, input === undefined ? undefined : Buffer.from(JSON.stringify(input)));
  if (res.status !== expect) throw new Error(`${method} ${pathname}: ${res.status} ${res.body.toString()}`);
  return res;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export function summary(samples: readonly number[]): { p50: number; p99: number; mean: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    n: samples.length,
  };
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
