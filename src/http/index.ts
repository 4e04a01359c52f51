import type http from 'node:http';

/**
 * HTTP plumbing shared by Kumo's two kinds of HTTP request: the APIs (src/api) and function URLs
 * (src/urls), which share one port.
 */

const EMPTY = Buffer.alloc(0);

/**
 * A request's whole body, or undefined when it is larger than `limit` bytes: by its Content-Length
 * before any byte is read, or by what arrives (the rest is read and dropped, so that the connection
 * can answer and stay open).
 */
export function readBodyUpTo(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  if (declared === 0 && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.once('end', () => {
      if (size > limit) resolve(undefined);
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.once('error', reject);
  });
}
