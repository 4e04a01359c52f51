/**
 * `npm run bench`: Kumo's invoke path, measured through the Invoke API over loopback.
 *
 * The server runs as its own process (`bin/kumo.js server`), as a user runs it; the client is a
 * plain keep-alive HTTP client in this process, so the figures are Kumo's, not an SDK's. Prints a
 * table and writes bench/results/latest.json. `--update-readme` rewrites the README's table.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipEntries } from '../src/code/index.js';
import { agent, send as request, summary, timed } from './http.js';
import { ROOT, startServer, stopServer, type BenchServer } from './server.js';

const ROLE = 'arn:aws:iam::000000000000:role/bench';

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
/** Pause between cold-start samples: Kumo refills its stem cells in the background meanwhile. */
const COLD_SPACING_MS = 300;
/** Idle time before each "frozen" sample: well past the freeze delay (KUMO_FREEZE_DELAY_MS, 2 ms). */
const FROZEN_IDLE_MS = 20;
const FROZEN_SAMPLES = QUICK ? 50 : 300;
/** MemorySize of the benchmark functions; CPU is proportional to it (1,769 MB = 1 vCPU), as on Lambda. */
const MEMORY_MB = Number(process.argv.find((a) => a.startsWith('--memory='))?.slice('--memory='.length) ?? 1769);

type Server = BenchServer;

async function createFunction(server: Server, name: string, rt: Runtime): Promise<void> {
  const zip = await zipEntries(rt.files);
  const body = Buffer.from(
    JSON.stringify({
      FunctionName: name,
      Runtime: rt.runtime,
      Handler: rt.handler,
      Role: ROLE,
      MemorySize: MEMORY_MB,
      Timeout: 120,
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

/**
 * Proportional set size (PSS: shared pages split among their users) of the environments of one
 * runtime on one server, per environment: processes below the server whose initial environment
 * names that runtime (`AWS_EXECUTION_ENV`), grouped by their Runtime API address (in the initial
 * environment of all of an environment's processes, a stem cell's too). Other runtimes' environments
 * on the same server, and other servers on the host, are left out.
 */
function idleMemoryPerEnvironmentMb(serverPid: number, executionEnv: string): { environments: number; pssMbPerEnvironment: number } {
  const runtimeMark = Buffer.from(`\0AWS_EXECUTION_ENV=${executionEnv}\0`);
  const environments = new Set<string>();
  let pssKb = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const environ = Buffer.concat([Buffer.from('\0'), fs.readFileSync(`/proc/${pid}/environ`)]);
      if (!environ.includes(runtimeMark) || !descendsFrom(Number(pid), serverPid)) continue;
      const api = /AWS_LAMBDA_RUNTIME_API=([^\0]+)/.exec(environ.toString('latin1'))?.[1];
      if (api) environments.add(api);
      const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
      pssKb += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return { environments: environments.size, pssMbPerEnvironment: environments.size === 0 ? NaN : pssKb / 1024 / environments.size };
}

/** Whether `ancestor` is among `pid`'s parents. */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 32; hops++) {
    p = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${p}/status`, 'latin1'))?.[1] ?? 0);
    if (p === ancestor) return true;
  }
  return false;
}

interface RuntimeResult {
  runtime: string;
  coldInvokeMs: ReturnType<typeof summary>;
  createToFirstResponseMs: ReturnType<typeof summary>;
  warmInvokeMs: ReturnType<typeof summary>;
  /** Sequential invokes of an environment idle (and frozen) for FROZEN_IDLE_MS before each. */
  frozenInvokeMs: ReturnType<typeof summary>;
  /** The same on a server that does not freeze within that time (the control). */
  idleUnfrozenInvokeMs?: ReturnType<typeof summary>;
  invocationsPerSecond: Record<string, number>;
  scaleUpTo100Ms: number;
  /** 100 concurrent invocations of a new no-op function: until the last answer. */
  burst100Ms: number;
  idleEnvironments: number;
  idleMemoryPerEnvironmentMb: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function benchRuntime(server: Server, rt: Runtime, tag: string): Promise<RuntimeResult> {
  // The first function of a class (runtime, memory size) has Kumo make that class's stem cells.
  await createFunction(server, `first-${tag}`, rt);
  await invoke(server, `first-${tag}`);
  await sleep(COLD_SPACING_MS);
  const cold: number[] = [];
  const createToFirst: number[] = [];
  for (let i = 0; i < COLD_SAMPLES; i++) {
    const name = `cold-${tag}-${i}`;
    const t0 = performance.now();
    await createFunction(server, name, rt);
    cold.push(await timed(() => invoke(server, name)));
    createToFirst.push(performance.now() - t0);
    // Cold starts one after another, as they come in practice (a burst is the scale-up figure).
    await sleep(COLD_SPACING_MS);
  }
  const warmName = `warm-${tag}`;
  await createFunction(server, warmName, rt);
  for (let i = 0; i < 200; i++) await invoke(server, warmName);
  const warm: number[] = [];
  for (let i = 0; i < WARM_SAMPLES; i++) warm.push(await timed(() => invoke(server, warmName)));
  const frozen: number[] = [];
  for (let i = 0; i < FROZEN_SAMPLES; i++) {
    await sleep(FROZEN_IDLE_MS);
    frozen.push(await timed(() => invoke(server, warmName)));
  }
  const invocationsPerSecond: Record<string, number> = {};
  for (const clients of [16, 64]) invocationsPerSecond[`c${clients}`] = await throughput(server, warmName, clients, THROUGHPUT_MS);
  const burstName = `burst-${tag}`;
  await createFunction(server, burstName, rt);
  await sleep(COLD_SPACING_MS);
  const burst = await timed(() => Promise.all(Array.from({ length: SCALE_TO }, () => invoke(server, burstName))).then(() => undefined));
  const scale = await scaleUp(server, rt, tag, SCALE_TO, 2000);
  // Let the environments go idle (frozen where the host has a freezer), then weigh them.
  await sleep(500);
  const idle = idleMemoryPerEnvironmentMb(server.child.pid ?? 0, `AWS_Lambda_${rt.runtime}`);
  return {
    runtime: rt.runtime,
    coldInvokeMs: summary(cold),
    createToFirstResponseMs: summary(createToFirst),
    warmInvokeMs: summary(warm),
    frozenInvokeMs: summary(frozen),
    invocationsPerSecond,
    scaleUpTo100Ms: scale.ms,
    burst100Ms: burst,
    idleEnvironments: idle.environments,
    idleMemoryPerEnvironmentMb: idle.pssMbPerEnvironment,
  };
}

function table(results: RuntimeResult[]): string {
  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
  const node = results.find((r) => r.runtime.startsWith('nodejs'));
  const py = results.find((r) => r.runtime.startsWith('python'));
  const row = (figure: string, cell: (r: RuntimeResult) => string, goal: string) =>
    `| ${figure} | ${node ? cell(node) : '—'} | ${py ? cell(py) : '—'} | ${goal} |`;
  const pair = (s: { p50: number; p99: number }) => `${f(s.p50)} / ${f(s.p99)}`;
  return [
    `| figure | ${node?.runtime ?? 'nodejs'} | ${py?.runtime ?? 'python'} | goal (Node / Python) |`,
    '| --- | --- | --- | --- |',
    row('cold start p50 / p99 (ms)', (r) => pair(r.coldInvokeMs), '≤ 15 / ≤ 40; ≤ 5 / ≤ 20'),
    row('create → first response p50 / p99 (ms)', (r) => pair(r.createToFirstResponseMs), ''),
    row('warm invoke p50 / p99 (ms)', (r) => pair(r.warmInvokeMs), '≤ 0.5 / ≤ 2'),
    row(
      `invoke after ${FROZEN_IDLE_MS} ms idle, frozen vs not frozen, p50 / p99 (ms)`,
      (r) => `${pair(r.frozenInvokeMs)} vs ${r.idleUnfrozenInvokeMs ? pair(r.idleUnfrozenInvokeMs) : '—'}`,
      'freeze + thaw add ≤ 0.5 at p99',
    ),
    row('invokes/s, 16 clients', (r) => String(Math.round(r.invocationsPerSecond.c16 ?? 0)), ''),
    row('invokes/s, 64 clients', (r) => String(Math.round(r.invocationsPerSecond.c64 ?? 0)), '≥ 8,000 (stretch 12,000)'),
    row(
      `scale-up 0 → ${SCALE_TO} environments (ms; environments/s)`,
      (r) => `${Math.round(r.scaleUpTo100Ms)}; ${Math.round((SCALE_TO * 1000) / r.scaleUpTo100Ms)}/s`,
      '≥ 25/s; ≥ 200/s',
    ),
    row(`burst of ${SCALE_TO} cold invokes, last answer (ms)`, (r) => String(Math.round(r.burst100Ms)), '≤ 1,000'),
    row(
      'idle memory per frozen environment (MB PSS; per GiB)',
      (r) => `${f(r.idleMemoryPerEnvironmentMb)}; ${Math.floor(1024 / r.idleMemoryPerEnvironmentMb)} (${r.idleEnvironments} environments)`,
      '≥ 60; ≥ 150 per GiB',
    ),
  ].join('\n');
}

/** What `kumo doctor` reports as the active isolation (its first line). */
async function isolationOf(): Promise<string> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/kumo.js'), 'doctor'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('close', r));
  return out.split('\n')[0]?.replace(/^Isolation:\s*/, '') ?? 'unknown';
}

const HELD_COUNT = 1000;
const HELD_MS = 60_000;

interface Held {
  count: number;
  holdMs: number;
  ok: number;
  errors: number;
  lastAnswerMs: number;
}

/** `count` concurrent invocations of a new function whose handler sleeps `holdMs`: all must run at once. */
async function holdMany(server: Server, rt: Runtime, count: number, holdMs: number): Promise<Held> {
  const name = `held-${count}`;
  await createFunction(server, name, rt);
  const payload = Buffer.from(JSON.stringify({ sleepMs: holdMs }));
  const t0 = performance.now();
  let ok = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: count }, async () => {
      try {
        await invoke(server, name, payload);
        ok++;
      } catch {
        errors++;
      }
    }),
  );
  return { count, holdMs, ok, errors, lastAnswerMs: performance.now() - t0 };
}

/**
 * The control for "freeze + thaw": the same invokes after the same idle time, on a server that
 * does not freeze idle environments within it (so the idle machine's own wake-up costs cancel out).
 */
async function idleUnfrozen(rt: Runtime, tag: string): Promise<ReturnType<typeof summary>> {
  const server = await startServer('kumo-bench-', { KUMO_FREEZE_DELAY_MS: '60000' });
  try {
    const name = `unfrozen-${tag}`;
    await createFunction(server, name, rt);
    for (let i = 0; i < 200; i++) await invoke(server, name);
    const samples: number[] = [];
    for (let i = 0; i < FROZEN_SAMPLES; i++) {
      await sleep(FROZEN_IDLE_MS);
      samples.push(await timed(() => invoke(server, name)));
    }
    return summary(samples);
  } finally {
    await stopServer(server);
  }
}

async function main(): Promise<void> {
  const server = await startServer();
  const results: RuntimeResult[] = [];
  let held: Held | undefined;
  try {
    for (const rt of RUNTIMES) {
      process.stderr.write(`benchmarking ${rt.label}...\n`);
      results.push(await benchRuntime(server, rt, rt.runtime.replace(/\W/g, '')));
    }
    const python = RUNTIMES.find((r) => r.runtime.startsWith('python'));
    if (!QUICK && python) {
      process.stderr.write(`${HELD_COUNT} concurrent executions of a sleeping Python handler...\n`);
      held = await holdMany(server, python, HELD_COUNT, HELD_MS);
    }
  } finally {
    await stopServer(server);
  }
  for (const [i, rt] of RUNTIMES.entries()) {
    const r = results[i];
    if (r) r.idleUnfrozenInvokeMs = await idleUnfrozen(rt, rt.runtime.replace(/\W/g, ''));
  }
  agent.destroy();
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
    held,
  };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/latest.json'), JSON.stringify(report, null, 2) + '\n');
  const heldLine = held
    ? `\n\n${held.count} concurrent executions of a Python handler that sleeps ${held.holdMs / 1000} s: ${held.ok} answered, ${held.errors} errors; the last answered ${Math.round(held.lastAnswerMs - held.holdMs)} ms after the hold (all ${held.count} environments started meanwhile). Goal: 1,000 held without errors.`
    : '';
  const md = `${table(results)}${heldLine}\n\nMeasured ${report.date.slice(0, 10)} on ${machine}; isolation: ${isolation}; functions of ${MEMORY_MB} MB; cold start = first invoke of a new function, ${COLD_SPACING_MS} ms after the last (a stem cell specialised: code linked in, variables handed over, handler imported, invoke); create → first response adds CreateFunction; warm = sequential invokes of a warm environment; frozen vs not frozen = invokes after ${FROZEN_IDLE_MS} ms idle, on this server and on one that does not freeze idle environments within that time; ${COLD_SAMPLES} cold, ${WARM_SAMPLES} warm and ${FROZEN_SAMPLES} frozen samples per runtime.`;
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
