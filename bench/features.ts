/**
 * What issue 5's features cost on the invoke path, against `kumo server` as its own process:
 * - a cold start with two layers (about 200 entries in /opt) against one without;
 * - a warm function URL request against a warm Invoke of the same function;
 * - a warm InvokeWithResponseStream of a streamified handler against a buffered Invoke;
 * - the first invoke of a version with provisioned concurrency against a cold start.
 * Prints a table and writes bench/results/features.json; `--update-readme` rewrites the README's
 * table between `<!-- bench-features:start -->` and `<!-- bench-features:end -->`. `--url` measures
 * only the function URL row (and its Invoke), prints it and writes nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipEntries } from '../src/code/index.js';
import { send, sendJson, summary, timed } from './http.js';
import { ROOT, startServer, stopServer, type BenchServer } from './server.js';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const URL_ONLY = args.has('--url');
const COLD_SAMPLES = QUICK ? 5 : 20;
const WARM_SAMPLES = QUICK ? 300 : 2000;
const PROVISIONED_SAMPLES = QUICK ? 3 : 10;
/** Pause between cold samples: Kumo refills its stem cells meanwhile. */
const COLD_SPACING_MS = 300;
const ROLE = 'arn:aws:iam::000000000000:role/bench';
/** As bench/run.ts: one vCPU's share (CPU is proportional to memory, as on Lambda). */
const MEMORY_MB = 1769;
const PAYLOAD = Buffer.from('{"name":"bench"}');

const HANDLER = `
export const handler = async (event) => ({ statusCode: 200, body: 'hello ' + (event.name ?? 'world') });
export const stream = awslambda.streamifyResponse(async (_event, responseStream) => {
  responseStream.setContentType('text/plain');
  responseStream.end('hello stream');
});
`;

type Round = ReturnType<typeof summary>;

interface Results {
  coldNoLayers: Round;
  coldTwoLayers: Round;
  invokeWarm: Round;
  urlWarm: Round;
  bufferedWarm: Round;
  streamWarm: Round;
  cold: Round;
  provisionedFirst: Round;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function createFunction(server: BenchServer, name: string, handler: string, extra: Record<string, unknown> = {}): Promise<void> {
  const zip = await zipEntries([{ name: 'index.mjs', content: HANDLER }]);
  await sendJson(
    server.url,
    'POST',
    '/2015-03-31/functions',
    {
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: handler,
      Role: ROLE,
      MemorySize: MEMORY_MB,
      Code: { ZipFile: zip.toString('base64') },
      ...extra,
    },
    201,
  );
}

async function invoke(server: BenchServer, name: string, qualifier?: string): Promise<void> {
  const q = qualifier ? `?Qualifier=${qualifier}` : '';
  const res = await send(server.url, 'POST', `/2015-03-31/functions/${name}/invocations${q}`, PAYLOAD);
  if (res.status !== 200 || res.headers['x-amz-function-error']) throw new Error(`invoke ${name}: ${res.status} ${res.body.toString()}`);
}

/** A layer of `packages` Node.js packages under nodejs/node_modules; returns its version ARN. */
async function publishLayer(server: BenchServer, name: string, packages: number): Promise<string> {
  const files = Array.from({ length: packages }, (_, i) => [
    { name: `nodejs/node_modules/${name}-${i}/package.json`, content: `{"name":"${name}-${i}","main":"index.js"}` },
    { name: `nodejs/node_modules/${name}-${i}/index.js`, content: `module.exports = ${i};\n` },
  ]).flat();
  const zip = await zipEntries(files);
  const res = await sendJson(
    server.url,
    'POST',
    `/2018-10-31/layers/${name}/versions`,
    { Content: { ZipFile: zip.toString('base64') } },
    201,
  );
  return (JSON.parse(res.body.toString()) as { LayerVersionArn: string }).LayerVersionArn;
}

async function coldStarts(server: BenchServer, tag: string, extra: Record<string, unknown>, qualifier?: string): Promise<Round> {
  const samples: number[] = [];
  for (let i = 0; i < COLD_SAMPLES; i++) {
    const name = `cold-${tag}-${i}`;
    await createFunction(server, name, 'index.handler', extra);
    await sleep(COLD_SPACING_MS);
    samples.push(await timed(() => invoke(server, name, qualifier)));
  }
  return summary(samples);
}

async function warm(call: () => Promise<void>): Promise<Round> {
  for (let i = 0; i < 50; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < WARM_SAMPLES; i++) samples.push(await timed(call));
  return summary(samples);
}

async function functionUrl(server: BenchServer, name: string): Promise<string> {
  const fn = `/2015-03-31/functions/${name}/policy`;
  await sendJson(
    server.url,
    'POST',
    fn,
    { StatementId: 'url', Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' },
    201,
  );
  await sendJson(
    server.url,
    'POST',
    fn,
    { StatementId: 'invoke', Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true },
    201,
  );
  const res = await sendJson(server.url, 'POST', `/2021-10-31/functions/${name}/url`, { AuthType: 'NONE' }, 201);
  const url = (JSON.parse(res.body.toString()) as { FunctionUrl: string }).FunctionUrl;
  return new URL(url).hostname;
}

async function provisionedFirstInvokes(server: BenchServer): Promise<Round> {
  const samples: number[] = [];
  for (let i = 0; i < PROVISIONED_SAMPLES; i++) {
    const name = `prov-${i}`;
    await createFunction(server, name, 'index.handler', { Publish: true });
    const pc = `/2019-09-30/functions/${name}/provisioned-concurrency?Qualifier=1`;
    await sendJson(server.url, 'PUT', pc, { ProvisionedConcurrentExecutions: 1 }, 202);
    for (;;) {
      const res = await sendJson(server.url, 'GET', pc, undefined, 200);
      const status = (JSON.parse(res.body.toString()) as { Status: string }).Status;
      if (status === 'READY') break;
      if (status === 'FAILED') throw new Error(`provisioned concurrency of ${name} failed`);
      await sleep(20);
    }
    await sleep(COLD_SPACING_MS);
    samples.push(await timed(() => invoke(server, name, '1')));
  }
  return summary(samples);
}

/** A warm function URL request (AuthType NONE) and a warm Invoke of the same function. */
async function urlAndInvoke(server: BenchServer): Promise<{ invokeWarm: Round; urlWarm: Round }> {
  process.stderr.write('function URL and Invoke, warm...\n');
  await createFunction(server, 'web', 'index.handler');
  const host = await functionUrl(server, 'web');
  const invokeWarm = await warm(() => invoke(server, 'web'));
  const urlWarm = await warm(async () => {
    const res = await send(server.url, 'GET', '/?name=bench', undefined, { Host: `${host}:${server.url.port}` });
    if (res.status !== 200) throw new Error(`function URL: ${res.status} ${res.body.toString()}`);
  });
  return { invokeWarm, urlWarm };
}

async function measure(server: BenchServer): Promise<Results> {
  process.stderr.write('cold starts with and without layers...\n');
  const layers = [await publishLayer(server, 'liba', 50), await publishLayer(server, 'libb', 50)];
  const coldNoLayers = await coldStarts(server, 'plain', {});
  const coldTwoLayers = await coldStarts(server, 'layers', { Layers: layers });

  const { invokeWarm, urlWarm } = await urlAndInvoke(server);

  process.stderr.write('InvokeWithResponseStream and Invoke, warm...\n');
  await createFunction(server, 'streamer', 'index.stream');
  const bufferedWarm = await warm(() => invoke(server, 'streamer'));
  const streamWarm = await warm(async () => {
    const res = await send(server.url, 'POST', '/2021-11-15/functions/streamer/response-streaming-invocations', PAYLOAD);
    if (res.status !== 200) throw new Error(`InvokeWithResponseStream: ${res.status} ${res.body.toString()}`);
  });

  process.stderr.write('provisioned concurrency, first invokes...\n');
  const cold = await coldStarts(server, 'unprovisioned', { Publish: true }, '1');
  const provisionedFirst = await provisionedFirstInvokes(server);
  return { coldNoLayers, coldTwoLayers, invokeWarm, urlWarm, bufferedWarm, streamWarm, cold, provisionedFirst };
}

const ms = (r: Round): string => `${r.p50.toPrecision(3)} / ${r.p99.toPrecision(3)}`;

function table(r: Results): string {
  return [
    `| figure (Node.js 20, ${MEMORY_MB} MB) | p50 / p99 (ms) | against | p50 / p99 (ms) |`,
    '| --- | --- | --- | --- |',
    `| cold start, two layers (100 packages in /opt) | ${ms(r.coldTwoLayers)} | cold start, no layers | ${ms(r.coldNoLayers)} |`,
    `| function URL request, warm | ${ms(r.urlWarm)} | Invoke, warm | ${ms(r.invokeWarm)} |`,
    `| InvokeWithResponseStream of a streamified handler, warm | ${ms(r.streamWarm)} | Invoke of it (buffered), warm | ${ms(r.bufferedWarm)} |`,
    `| first invoke of a version with provisioned concurrency | ${ms(r.provisionedFirst)} | first invoke of a version without (cold start) | ${ms(r.cold)} |`,
  ].join('\n');
}

async function main(): Promise<void> {
  const server = await startServer('kumo-bench-features-');
  if (URL_ONLY) {
    try {
      const r = await urlAndInvoke(server);
      process.stdout.write(`\n| function URL request, warm | ${ms(r.urlWarm)} | Invoke, warm | ${ms(r.invokeWarm)} |\n`);
    } finally {
      await stopServer(server);
    }
    return;
  }
  let results: Results;
  try {
    results = await measure(server);
  } finally {
    await stopServer(server);
  }
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const report = { date: new Date().toISOString(), machine, quick: QUICK, results };
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench/results/features.json'), JSON.stringify(report, null, 2) + '\n');
  const md = `${table(results)}\n\nMeasured ${report.date.slice(0, 10)} on ${machine}; ${COLD_SAMPLES} cold, ${WARM_SAMPLES} warm and ${PROVISIONED_SAMPLES} provisioned samples; cold samples ${COLD_SPACING_MS} ms apart.`;
  process.stdout.write(`\n${md}\n\nwrote bench/results/features.json\n`);
  if (args.has('--update-readme')) {
    const readme = path.join(ROOT, 'README.md');
    const text = fs.readFileSync(readme, 'utf8');
    const updated = text.replace(
      /<!-- bench-features:start -->[\s\S]*<!-- bench-features:end -->/,
      `<!-- bench-features:start -->\n${md}\n<!-- bench-features:end -->`,
    );
    if (updated === text) throw new Error('README has no <!-- bench-features:start --> ... <!-- bench-features:end --> markers');
    fs.writeFileSync(readme, updated);
    process.stdout.write('updated README.md\n');
  }
}

await main();
