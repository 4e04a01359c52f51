import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CreateFunctionCommandInput, CreateFunctionCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { createNodeFunction } from './functions.js';

/** One report a function made to the collector. */
export interface Hit {
  /** The function's context.awsRequestId. */
  id: string;
  fn: string;
  event: unknown;
  /** Date.now() inside the function when it ran. */
  t: number;
}

/**
 * A tiny HTTP server on 127.0.0.1 that functions report to (`POST /hit` with a JSON `Hit`): the
 * sandbox shares the host's network, so this is how a test sees what ran, when and with which
 * request id. Use `RECORDER_SOURCE` as the function's code and set COLLECT to `url`.
 */
export class Collector {
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    readonly hits: Hit[],
  ) {}

  static async start(): Promise<Collector> {
    const hits: Hit[] = [];
    const server = http.createServer({ keepAlive: true }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          hits.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Hit);
          res.writeHead(204).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new Collector(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits);
  }

  of(fn: string): Hit[] {
    return this.hits.filter((h) => h.fn === fn);
  }

  byId(id: string): Hit[] {
    return this.hits.filter((h) => h.id === id);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A Node.js handler that reports every run to the collector, then: `{"fail": true}` throws,
 * `{"sleepMs": n}` waits, anything else returns `{"echo": event}`.
 */
export const RECORDER_SOURCE = `
import http from 'node:http';
const agent = new http.Agent({ keepAlive: true });
function report(body) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(process.env.COLLECT + '/hit', { method: 'POST', agent, headers: { 'Content-Length': data.length } }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(data);
  });
}
export const handler = async (event, context) => {
  await report({ id: context.awsRequestId, fn: context.functionName, event, t: Date.now() });
  if (event && event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  if (event && event.fail) throw new Error('failed on purpose: ' + (event.tag ?? ''));
  return { echo: event };
};
`;

/**
 * Creates a Node.js function running `RECORDER_SOURCE` that reports to `collector` (COLLECT is set);
 * `extra` adds to or overrides the CreateFunction input.
 */
export async function createRecorderFunction(
  lambda: LambdaClient,
  name: string,
  collector: Collector,
  extra: Partial<CreateFunctionCommandInput> = {},
): Promise<CreateFunctionCommandOutput> {
  const zip = await zipEntries([{ name: 'index.mjs', content: RECORDER_SOURCE }]);
  return createNodeFunction(lambda, name, zip, { Environment: { Variables: { COLLECT: collector.url } }, ...extra });
}
