/**
 * `npm run bench`: Kumo's invoke path, measured through the Invoke API over loopback.
 *
 * The server runs as its own process (`bin/kumo.js server`), as a user runs it; the client is a
 * plain keep-alive HTTP client in this process, so the figures are Kumo's, not an SDK's. Prints a
 * table and writes bench/results/latest.json. `--update-readme` rewrites the README's table.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { zipEntries } from '../src/code/index.js';
import { ROOT, startServer, type Server } from './server.js';

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
    files: [
      {
        name: 'index.mjs',
        content:
          "export const handler = async (event) => {\n  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));\n  return { statusCode: 200, body: 'hello ' + (event.name ?? 'world') };\n};\n",
      },
    ],
  },
  {
    label: 'Python 3.12',
    runtime: 'python3.12',
    handler: 'app.handler',
    files: [
      {
        name: 'app.py',
        content:
          "import time\n\ndef handler(event, context):\n    if event.get('sleepMs'):\n        time.sleep(event['sleepMs'] / 1000)\n    return {'statusCode': 200, 'body': 'hello ' + event.get('name', 'world')}\n",
      },
    ],
  },
];

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const COLD_SAMPLES = QUICK ? 5 : 30;
const WARM_SAMPLES = QUICK ? 300 : 3000;
const THROUGHPUT_MS = QUICK ? 1000 : 4000;
const SCALE_TO = QUICK ? 20 : 100;
/** MemorySize of the benchmark functions; CPU is proportional to it (1,769 MB = 1 vCPU), as on Lambda. */
const MEMORY_MB = Number(process.argv.find((a) => a.startsWith('--memory='))?.slice('--memory='.length) ?? 1769);

function request(
  url: URL,
  method: string,
  pathname: string,
  body?: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: pathname,
        agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': body?.length ?? 0 },
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

async function createFunction(server: Server, name: string, rt: Runtime): Promise<void> {
  const zip = await zipEntries(rt.files);
  const body = Buffer.from(
    JSON.stringify({
      FunctionName: name,
      Runtime: rt.runtime,
      Handler: rt.handler,
      Role: ROLE,
      MemorySize: MEMORY_MB,
      Timeout: 30,
      Code: { ZipFile: zip.toString('base64') },
    }),
  );
  const res = await request(server.url, 'POST', '/2015-03-31/functions', body);
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${res.body.toString()}`);
}

const PAYLOAD = Buffer.from('{"name":"bench"}');

async function invoke(server: Server, name: string, payload = PAYLOAD): Promise<void> {
  const res = await request(server.url, 'POST', `/2015-03-31/functions/${name}/invocations`, payload);
  if (res.status !== 200 || res.headers['x-amz-function-error']) throw new Error(`invoke ${name}: ${res.status} ${res.body.toString()}`);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(samples: number[]): { p50: number; p99: number; mean: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    n: samples.length,
  };
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

/**
 * Scale-up: `count` concurrent invocations of a new function whose handler holds each one for
 * `holdMs`, so every one needs its own environment; the time until the last answer, less the hold,
 * is how long Kumo took to bring up `count` environments from none.
 */
async function scaleUp(server: Server, rt: Runtime, tag: string, count: number, holdMs: number): Promise<{ ms: number; name: string }> {
  const name = `scale-${tag}`;
  await createFunction(server, name, rt);
  const payload = Buffer.from(JSON.stringify({ sleepMs: holdMs }));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: count }, () => invoke(server, name, payload)));
  return { ms: performance.now() - t0 - holdMs, name };
}

/** Proportional set size (PSS: shared pages split among their users) of every process of a function, per environment. */
function idleMemoryPerEnvironmentMb(functionName: string): { environments: number; pssMbPerEnvironment: number } {
  const needle = Buffer.from(`AWS_LAMBDA_FUNCTION_NAME=${functionName}\0`);
  const streams = new Set<string>();
  let pssKb = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const environ = fs.readFileSync(`/proc/${pid}/environ`);
      if (!environ.includes(needle)) continue;
      const stream = /AWS_LAMBDA_LOG_STREAM_NAME=([^\0]+)/.exec(environ.toString('latin1'))?.[1];
      if (stream) streams.add(stream);
      const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
      pssKb += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return { environments: streams.size, pssMbPerEnvironment: streams.size === 0 ? NaN : pssKb / 1024 / streams.size };
}

interface RuntimeResult {
  runtime: string;
  coldInvokeMs: ReturnType<typeof summary>;
  createToFirstResponseMs: ReturnType<typeof summary>;
  warmInvokeMs: ReturnType<typeof summary>;
  invocationsPerSecond: Record<string, number>;
  scaleUpTo100Ms: number;
  idleEnvironments: number;
  idleMemoryPerEnvironmentMb: number;
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
  const scale = await scaleUp(server, rt, tag, SCALE_TO, 2000);
  // Let the environments go idle (frozen where the host has a freezer), then weigh them.
  await new Promise((r) => setTimeout(r, 500));
  const idle = idleMemoryPerEnvironmentMb(scale.name);
  return {
    runtime: rt.runtime,
    coldInvokeMs: summary(cold),
    createToFirstResponseMs: summary(createToFirst),
    warmInvokeMs: summary(warm),
    invocationsPerSecond,
    scaleUpTo100Ms: scale.ms,
    idleEnvironments: idle.environments,
    idleMemoryPerEnvironmentMb: idle.pssMbPerEnvironment,
  };
}

function table(results: RuntimeResult[]): string {
  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
  const rows = [
    `| runtime | cold start p50 / p99 (ms) | create → first response p50 / p99 (ms) | warm invoke p50 / p99 (ms) | invokes/s, 16 clients | invokes/s, 64 clients | 0 → ${SCALE_TO} environments (ms) | idle memory per environment (MB PSS) |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    rows.push(
      `| ${r.runtime} | ${f(r.coldInvokeMs.p50)} / ${f(r.coldInvokeMs.p99)} | ${f(r.createToFirstResponseMs.p50)} / ${f(r.createToFirstResponseMs.p99)} | ${f(r.warmInvokeMs.p50)} / ${f(r.warmInvokeMs.p99)} | ${Math.round(r.invocationsPerSecond.c16 ?? 0)} | ${Math.round(r.invocationsPerSecond.c64 ?? 0)} | ${Math.round(r.scaleUpTo100Ms)} | ${f(r.idleMemoryPerEnvironmentMb)} (${r.idleEnvironments} environments) |`,
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
  const report = {
    date: new Date().toISOString(),
    machine,
    isolation,
    memorySizeMb: MEMORY_MB,
    quick: QUICK,
    samples: { cold: COLD_SAMPLES, warm: WARM_SAMPLES, throughputMs: THROUGHPUT_MS },
    results,
  };
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
