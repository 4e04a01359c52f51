/**
 * `npm run bench`: Kumo's invoke path, measured through the Invoke API over loopback.
 *
 * The server runs as its own process (`bin/kumo.js server`), as a user runs it; the client is a
 * plain keep-alive HTTP client in this process, so the figures are Kumo's, not an SDK's. Prints a
 * table and writes bench/results/latest.json. `--update-readme` rewrites the README's table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { zipEntries } from '../src/code/index.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ROLE = 'arn:aws:iam::000000000000:role/bench';
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

interface Runtime {
  label: string;
  runtime: string;
  handler: string;
  files: Array<{ name: string; content: string }>;
}

const RUNTIMES: Runtime[] = [
  {
    label: 'Node.js 20',
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    files: [{ name: 'index.mjs', content: "export const handler = async (event) => ({ statusCode: 200, body: 'hello ' + (event.name ?? 'world') });\n" }],
  },
  {
    label: 'Python 3.12',
    runtime: 'python3.12',
    handler: 'app.handler',
    files: [{ name: 'app.py', content: "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hello ' + event.get('name', 'world')}\n" }],
  },
];

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const COLD_SAMPLES = QUICK ? 5 : 30;
const WARM_SAMPLES = QUICK ? 300 : 3000;
const THROUGHPUT_MS = QUICK ? 1000 : 4000;
/** MemorySize of the benchmark functions; CPU is proportional to it (1,769 MB = 1 vCPU), as on Lambda. */
const MEMORY_MB = Number(process.argv.find((a) => a.startsWith('--memory='))?.slice('--memory='.length) ?? 1769);

interface Server {
  url: URL;
  child: ChildProcess;
  dataDir: string;
}

async function startServer(): Promise<Server> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-bench-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/kumo.js'), 'server', '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, KUMO_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Kumo is running at (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(new URL(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`kumo server exited with ${code}`)));
  });
  child.stdout?.resume();
  return { url, child, dataDir };
}

function request(url: URL, method: string, pathname: string, body?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: pathname, agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body?.length ?? 0 } },
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

async function createFunction(server: Server, name: string, rt: Runtime): Promise<void> {
  const zip = await zipEntries(rt.files);
  const body = Buffer.from(
    JSON.stringify({ FunctionName: name, Runtime: rt.runtime, Handler: rt.handler, Role: ROLE, MemorySize: MEMORY_MB, Code: { ZipFile: zip.toString('base64') } }),
  );
  const res = await request(server.url, 'POST', '/2015-03-31/functions', body);
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${res.body.toString()}`);
}

const PAYLOAD = Buffer.from('{"name":"bench"}');

async function invoke(server: Server, name: string): Promise<void> {
  const res = await request(server.url, 'POST', `/2015-03-31/functions/${name}/invocations`, PAYLOAD);
  if (res.status !== 200 || res.headers['x-amz-function-error']) throw new Error(`invoke ${name}: ${res.status} ${res.body.toString()}`);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(samples: number[]): { p50: number; p99: number; mean: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: samples.reduce((a, b) => a + b, 0) / samples.length, n: samples.length };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** `clients` closed-loop clients for `durationMs`; returns invocations per second. */
async function closedLoop(server: Server, name: string, clients: number, durationMs: number): Promise<number> {
  let done = 0;
  const end = performance.now() + durationMs;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        await invoke(server, name);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

async function throughput(server: Server, name: string, clients: number, durationMs: number): Promise<number> {
  // Run the same load first until Kumo has scaled to it (the scale-up's cold starts, about 100 ms
  // of CPU each on 2 cores, are not warm throughput), then measure.
  await closedLoop(server, name, clients, (QUICK ? 1000 : 3000) + clients * 100);
  return closedLoop(server, name, clients, durationMs);
}

interface RuntimeResult {
  runtime: string;
  coldInvokeMs: ReturnType<typeof summary>;
  createToFirstResponseMs: ReturnType<typeof summary>;
  warmInvokeMs: ReturnType<typeof summary>;
  invocationsPerSecond: Record<string, number>;
}

async function benchRuntime(server: Server, rt: Runtime, tag: string): Promise<RuntimeResult> {
  const cold: number[] = [];
  const createToFirst: number[] = [];
  for (let i = 0; i < COLD_SAMPLES; i++) {
    const name = `cold-${tag}-${i}`;
    const t0 = performance.now();
    await createFunction(server, name, rt);
    cold.push(await timed(() => invoke(server, name)));
    createToFirst.push(performance.now() - t0);
  }
  const warmName = `warm-${tag}`;
  await createFunction(server, warmName, rt);
  for (let i = 0; i < 200; i++) await invoke(server, warmName);
  const warm: number[] = [];
  for (let i = 0; i < WARM_SAMPLES; i++) warm.push(await timed(() => invoke(server, warmName)));
  const invocationsPerSecond: Record<string, number> = {};
  for (const clients of [16, 64]) invocationsPerSecond[`c${clients}`] = await throughput(server, warmName, clients, THROUGHPUT_MS);
  return { runtime: rt.runtime, coldInvokeMs: summary(cold), createToFirstResponseMs: summary(createToFirst), warmInvokeMs: summary(warm), invocationsPerSecond };
}

function table(results: RuntimeResult[]): string {
  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
  const rows = [
    '| runtime | cold start p50 / p99 (ms) | create → first response p50 / p99 (ms) | warm invoke p50 / p99 (ms) | invokes/s, 16 clients | invokes/s, 64 clients |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    rows.push(
      `| ${r.runtime} | ${f(r.coldInvokeMs.p50)} / ${f(r.coldInvokeMs.p99)} | ${f(r.createToFirstResponseMs.p50)} / ${f(r.createToFirstResponseMs.p99)} | ${f(r.warmInvokeMs.p50)} / ${f(r.warmInvokeMs.p99)} | ${Math.round(r.invocationsPerSecond.c16 ?? 0)} | ${Math.round(r.invocationsPerSecond.c64 ?? 0)} |`,
    );
  }
  return rows.join('\n');
}

/** What `kumo doctor` reports as the active isolation (its first line). */
async function isolationOf(): Promise<string> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/kumo.js'), 'doctor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('close', r));
  return out.split('\n')[0]?.replace(/^Isolation:\s*/, '') ?? 'unknown';
}

async function main(): Promise<void> {
  const server = await startServer();
  const results: RuntimeResult[] = [];
  try {
    for (const rt of RUNTIMES) {
      process.stderr.write(`benchmarking ${rt.label}...\n`);
      results.push(await benchRuntime(server, rt, rt.runtime.replace(/\W/g, '')));
    }
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    fs.rmSync(server.dataDir, { recursive: true, force: true });
    agent.destroy();
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
  const isolation = await isolationOf();
  const report = { date: new Date().toISOString(), machine, isolation, memorySizeMb: MEMORY_MB, quick: QUICK, samples: { cold: COLD_SAMPLES, warm: WARM_SAMPLES, throughputMs: THROUGHPUT_MS }, results };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/latest.json'), JSON.stringify(report, null, 2) + '\n');
  const md = `${table(results)}\n\nMeasured ${report.date.slice(0, 10)} on ${machine}; isolation: ${isolation}; functions of ${MEMORY_MB} MB; cold start = first invoke of a new function (process start, runtime init, handler import, invoke); create → first response adds CreateFunction; warm = sequential invokes of a warm environment; ${COLD_SAMPLES} cold and ${WARM_SAMPLES} warm samples per runtime.`;
  process.stdout.write(`\n${md}\n\nwrote bench/results/latest.json\n`);
  if (args.has('--update-readme')) {
    const readme = path.join(ROOT, 'README.md');
    const text = fs.readFileSync(readme, 'utf8');
    const updated = text.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, `<!-- bench:start -->\n${md}\n<!-- bench:end -->`);
    if (updated === text) throw new Error('README has no <!-- bench:start --> ... <!-- bench:end --> markers');
    fs.writeFileSync(readme, updated);
    process.stdout.write('updated README.md\n');
  }
}

await main();
