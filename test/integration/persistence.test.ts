/**
 * Everything Kumo keeps survives a restart: functions and their configuration, code archives, and
 * the logs written before it. Two cases: a clean close and a new server on the same data directory,
 * and `kumo server` killed with SIGKILL, which must not lose a function it acknowledged creating.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  paginateFilterLogEvents,
  type FilteredLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  ListFunctionsCommand,
  UpdateFunctionConfigurationCommand,
  type FunctionConfiguration,
  type Runtime,
} from '@aws-sdk/client-lambda';
import { zipDirectory, zipEntries } from '../../src/code/index.js';
import { ServerProcess } from '../helpers/server-process.js';
import { logsClient } from '../helpers/clients.js';
import { createNodeFunction } from '../helpers/functions.js';
import { repoPath, startKumo, type TestKumo } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const ROLE = 'arn:aws:iam::000000000000:role/persistence';

interface Deployed {
  name: string;
  runtime: Runtime;
  handler: string;
  example: string;
  /** The exact answer to {"name":"Kumo"}. */
  answer: string;
  /** A line the function logs on {"name":"Kumo"}. */
  logLine: RegExp;
  zip?: Buffer;
}

const FUNCTIONS: Deployed[] = [
  {
    name: 'persist-node',
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    example: 'node-hello',
    answer: '{"message":"Hello, Kumo!"}',
    logLine: /\tINFO\tSaying hello to Kumo \(request /,
  },
  {
    name: 'persist-python',
    runtime: 'python3.12',
    handler: 'app.handler',
    example: 'python-hello',
    answer: '{"message": "Hello, Kumo!"}',
    logLine: /^\[INFO\]\t.*\tSaying hello to Kumo$/,
  },
];

/** The configuration as the API returns it, without the SDK's response metadata. */
function configOf(out: FunctionConfiguration & { $metadata?: unknown }): FunctionConfiguration {
  const { $metadata: _metadata, ...config } = out;
  return config;
}

async function invoke(lambda: LambdaClient, name: string): Promise<{ body: string; log: string; requestId: string }> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from('{"name":"Kumo"}'), LogType: 'Tail' }));
  const body = Buffer.from(out.Payload ?? []).toString();
  assert.equal(out.FunctionError, undefined, body);
  const log = Buffer.from(out.LogResult ?? '', 'base64').toString();
  const requestId = /^START RequestId: (\S+)/.exec(log)?.[1] ?? assert.fail(`no START line in ${log}`);
  return { body, log, requestId };
}

describe('a clean restart on the same data directory', () => {
  let first: TestKumo;
  let second: TestKumo;
  let logs: CloudWatchLogsClient;
  /** GetFunctionConfiguration of each function just before the restart. */
  const configs = new Map<string, FunctionConfiguration>();
  /** Request ids of the invocations before the restart. */
  const requestIds = new Map<string, string>();
  let oldCodeLocation: URL;

  before(async () => {
    first = await startKumo();
    for (const f of FUNCTIONS) {
      f.zip = await zipDirectory(repoPath('examples', f.example));
      await first.lambda.send(
        new CreateFunctionCommand({
          FunctionName: f.name,
          Runtime: f.runtime,
          Handler: f.handler,
          Role: ROLE,
          Code: { ZipFile: f.zip },
          Environment: { Variables: { STAGE: 'before' } },
        }),
      );
      const { body, requestId } = await invoke(first.lambda, f.name);
      assert.equal(body, f.answer);
      requestIds.set(f.name, requestId);
    }
    await first.lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'persist-python',
        Environment: { Variables: { STAGE: 'updated', GREETING: 'Hola' } },
        Timeout: 7,
        MemorySize: 256,
        Description: 'updated before the restart',
      }),
    );
    for (const f of FUNCTIONS) {
      configs.set(f.name, configOf(await first.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: f.name }))));
    }
    const code = await first.lambda.send(new GetFunctionCommand({ FunctionName: 'persist-node' }));
    oldCodeLocation = new URL(code.Code?.Location ?? assert.fail('no Code.Location'));

    await first.close({ keepData: true });
    second = await startKumo({ dataDir: first.dataDir });
    logs = logsClient(second.url, second.kumo.options.region);
  });
  after(async () => {
    logs?.destroy();
    await second?.close();
  });

  test('the functions are listed with the same configuration', async () => {
    const listed = await second.lambda.send(new ListFunctionsCommand({}));
    assert.deepEqual(
      listed.Functions?.map((f) => f.FunctionName),
      FUNCTIONS.map((f) => f.name),
    );
    for (const f of FUNCTIONS) {
      const saved = configs.get(f.name) ?? assert.fail(`no configuration for ${f.name}`);
      const now = configOf(await second.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: f.name })));
      assert.deepEqual(now, saved);
      const inList: FunctionConfiguration | undefined = listed.Functions?.find((x) => x.FunctionName === f.name);
      assert.equal(inList?.RevisionId, saved.RevisionId);
      assert.equal(inList?.CodeSha256, saved.CodeSha256);
    }
    const python = configs.get('persist-python');
    assert.deepEqual(python?.Environment?.Variables, { STAGE: 'updated', GREETING: 'Hola' });
    assert.equal(python?.Timeout, 7);
    assert.equal(python?.MemorySize, 256);
    assert.equal(python?.Description, 'updated before the restart');
    assert.deepEqual(configs.get('persist-node')?.Environment?.Variables, { STAGE: 'before' });
  });

  test("GetFunction's Code.Location downloads the same zip; a link from before the restart still works", async () => {
    for (const f of FUNCTIONS) {
      const out = await second.lambda.send(new GetFunctionCommand({ FunctionName: f.name }));
      const res = await fetch(out.Code?.Location ?? assert.fail('no Code.Location'));
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), f.zip);
    }
    // The link signed by the first server, asked of the second (the signing secret is kept).
    const res = await fetch(new URL(oldCodeLocation.pathname + oldCodeLocation.search, second.url));
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), FUNCTIONS[0]?.zip);
  });

  test('invoking works, with a cold start on the new server', async () => {
    for (const f of FUNCTIONS) {
      const { body, log } = await invoke(second.lambda, f.name);
      assert.equal(body, f.answer);
      assert.match(log, /\tInit Duration: [\d.]+ ms/);
      if (f.name === 'persist-python') assert.match(log, /\tMemory Size: 256 MB\t/);
    }
  });

  test('the logs from before the restart are still there (CloudWatch Logs API)', async () => {
    for (const f of FUNCTIONS) {
      const group = `/aws/lambda/${f.name}`;
      const events: FilteredLogEvent[] = [];
      for await (const page of paginateFilterLogEvents({ client: logs }, { logGroupName: group })) events.push(...(page.events ?? []));
      const messages = events.map((e) => e.message ?? '');
      const requestId = requestIds.get(f.name) ?? assert.fail('no request id');
      assert.ok(messages.includes(`START RequestId: ${requestId} Version: $LATEST`), messages.join('\n'));
      assert.ok(messages.includes(`END RequestId: ${requestId}`), messages.join('\n'));
      assert.ok(
        messages.some((m) => m.startsWith(`REPORT RequestId: ${requestId}\t`)),
        messages.join('\n'),
      );
      assert.ok(
        messages.some((m) => f.logLine.test(m)),
        messages.join('\n'),
      );
      // The first server's environment wrote its own log stream, which is still described.
      const beforeStream = events.find((e) => e.message === `START RequestId: ${requestId} Version: $LATEST`)?.logStreamName;
      const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: group }));
      assert.ok(
        streams.logStreams?.some((s) => s.logStreamName === beforeStream),
        JSON.stringify(streams.logStreams),
      );
    }
  });
});

describe('kumo server killed with SIGKILL', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-kill-'));
  });
  after(async () => {
    await server?.stop('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('does not lose a function it acknowledged creating', async () => {
    const zip = await zipDirectory(repoPath('examples/node-hello'));
    server = await ServerProcess.start(dataDir);
    let lambda = server.lambda();
    const created = await createNodeFunction(lambda, 'survivor', zip, { Environment: { Variables: { KEPT: 'yes' } } });
    const { body } = await invoke(lambda, 'survivor');
    assert.equal(body, '{"message":"Hello, Kumo!"}');
    lambda.destroy();

    const killed = await server.stop('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');

    server = await ServerProcess.start(dataDir);
    lambda = server.lambda();
    try {
      const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'survivor' }));
      assert.equal(config.RevisionId, created.RevisionId);
      assert.equal(config.CodeSha256, created.CodeSha256);
      assert.deepEqual(config.Environment?.Variables, { KEPT: 'yes' });
      const code = await lambda.send(new GetFunctionCommand({ FunctionName: 'survivor' }));
      const res = await fetch(code.Code?.Location ?? assert.fail('no Code.Location'));
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), zip);
      const again = await invoke(lambda, 'survivor');
      assert.equal(again.body, '{"message":"Hello, Kumo!"}');
      assert.match(again.log, /\tInit Duration: /);
    } finally {
      lambda.destroy();
    }

    // A clean stop after all that: SIGTERM ends it with exit code 0.
    const stopped = await server.stop('SIGTERM');
    assert.deepEqual(stopped, { code: 0, signal: null }, server.output);
  });
});

/** Host pids of this process's live children (the sock_diag helper, environments). */
function childrenOfThisProcess(): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[1]) === process.pid) children.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return children;
}

describe('closing', () => {
  test('close() waits for the code extraction a deployment started, so the next server on the directory finds no temporaries', async () => {
    const first = await startKumo({ stemCells: 0 });
    const many = Array.from({ length: 400 }, (_, i) => ({ name: `lib/m${i}.js`, content: `module.exports = ${i};\n` }));
    const zip = await zipEntries([{ name: 'index.js', content: 'exports.handler = async () => 1;\n' }, ...many]);
    await createNodeFunction(first.lambda, 'close-extract', zip, { Publish: true });
    await first.close({ keepData: true });
    const codeDir = path.join(first.dataDir, 'code');
    assert.deepEqual(
      fs.readdirSync(codeDir).filter((name) => name.startsWith('.tmp-')),
      [],
      'an extraction was still writing after close() resolved',
    );
    const second = await startKumo({ stemCells: 0, dataDir: first.dataDir });
    try {
      const out = await second.lambda.send(new InvokeCommand({ FunctionName: 'close-extract' }));
      assert.equal(Buffer.from(out.Payload ?? []).toString(), '1');
    } finally {
      await second.close();
    }
  });

  test('close() twice resolves both times (the second call shares the first)', async () => {
    const k = await startKumo({ stemCells: 0 });
    await k.kumo.close();
    await k.close();
  });

  test('a second start on a data directory a running Kumo uses is refused, touching nothing; it starts once the first has closed', async () => {
    const first = await startKumo({ stemCells: 0 });
    const zip = await zipEntries([{ name: 'index.js', content: 'exports.handler = async () => process.pid;\n' }]);
    await createNodeFunction(first.lambda, 'locked-dir', zip);
    const invoke = async (k: TestKumo): Promise<string> =>
      Buffer.from((await k.lambda.send(new InvokeCommand({ FunctionName: 'locked-dir' }))).Payload ?? []).toString();
    try {
      const warmPid = await invoke(first);
      const environments = path.join(first.dataDir, 'environments');
      const before = fs.readdirSync(environments).sort();
      assert.notDeepEqual(before, [], 'the warm environment has a scratch directory');
      // A start that went on would sweep the code store's temporaries.
      const temporary = path.join(first.dataDir, 'code', '.tmp-in-progress');
      fs.writeFileSync(temporary, '');
      await assert.rejects(
        startKumo({ stemCells: 0, dataDir: first.dataDir }),
        (err: Error) =>
          err.message.includes(`data directory ${first.dataDir} is in use by another Kumo (pid ${process.pid}, this process)`),
      );
      assert.deepEqual(fs.readdirSync(environments).sort(), before);
      assert.ok(fs.existsSync(temporary), 'the refused start swept the code store');
      fs.rmSync(temporary);
      assert.equal(await invoke(first), warmPid, 'the first server lost its warm environment');
    } finally {
      await first.close({ keepData: true });
    }
    const second = await startKumo({ stemCells: 0, dataDir: first.dataDir });
    try {
      assert.match(await invoke(second), /^\d+$/);
    } finally {
      await second.close();
    }
  });

  test('a lock left by a process that has ended is taken over', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-test-'));
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(path.join(dataDir, 'kumo.lock'), `${ended}\nstale\n`);
    const k = await startKumo({ stemCells: 0, dataDir });
    try {
      assert.equal(fs.readFileSync(path.join(dataDir, 'kumo.lock'), 'utf8').split('\n')[0], String(process.pid));
    } finally {
      await k.close({ keepData: true });
    }
    assert.equal(fs.existsSync(path.join(dataDir, 'kumo.lock')), false, 'close() removes the lock');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a start that fails (its port is taken) closes what it had opened', async (t) => {
    const k = await startKumo({ stemCells: 0 });
    try {
      const before = childrenOfThisProcess().sort();
      const port = Number(new URL(k.url).port);
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-test-'));
      t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
      await assert.rejects(startKumo({ stemCells: 0, port, dataDir }), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
      // Its sock_diag helper is SIGKILLed by close(); the kernel ends it a moment later.
      await eventually(
        () => childrenOfThisProcess().sort().join() === before.join(),
        'the children the failed start made to be gone',
        5000,
      );
    } finally {
      await k.close();
    }
  });
});
