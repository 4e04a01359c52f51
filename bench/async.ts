/**
 * `node dist/bench/async.js`: how many asynchronous invocations Kumo accepts per second, durably
 * (each 202 follows a commit that reached the disk), and the enqueue latency a client sees.
 *
 * The server runs as its own process (`bin/kumo.js server`). The client is a minimal HTTP/1.1
 * client on raw keep-alive sockets (one request in flight per socket), so that on a 2-core machine
 * the load generator takes as little CPU from the server as it can. Latency is from writing the
 * request to reading the whole 202. Writes bench/results/async.json.
 *
 * Options: --endpoint=http://... (a running server instead of a new one) --clients=64 --seconds=5 --payload=100 (bytes of JSON) --dispatch=both|hold|run
 * (`hold`: the function has reserved concurrency 1 and a handler that sleeps, so the backlog
 * builds up and the figure is the queue's alone; `run`: a hello-world handler drains it meanwhile;
 * `both`, the default: one after the other, each on a new server).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { zipEntries } from '../src/code/index.js';
import { percentile, sendJson } from './http.js';
import { ROOT, startServer, stopServer } from './server.js';

const arg = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const CLIENTS = Number(arg('clients', '64'));
const SECONDS = Number(arg('seconds', '5'));
const PAYLOAD_BYTES = Number(arg('payload', '100'));
const DISPATCH = arg('dispatch', 'both');
const WARMUP_MS = 1000;

/** One keep-alive connection sending the same Invoke (Event) over and over, one at a time. */
class RawClient {
  private socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private sentAt = 0;
  stopped = false;
  readonly latencies: number[] = [];
  accepted = 0;
  /** Every 202, warm-up included. */
  total = 0;
  errors = 0;

  constructor(
    url: URL,
    private readonly request: Buffer,
    private readonly recordAfter: number,
  ) {
    this.socket = net.connect(Number(url.port), url.hostname);
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => this.send());
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (err) => {
      if (!this.stopped) throw err;
    });
  }

  private send(): void {
    if (this.stopped) {
      this.socket.end();
      return;
    }
    this.sentAt = performance.now();
    this.socket.write(this.request);
  }

  private onData(d: Buffer): void {
    this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString('latin1');
      const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buffer.length < end + 4 + length) return;
      this.buffer = this.buffer.subarray(end + 4 + length);
      const now = performance.now();
      if (head.startsWith('HTTP/1.1 202')) {
        this.total++;
        if (now >= this.recordAfter) {
          this.accepted++;
          this.latencies.push(now - this.sentAt);
        }
      } else this.errors++;
      this.send();
    }
  }
}

type Mode = 'hold' | 'run';

/** One measurement against a new function: `hold` keeps the queue growing, `run` drains it meanwhile. */
async function measure(url: URL, mode: Mode): Promise<Record<string, unknown>> {
  const fnName = `async-bench-${mode}-${Date.now().toString(36)}`;
  const handler =
    mode === 'hold'
      ? 'export const handler = async () => { await new Promise((r) => setTimeout(r, 60000)); };'
      : 'export const handler = async (event) => ({ ok: true, n: event.n ?? 0 });';
  const zip = await zipEntries([{ name: 'index.mjs', content: handler }]);
  await sendJson(
    url,
    'POST',
    '/2015-03-31/functions',
    {
      FunctionName: fnName,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: 'arn:aws:iam::000000000000:role/bench',
      MemorySize: 1769,
      Timeout: 900,
      Code: { ZipFile: zip.toString('base64') },
    },
    201,
  );
  if (mode === 'hold') await sendJson(url, 'PUT', `/2017-10-31/functions/${fnName}/concurrency`, { ReservedConcurrentExecutions: 1 }, 200);

  const payload = Buffer.from(JSON.stringify({ n: 1, pad: 'x'.repeat(Math.max(0, PAYLOAD_BYTES - 20)) }));
  const request = Buffer.concat([
    Buffer.from(
      `POST /2015-03-31/functions/${fnName}/invocations HTTP/1.1\r\nHost: ${url.host}\r\n` +
        `X-Amz-Invocation-Type: Event\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`,
    ),
    payload,
  ]);
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const clients = Array.from({ length: CLIENTS }, () => new RawClient(url, request, measureFrom));
  await new Promise((r) => setTimeout(r, WARMUP_MS + SECONDS * 1000));
  const elapsed = (performance.now() - measureFrom) / 1000;
  const wall = (performance.now() - start) / 1000;
  for (const c of clients) c.stopped = true;
  await new Promise((r) => setTimeout(r, 200));
  const pendingAnswer = await sendJson(url, 'GET', `/_kumo/functions/${fnName}/pending-events`, undefined, 200);
  const pending = JSON.parse(pendingAnswer.body.toString()) as { Count: number };

  const latencies = clients.flatMap((c) => c.latencies).sort((a, b) => a - b);
  const accepted = clients.reduce((n, c) => n + c.accepted, 0);
  const total = clients.reduce((n, c) => n + c.total, 0);
  return {
    dispatch: mode,
    acceptedPerSecond: Math.round(accepted / elapsed),
    enqueueLatencyMs: {
      p50: round(percentile(latencies, 50)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? NaN),
    },
    /** Events that ran (and left the queue) while the load went on, per second. */
    drainedPerSecond: Math.round((total - pending.Count) / wall),
    errors: clients.reduce((n, c) => n + c.errors, 0),
  };
}

async function main(): Promise<void> {
  const endpoint = arg('endpoint', '');
  const modes: Mode[] = DISPATCH === 'both' ? ['hold', 'run'] : [DISPATCH === 'hold' ? 'hold' : 'run'];
  const runs: Array<Record<string, unknown>> = [];
  for (const mode of modes) {
    // A server per mode, so that one's backlog does not weigh on the other.
    const server = endpoint ? undefined : await startServer('kumo-bench-async-');
    try {
      runs.push(await measure(server?.url ?? new URL(endpoint), mode));
    } finally {
      if (server) await stopServer(server);
    }
  }
  const result = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    clients: CLIENTS,
    seconds: SECONDS,
    payloadBytes: PAYLOAD_BYTES,
    runs,
  };
  console.log(JSON.stringify(result, null, 2));
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/async.json'), JSON.stringify(result, null, 2) + '\n');
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

await main();
