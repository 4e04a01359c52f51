import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A one-shot signal a handler waits for with an HTTP request; the test answers it by calling `release`. */
export async function signalServer(): Promise<{ url: string; requested: Promise<void>; release: () => void; close: () => Promise<void> }> {
  let onRequest!: () => void;
  const requested = new Promise<void>((resolve) => (onRequest = resolve));
  const waiting: http.ServerResponse[] = [];
  let released = false;
  const server = http.createServer((_req, res) => {
    onRequest();
    if (released) res.end('go');
    else waiting.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/go`,
    requested,
    release: () => {
      released = true;
      for (const res of waiting.splice(0)) res.end('go');
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
