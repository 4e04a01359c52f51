/**
 * Stem cells: runtime processes started in their sandboxes before any function needs them, made a
 * function's environment on a cold start. A function must not be able to tell, beyond speed: it
 * sees its own variables, its own code at /var/task and nothing else, stdin is /dev/null, its
 * memory limit is its own. Functions whose variables an interpreter reads as it starts get a
 * process of their own.
 *
 * Whether an environment grew from a stem cell is read from /proc/self/environ: a process's
 * initial environment, which for a stem cell is the one it started with (KUMO_STEM=1).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CreateFunctionCommand, InvokeCommand, type CreateFunctionCommandInput } from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { type TestKumo } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const ROLE = 'arn:aws:iam::000000000000:role/test';

const NODE_REPORT = `
const fs = require('node:fs');
exports.handler = async (event) => {
  if (event.allocateMb) {
    const keep = [];
    for (let i = 0; i < event.allocateMb; i++) keep.push(Buffer.alloc(1024 * 1024, 1));
    return keep.length;
  }
  return {
    fromStem: fs.readFileSync('/proc/self/environ', 'latin1').split('\\0').includes('KUMO_STEM=1'),
    stemVariable: process.env.KUMO_STEM ?? null,
    own: process.env.OWN ?? null,
    name: process.env.AWS_LAMBDA_FUNCTION_NAME,
    handler: process.env._HANDLER,
    memory: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    cwd: process.cwd(),
    task: fs.readdirSync('/var/task').sort(),
    stdin: fs.readlinkSync('/proc/self/fd/0'),
    title: process.title,
  };
};
`;

const PYTHON_REPORT = `
import os

def handler(event, context):
    if event.get('allocateMb'):
        keep = [bytearray(1024 * 1024) for _ in range(event['allocateMb'])]
        for block in keep:
            block[::4096] = b'x' * len(block[::4096])
        return len(keep)
    with open('/proc/self/environ', 'rb') as f:
        initial = f.read().split(b'\\0')
    return {
        'fromStem': b'KUMO_STEM=1' in initial,
        'stemVariable': os.environ.get('KUMO_STEM'),
        'own': os.environ.get('OWN'),
        'name': context.function_name,
        'memory': context.memory_limit_in_mb,
        'cwd': os.getcwd(),
        'task': sorted(os.listdir('/var/task')),
        'stdin': os.readlink('/proc/self/fd/0'),
    }
`;

interface Report {
  fromStem: boolean;
  stemVariable: string | null;
  own: string | null;
  name: string;
  handler?: string;
  memory: string;
  cwd: string;
  task: string[];
  stdin: string;
  title?: string;
}

async function deploy(k: TestKumo, name: string, runtime: 'nodejs20.x' | 'python3.12', extra: Partial<CreateFunctionCommandInput> = {}) {
  const files =
    runtime === 'nodejs20.x'
      ? [
          { name: 'index.js', content: NODE_REPORT },
          { name: `only-${name}.txt`, content: name },
        ]
      : [
          { name: 'app.py', content: PYTHON_REPORT },
          { name: `only-${name}.txt`, content: name },
        ];
  await k.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: runtime,
      Handler: runtime === 'nodejs20.x' ? 'index.handler' : 'app.handler',
      Role: ROLE,
      MemorySize: 256,
      Code: { ZipFile: await zipEntries(files) },
      ...extra,
    }),
  );
}

async function invoke(k: TestKumo, name: string, event: object = {}) {
  const out = await k.lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)), LogType: 'Tail' }));
  return {
    functionError: out.FunctionError,
    body: JSON.parse(Buffer.from(out.Payload ?? []).toString()) as unknown,
    log: Buffer.from(out.LogResult ?? '', 'base64').toString(),
  };
}

async function report(k: TestKumo, name: string): Promise<{ report: Report; log: string }> {
  const r = await invoke(k, name);
  assert.equal(r.functionError, undefined, JSON.stringify(r.body));
  return { report: r.body as Report, log: r.log };
}

describe('stem cells', () => {
  const k = useKumo();

  for (const runtime of ['nodejs20.x', 'python3.12'] as const) {
    test(`${runtime}: a cold start takes a ready stem cell, which becomes exactly the function's environment`, async () => {
      const name = `stem-${runtime.replace('.', '-')}`;
      await deploy(k, name, runtime, { Environment: { Variables: { OWN: 'mine' } } });
      // Creating a function readies stem cells of its class.
      await eventually(() => k.kumo.engineStats().readyStemCells >= 1, 'a stem cell to be ready');
      const { report: r, log } = await report(k, name);
      assert.equal(r.fromStem, true, 'the environment grew from a stem cell');
      assert.match(log, /Init Duration: [\d.]+ ms/);
      assert.equal(r.stemVariable, null, 'no trace of the stem cell in the function variables');
      assert.equal(r.own, 'mine');
      assert.equal(r.name, name);
      assert.equal(r.memory, '256');
      assert.equal(r.cwd, '/var/task');
      assert.deepEqual(r.task, runtime === 'nodejs20.x' ? ['index.js', `only-${name}.txt`] : ['app.py', `only-${name}.txt`]);
      assert.equal(r.stdin, '/dev/null');
    });
  }

  test("a stem cell's task root holds its own function's code and no other's", async () => {
    await deploy(k, 'stem-a', 'nodejs20.x');
    await deploy(k, 'stem-b', 'nodejs20.x');
    const [a, b] = await Promise.all([report(k, 'stem-a'), report(k, 'stem-b')]);
    assert.deepEqual(a.report.task, ['index.js', 'only-stem-a.txt']);
    assert.deepEqual(b.report.task, ['index.js', 'only-stem-b.txt']);
  });

  test('a taken stem cell is replaced in the background', async () => {
    await deploy(k, 'stem-refill', 'nodejs20.x');
    await eventually(() => k.kumo.engineStats().readyStemCells >= 2, 'the stem cells of the class to be ready');
    const { report: r } = await report(k, 'stem-refill');
    assert.equal(r.fromStem, true);
    await eventually(() => k.kumo.engineStats().readyStemCells >= 2, 'the stem cell taken to be replaced');
  });

  test('Node.js: a function that sets NODE_OPTIONS gets a process of its own, started with them', async () => {
    await deploy(k, 'stem-node-options', 'nodejs20.x', { Environment: { Variables: { NODE_OPTIONS: '--title=kumo-options' } } });
    const { report: r } = await report(k, 'stem-node-options');
    assert.equal(r.fromStem, false);
    assert.equal(r.title, 'kumo-options');
  });

  test('Python: a stem cell taken by a 128 MB function is held to 128 MB', async () => {
    await deploy(k, 'stem-py-small', 'python3.12', { MemorySize: 128 });
    const { report: r } = await report(k, 'stem-py-small');
    assert.equal(r.fromStem, true);
    const hog = await invoke(k, 'stem-py-small', { allocateMb: 400 });
    assert.equal(hog.functionError, 'Unhandled');
    assert.equal((hog.body as { errorType: string }).errorType, 'Runtime.OutOfMemory');
  });
});

describe('stem cells turned off', () => {
  const k = useKumo({ stemCells: 0 });

  test('with KUMO_STEM_CELLS=0 every environment is a process started for its function', async () => {
    await deploy(k, 'no-stem', 'nodejs20.x');
    const { report: r, log } = await report(k, 'no-stem');
    assert.equal(r.fromStem, false);
    assert.equal(k.kumo.engineStats().readyStemCells, 0);
    assert.match(log, /Init Duration: [\d.]+ ms/);
    assert.deepEqual(r.task, ['index.js', 'only-no-stem.txt']);
  });
});
