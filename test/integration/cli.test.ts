/**
 * The `kumo` executable as users run it: `node bin/kumo.js ... --endpoint <url>` against a real
 * Kumo server, with fixture function directories written to a temp dir.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { repoPath } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const KUMO_BIN = repoPath('bin', 'kumo.js');

const k = useKumo();
let tmp: string;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `kumo <args>` against the test server (unless `args` name their own --endpoint). */
function kumo(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Result> {
  const withEndpoint = args.some((a) => a.startsWith('--endpoint')) ? args : ['--endpoint', k.url, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [KUMO_BIN, ...withEndpoint],
      { env: { ...process.env, ...options.env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(new Error(`kumo ${args.join(' ')}: ${error.message}`, { cause: error }));
        else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Writes a function directory under the temp dir: { 'index.js': '...' }. */
function fixture(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-cli-test-'));
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const HELLO_V1 = `
exports.handler = async (event) => {
  console.log('hello log from ' + (event.who ?? 'nobody'));
  return { version: 1, who: event.who ?? null, greeting: process.env.GREETING ?? null };
};`;
const HELLO_V2 = HELLO_V1.replace('version: 1', 'version: 2');

describe('kumo deploy / invoke / ls / rm', () => {
  test('deploy creates a function from a directory, skipping .git', async () => {
    const dir = fixture('hello', { 'index.js': HELLO_V1, 'lib/util.js': 'module.exports = 1;', '.git/HEAD': 'ref: refs/heads/main\n' });
    const r = await kumo([
      'deploy',
      dir,
      '--name',
      'cli-hello',
      '--runtime',
      'nodejs20.x',
      '--handler',
      'index.handler',
      '--memory',
      '256',
      '--timeout',
      '5',
      '--env',
      'GREETING=hi there',
      '--description',
      'from the cli',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Created cli-hello$/m);
    assert.match(r.stdout, /ARN\s+arn:aws:lambda:us-east-1:000000000000:function:cli-hello$/m);
    assert.match(r.stdout, /CodeSha256\s+[A-Za-z0-9+/]{43}=$/m);
    assert.match(r.stdout, /CodeSize\s+\d+ bytes/);
    const config = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'cli-hello' }));
    assert.equal(config.MemorySize, 256);
    assert.equal(config.Timeout, 5);
    assert.equal(config.Description, 'from the cli');
    assert.deepEqual(config.Environment?.Variables, { GREETING: 'hi there' });
    assert.equal(config.CodeSha256, /CodeSha256\s+(\S+)/.exec(r.stdout)?.[1]);

    // .git was left out: the same tree without it zips to the same bytes.
    const without = fixture('hello-no-git', { 'index.js': HELLO_V1, 'lib/util.js': 'module.exports = 1;' });
    const again = await kumo(['deploy', without, '--name', 'cli-hello']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(/CodeSha256\s+(\S+)/.exec(again.stdout)?.[1], config.CodeSha256);
  });

  test('invoke prints the response; --payload takes JSON, @file and @-', async () => {
    const r = await kumo(['invoke', 'cli-hello', '--payload', '{"who":"inline"}']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { version: 1, who: 'inline', greeting: 'hi there' });
    assert.equal(r.stderr, '');

    const file = path.join(tmp, 'event.json');
    fs.writeFileSync(file, '{"who":"file"}');
    const fromFile = await kumo(['invoke', 'cli-hello', '--payload', `@${file}`]);
    assert.equal((JSON.parse(fromFile.stdout) as { who: string }).who, 'file');
    const fromStdin = await kumo(['invoke', 'cli-hello', '--payload', '@-'], { input: '{"who":"stdin"}' });
    assert.equal((JSON.parse(fromStdin.stdout) as { who: string }).who, 'stdin');
    const missing = await kumo(['invoke', 'cli-hello', '--payload', `@${path.join(tmp, 'nope.json')}`]);
    assert.equal(missing.code, 2);
  });

  test('invoke --log prints the log tail to stderr', async () => {
    const r = await kumo(['invoke', 'cli-hello', '--payload', '{"who":"tail"}', '--log']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { who: string }).who, 'tail');
    assert.match(r.stderr, /^START RequestId: /m);
    assert.match(r.stderr, /INFO\thello log from tail$/m);
    assert.match(r.stderr, /^REPORT RequestId: /m);
  });

  test('deploy over an existing function updates code, then the flags given', async () => {
    const dir = fixture('hello-v2', { 'index.js': HELLO_V2 });
    const r = await kumo([
      'deploy',
      dir,
      '--name',
      'cli-hello',
      '--runtime',
      'nodejs20.x',
      '--handler',
      'index.handler',
      '--memory',
      '512',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Updated cli-hello$/m);
    const config = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'cli-hello' }));
    assert.equal(config.MemorySize, 512);
    assert.equal(config.Timeout, 5, 'flags not given stay as they were');
    assert.deepEqual(config.Environment?.Variables, { GREETING: 'hi there' });
    const out = await kumo(['invoke', 'cli-hello']);
    assert.equal((JSON.parse(out.stdout) as { version: number }).version, 2);
  });

  test('deploy takes a .zip file', async () => {
    const zip = path.join(tmp, 'fn.zip');
    fs.writeFileSync(zip, await zipEntries([{ name: 'main.js', content: 'exports.run = async () => "zipped";' }]));
    const r = await kumo(['deploy', zip, '--name', 'cli-zip', '--runtime', 'nodejs20.x', '--handler', 'main.run']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse((await kumo(['invoke', 'cli-zip'])).stdout), 'zipped');
  });

  test('a function error prints the error to stderr and exits 1', async () => {
    const dir = fixture('thrower', { 'index.js': 'exports.handler = async () => { throw new TypeError("bad input"); };' });
    assert.equal((await kumo(['deploy', dir, '--name', 'cli-thrower', '--runtime', 'nodejs20.x', '--handler', 'index.handler'])).code, 0);
    const r = await kumo(['invoke', 'cli-thrower']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /cli-thrower failed \(Unhandled\)/);
    assert.match(r.stderr, /"errorType":"TypeError"/);
    assert.match(r.stderr, /"errorMessage":"bad input"/);
  });

  test('ls lists every function, following NextMarker', async () => {
    // More than one page (ListFunctions returns at most 50); created with the SDK to save time.
    const zip = fs.readFileSync(path.join(tmp, 'fn.zip'));
    for (let i = 0; i < 52; i++) {
      const FunctionName = `cli-many-${String(i).padStart(2, '0')}`;
      await createNodeFunction(k.lambda, FunctionName, zip, { Handler: 'main.run' });
    }
    const r = await kumo(['ls']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+RUNTIME\s+MEMORY\(MB\)\s+TIMEOUT\(s\)\s+LAST MODIFIED$/);
    const hello = lines.find((l) => l.startsWith('cli-hello '));
    assert.match(hello ?? '', /^cli-hello\s+nodejs20\.x\s+512\s+5\s+\d{4}-\d\d-\d\dT[\d:.]+\+0000$/);
    assert.equal(lines.filter((l) => l.startsWith('cli-many-')).length, 52);
    assert.equal(lines.length, 1 + 52 + 3);
  });

  test('rm deletes; then the function is not found (exit 1 with the Lambda error)', async () => {
    const r = await kumo(['rm', 'cli-zip']);
    assert.equal(r.code, 0, r.stderr);
    const gone = await kumo(['invoke', 'cli-zip']);
    assert.equal(gone.code, 1);
    assert.equal(
      gone.stderr,
      'kumo: ResourceNotFoundException: Function not found: arn:aws:lambda:us-east-1:000000000000:function:cli-zip\n',
    );
    assert.equal((await kumo(['rm', 'cli-zip'])).code, 1);
  });
});

describe('kumo logs', () => {
  before(async () => {
    const dir = fixture('logger', { 'index.js': "exports.handler = async (e) => { console.log('log line ' + e.n); return e.n; };" });
    assert.equal((await kumo(['deploy', dir, '--name', 'cli-logger', '--runtime', 'nodejs20.x', '--handler', 'index.handler'])).code, 0);
    for (const n of [1, 2, 3]) assert.equal((await kumo(['invoke', 'cli-logger', '--payload', JSON.stringify({ n })])).code, 0);
  });

  test('prints the function log in order', async () => {
    let r: Result = { code: null, stdout: '', stderr: '' };
    await eventually(async () => {
      r = await kumo(['logs', 'cli-logger']);
      return (r.stdout.match(/^REPORT /gm) ?? []).length === 3;
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    const app = lines.filter((l) => l.includes('\tINFO\t')).map((l) => l.split('\t')[3]);
    assert.deepEqual(app, ['log line 1', 'log line 2', 'log line 3']);
    assert.match(lines[0] ?? '', /^START RequestId: /);
    assert.equal(lines.filter((l) => l.startsWith('START ')).length, 3);

    const filtered = await kumo(['logs', 'cli-logger', '--filter', '"log line 2"', '--since', '1h']);
    assert.deepEqual(
      filtered.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t')[3]),
      ['log line 2'],
    );
    const future = await kumo(['logs', 'cli-logger', '--since', new Date(Date.now() + 3_600_000).toISOString()]);
    assert.equal(future.stdout, '');
  });

  test('--follow prints new events as they arrive and stops on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [KUMO_BIN, '--endpoint', k.url, 'logs', 'cli-logger', '--follow', '--since', '1h', '--poll-interval', '50'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => Promise.resolve(stdout.includes('\tlog line 3\n')));
      assert.equal((await kumo(['invoke', 'cli-logger', '--payload', '{"n":4}'])).code, 0);
      await eventually(() => Promise.resolve(stdout.includes('\tlog line 4\n')));
      await eventually(() => Promise.resolve((stdout.match(/^REPORT /gm) ?? []).length === 4));
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, stderr);
    const app = stdout
      .split('\n')
      .filter((l) => l.includes('\tINFO\t'))
      .map((l) => l.split('\t')[3]);
    assert.deepEqual(app, ['log line 1', 'log line 2', 'log line 3', 'log line 4'], 'each event once, in order');
  });

  test('a function that never logged has no log group yet', async () => {
    const zip = path.join(tmp, 'fn.zip');
    assert.equal((await kumo(['deploy', zip, '--name', 'cli-quiet', '--runtime', 'nodejs20.x', '--handler', 'main.run'])).code, 0);
    const r = await kumo(['logs', 'cli-quiet']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no logs for cli-quiet yet/);
    const none = await kumo(['logs', 'cli-never-existed']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^kumo: ResourceNotFoundException: Function not found: /);
  });
});

describe('kumo errors and exit codes', () => {
  test('no server at the endpoint: a hint and exit 2', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}`;
    const r = await kumo(['--endpoint', url, 'ls']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`is \`kumo server\` running at ${url.replaceAll('.', '\\.')}\\?`));
    const envOnly = await new Promise<Result>((resolve) => {
      execFile(process.execPath, [KUMO_BIN, 'ls'], { env: { ...process.env, KUMO_ENDPOINT: url } }, (error, stdout, stderr) =>
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
      );
    });
    assert.equal(envOnly.code, 2);
    assert.match(envOnly.stderr, /kumo server/);
  });

  test('kumo server on a data directory a running Kumo uses: says which pid holds it, exit 1', async () => {
    const r = await kumo(['server', '--data-dir', k.dataDir, '--port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^kumo: the data directory .* is in use by another Kumo \\(pid ${process.pid}\\); stop it first`));
  });

  test('usage errors exit 2', async () => {
    assert.equal((await kumo(['invoke'])).code, 2); // missing argument
    assert.equal((await kumo(['frobnicate'])).code, 2); // unknown command
    assert.equal((await kumo(['deploy', tmp, '--name', 'x', '--memory', 'lots'])).code, 2);
    assert.equal((await kumo(['deploy', tmp, '--name', 'x', '--env', 'NOEQUALS'])).code, 2);
    assert.equal((await kumo(['logs', 'x', '--since', 'yesterday-ish'])).code, 2);
    const noRuntime = await kumo(['deploy', fixture('new', { 'index.js': HELLO_V1 }), '--name', 'cli-new']);
    assert.equal(noRuntime.code, 2);
    assert.match(noRuntime.stderr, /--runtime and --handler are required/);
    assert.equal((await kumo(['deploy', path.join(tmp, 'missing-dir'), '--name', 'x'])).code, 2);
    assert.equal((await kumo(['--endpoint', 'not a url', 'ls'])).code, 2);
    assert.equal((await kumo(['--help'])).code, 0);
  });

  test('API errors show the Lambda error type and message, exit 1', async () => {
    const dir = fixture('bad-runtime', { 'index.js': HELLO_V1 });
    const r = await kumo(['deploy', dir, '--name', 'cli-bad', '--runtime', 'cobol85', '--handler', 'index.handler']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^kumo: InvalidParameterValueException: /);
  });
});

/** A loopback port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
