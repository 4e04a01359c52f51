/**
 * Debian's AWS CLI v2 (`/usr/bin/aws`, unchanged) against a real Kumo: the whole function
 * lifecycle for each runtime family, pagination, waiters, and errors with the CLI's exit codes
 * (254 for an error the service returned, 252 for one the CLI caught itself).
 *
 * The CLI is called by its absolute path: an `aws` on PATH may be a pyenv shim for CLI v1.
 * `.ci/run` installs the `awscli` package; without it the suite is skipped with the reason printed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { zipDirectory, zipEntries, type ZipEntrySpec } from '../../src/code/index.js';
import { AWS_CLI, AWS_CLI_MISSING, CLI_ENV, type CliResult } from '../helpers/aws-cli.js';
import { repoPath, startKumo, type TestKumo } from '../helpers/server.js';

const SKIP = AWS_CLI_MISSING;
if (SKIP) console.log(`aws-cli.test: skipping: ${SKIP}`);

const ROLE = 'arn:aws:iam::000000000000:role/cli-test';

/** `--name value` flags; `true` is a flag without a value. */
type Flags = Record<string, string | true>;

interface FunctionConfiguration {
  FunctionName: string;
  FunctionArn: string;
  Runtime: string;
  Handler: string;
  CodeSha256: string;
  CodeSize: number;
  Timeout: number;
  MemorySize: number;
  Description: string;
  RevisionId: string;
  State?: string;
  LastUpdateStatus?: string;
  Environment?: { Variables: Record<string, string> };
}

interface GetFunctionOutput {
  Configuration: FunctionConfiguration;
  Code: { RepositoryType: string; Location: string };
}

interface InvokeOutput {
  StatusCode: number;
  ExecutedVersion: string;
  LogResult?: string;
  FunctionError?: string;
}

interface ListOutput {
  Functions: FunctionConfiguration[];
  NextToken?: string;
}

interface Family {
  label: string;
  name: string;
  runtime: string;
  handler: string;
  /** The example in examples/ it is created from. */
  example: string;
  /** The example's exact answer to {"name":"Kumo"}. */
  v1: string;
  /** The second version of the code: it reports the GREETING variable. */
  v2: ZipEntrySpec[];
  /** The second version's exact answer to {"name":"Kumo"}, with GREETING given. */
  v2Answer: (greeting: string) => string;
  /** A line the example writes to its log on {"name":"Kumo"}. */
  logLine: RegExp;
}

const FAMILIES: Family[] = [
  {
    label: 'Node.js',
    name: 'cli-node',
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    example: 'node-hello',
    v1: '{"message":"Hello, Kumo!"}',
    v2: [
      {
        name: 'index.mjs',
        content: 'export const handler = async (e) => ({ version: 2, message: `${process.env.GREETING}, ${e.name}!` });\n',
      },
    ],
    v2Answer: (g) => `{"version":2,"message":"${g}, Kumo!"}`,
    logLine: /\tINFO\tSaying hello to Kumo /,
  },
  {
    label: 'Python',
    name: 'cli-python',
    runtime: 'python3.12',
    handler: 'app.handler',
    example: 'python-hello',
    v1: '{"message": "Hello, Kumo!"}',
    v2: [
      {
        name: 'app.py',
        content: [
          'import os',
          '',
          '',
          'def handler(event, context):',
          '    return {"version": 2, "message": f"{os.environ[\'GREETING\']}, {event[\'name\']}!"}',
          '',
        ].join('\n'),
      },
    ],
    v2Answer: (g) => `{"version": 2, "message": "${g}, Kumo!"}`,
    logLine: /\[INFO\]\t.*\tSaying hello to Kumo\n/,
  },
  {
    label: 'custom runtime (bash)',
    name: 'cli-provided',
    runtime: 'provided.al2023',
    handler: 'function.handler',
    example: 'provided-bash',
    v1: `Echoing request: '{"name":"Kumo"}'`,
    v2: [
      { name: 'bootstrap', content: fs.readFileSync(repoPath('examples/provided-bash/bootstrap')), mode: 0o755 },
      { name: 'function.sh', content: 'function handler () {\n  echo "v2 $GREETING: $1"\n}\n' },
    ],
    v2Answer: (g) => `v2 ${g}: {"name":"Kumo"}`,
    logLine: /\n\{"name":"Kumo"\}\n/,
  },
];

let k: TestKumo;
let tmp: string;

/**
 * Runs `aws <command> --flag value... <positional...>` against Kumo, e.g.
 * `aws('lambda get-function', { 'function-name': 'f' })`. Never throws for a non-zero exit.
 */
function aws(command: string, flags: Flags = {}, ...positional: string[]): Promise<CliResult> {
  const args = [
    '--endpoint-url',
    k.url,
    '--output',
    'json',
    ...command.split(' '),
    ...Object.entries(flags).flatMap(([name, value]) => (value === true ? [`--${name}`] : [`--${name}`, value])),
    ...positional,
  ];
  return new Promise((resolve, reject) => {
    execFile(AWS_CLI, args, { env: CLI_ENV, cwd: tmp, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      // A number is the CLI's exit code; anything else means it did not run or was killed.
      if (err && typeof err.code !== 'number') reject(new Error(`aws ${command} did not finish: ${err.message}`, { cause: err }));
      else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** Runs the CLI, expecting success; returns its parsed JSON output. */
async function awsJson<T>(command: string, flags: Flags = {}, ...positional: string[]): Promise<T> {
  const r = await aws(command, flags, ...positional);
  assert.equal(r.code, 0, `aws ${command} exited with ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Runs the CLI, expecting it to exit with `code` and print something matching `stderr`. */
async function awsFails(code: number, stderr: RegExp, command: string, flags: Flags = {}, ...positional: string[]): Promise<void> {
  const r = await aws(command, flags, ...positional);
  assert.equal(r.code, code, `aws ${command}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, stderr);
}

/** `aws lambda invoke` with a JSON payload and the log tail; returns its output, the response file's text and the decoded log. */
async function invoke(name: string, payload: string): Promise<{ out: InvokeOutput; body: string; log: string }> {
  const outFile = path.join(tmp, `${name}-${crypto.randomUUID()}.out`);
  const out = await awsJson<InvokeOutput>(
    'lambda invoke',
    { 'function-name': name, 'cli-binary-format': 'raw-in-base64-out', payload, 'log-type': 'Tail' },
    outFile,
  );
  return { out, body: fs.readFileSync(outFile, 'utf8'), log: Buffer.from(out.LogResult ?? '', 'base64').toString() };
}

function writeTemp(name: string, data: Buffer): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, data);
  return file;
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return Buffer.from(await res.arrayBuffer());
}

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('base64');
const createFlags = (name: string, zipFile: string, runtime = 'nodejs20.x', handler = 'index.handler'): Flags => ({
  'function-name': name,
  runtime,
  handler,
  role: ROLE,
  'zip-file': `fileb://${zipFile}`,
});

describe('AWS CLI v2', { skip: SKIP }, () => {
  /** Zip file paths by function name: v1 (the example) and v2. */
  const zips = new Map<string, { v1: string; v2: string }>();
  const zipOf = (name: string, v: 'v1' | 'v2') => zips.get(name)?.[v] ?? assert.fail(`no ${v} zip for ${name}`);

  before(async () => {
    k = await startKumo();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-cli-'));
    for (const f of FAMILIES) {
      zips.set(f.name, {
        v1: writeTemp(`${f.name}-v1.zip`, await zipDirectory(repoPath('examples', f.example))),
        v2: writeTemp(`${f.name}-v2.zip`, await zipEntries(f.v2)),
      });
    }
  });
  after(async () => {
    await k?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // Each CLI call costs about a second of Python start-up, so the three families run side by side;
  // the steps within one family run in order.
  describe('the function lifecycle, per runtime family', { concurrency: true }, () => {
    for (const f of FAMILIES) {
      describe(`${f.label} (${f.runtime})`, { concurrency: 1 }, () => {
        let created: FunctionConfiguration;
        let codeUpdated: FunctionConfiguration;

        test('create-function --zip-file fileb://, then wait function-active-v2', async () => {
          const zip = fs.readFileSync(zipOf(f.name, 'v1'));
          created = await awsJson<FunctionConfiguration>(
            'lambda create-function',
            createFlags(f.name, zipOf(f.name, 'v1'), f.runtime, f.handler),
          );
          assert.equal(created.FunctionName, f.name);
          assert.equal(created.FunctionArn, `arn:aws:lambda:us-east-1:000000000000:function:${f.name}`);
          assert.equal(created.Runtime, f.runtime);
          assert.equal(created.Handler, f.handler);
          assert.equal(created.CodeSha256, sha256(zip));
          assert.equal(created.CodeSize, zip.length);
          assert.equal(created.Timeout, 3);
          assert.equal(created.MemorySize, 128);
          const waited = await aws('lambda wait function-active-v2', { 'function-name': f.name });
          assert.equal(waited.code, 0, waited.stderr);
        });

        test('get-function: the configuration, and a Code.Location that downloads the same zip', async () => {
          const out = await awsJson<GetFunctionOutput>('lambda get-function', { 'function-name': f.name });
          assert.equal(out.Configuration.State, 'Active');
          assert.equal(out.Configuration.RevisionId, created.RevisionId);
          assert.equal(out.Configuration.CodeSha256, created.CodeSha256);
          assert.equal(out.Code.RepositoryType, 'S3');
          assert.deepEqual(await download(out.Code.Location), fs.readFileSync(zipOf(f.name, 'v1')));
        });

        test('get-function-configuration, by ARN', async () => {
          const byArn = await awsJson<FunctionConfiguration>('lambda get-function-configuration', { 'function-name': created.FunctionArn });
          assert.equal(byArn.FunctionName, f.name);
          assert.equal(byArn.Runtime, f.runtime);
          assert.equal(byArn.State, 'Active');
          assert.equal(byArn.LastUpdateStatus, 'Successful');
          assert.equal(byArn.RevisionId, created.RevisionId);
        });

        test('invoke --payload --log-type Tail: the output file and the decoded START/END/REPORT', async () => {
          const { out, body, log } = await invoke(f.name, '{"name":"Kumo"}');
          assert.equal(out.StatusCode, 200);
          assert.equal(out.ExecutedVersion, '$LATEST');
          assert.equal(out.FunctionError, undefined, body);
          assert.equal(body, f.v1);
          const requestId = /^START RequestId: ([0-9a-f-]{36}) Version: \$LATEST\n/.exec(log)?.[1];
          assert.ok(requestId, log);
          assert.ok(log.includes(`\nEND RequestId: ${requestId}\n`), log);
          assert.match(
            log,
            new RegExp(`\\nREPORT RequestId: ${requestId}\\tDuration: [\\d.]+ ms\\tBilled Duration: \\d+ ms\\tMemory Size: 128 MB\\t`),
          );
          assert.match(log, f.logLine);
        });

        test('update-function-code --zip-file; get-function serves the new zip', async () => {
          const zip = fs.readFileSync(zipOf(f.name, 'v2'));
          codeUpdated = await awsJson<FunctionConfiguration>('lambda update-function-code', {
            'function-name': f.name,
            'zip-file': `fileb://${zipOf(f.name, 'v2')}`,
          });
          assert.equal(codeUpdated.CodeSha256, sha256(zip));
          assert.equal(codeUpdated.CodeSize, zip.length);
          assert.notEqual(codeUpdated.RevisionId, created.RevisionId);
          const got = await awsJson<GetFunctionOutput>('lambda get-function', { 'function-name': f.name });
          assert.equal(got.Configuration.LastUpdateStatus, 'Successful');
          assert.equal(got.Configuration.RevisionId, codeUpdated.RevisionId);
          assert.deepEqual(await download(got.Code.Location), zip);
        });

        test('update-function-configuration --revision-id, wait function-updated-v2; the next invoke sees the change', async () => {
          const out = await awsJson<FunctionConfiguration>('lambda update-function-configuration', {
            'function-name': f.name,
            environment: 'Variables={GREETING=Hola,STAGE=test}',
            timeout: '10',
            'memory-size': '256',
            description: 'updated by the AWS CLI',
            'revision-id': codeUpdated.RevisionId,
          });
          assert.deepEqual(out.Environment, { Variables: { GREETING: 'Hola', STAGE: 'test' } });
          assert.equal(out.Timeout, 10);
          assert.equal(out.MemorySize, 256);
          assert.equal(out.Description, 'updated by the AWS CLI');
          assert.equal(out.CodeSha256, codeUpdated.CodeSha256);
          assert.notEqual(out.RevisionId, codeUpdated.RevisionId);
          const waited = await aws('lambda wait function-updated-v2', { 'function-name': f.name });
          assert.equal(waited.code, 0, waited.stderr);

          const invoked = await invoke(f.name, '{"name":"Kumo"}');
          assert.equal(invoked.out.FunctionError, undefined, invoked.body);
          assert.equal(invoked.body, f.v2Answer('Hola'));
          assert.match(invoked.log, /\tMemory Size: 256 MB\t/);
        });
      });
    }
  });

  describe('list-functions pagination', () => {
    const all = FAMILIES.map((f) => f.name).sort();

    test('--max-items: the CLI NextToken, followed with --starting-token', async () => {
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const out = await awsJson<ListOutput>(
          'lambda list-functions',
          token ? { 'max-items': '1', 'starting-token': token } : { 'max-items': '1' },
        );
        assert.equal(out.Functions.length, 1);
        seen.push(...out.Functions.map((fn) => fn.FunctionName));
        token = out.NextToken;
        assert.ok(++pages <= all.length, 'too many pages');
      } while (token);
      assert.deepEqual(seen, all);
    });

    test('--page-size: the CLI follows the service NextMarker itself', async () => {
      const [whole, two, names] = await Promise.all([
        awsJson<ListOutput>('lambda list-functions', { 'page-size': '1' }),
        awsJson<ListOutput>('lambda list-functions', { 'page-size': '1', 'max-items': '2' }),
        aws('lambda list-functions', { query: 'Functions[].FunctionName', output: 'text' }),
      ]);
      assert.deepEqual(
        whole.Functions.map((fn) => fn.FunctionName),
        all,
      );
      assert.equal(whole.NextToken, undefined);
      assert.deepEqual(
        two.Functions.map((fn) => fn.FunctionName),
        all.slice(0, 2),
      );
      assert.deepEqual(names.stdout.trim().split('\t'), all);
      const rest = await awsJson<ListOutput>('lambda list-functions', {
        'page-size': '1',
        'starting-token': two.NextToken ?? assert.fail('no NextToken'),
      });
      assert.deepEqual(
        rest.Functions.map((fn) => fn.FunctionName),
        all.slice(2),
      );
    });
  });

  describe('errors: exit code 254 and the Lambda error type on stderr', () => {
    test('a missing function: get-function, get-function-configuration, invoke, delete-function, update-*', async () => {
      const missing =
        /An error occurred \(ResourceNotFoundException\) when calling the \w+ operation: Function not found: arn:aws:lambda:us-east-1:000000000000:function:cli-missing/;
      const name = { 'function-name': 'cli-missing' };
      await Promise.all([
        awsFails(254, missing, 'lambda get-function', name),
        awsFails(254, missing, 'lambda get-function-configuration', name),
        awsFails(254, missing, 'lambda invoke', name, path.join(tmp, 'missing.out')),
        awsFails(254, missing, 'lambda delete-function', name),
        awsFails(254, missing, 'lambda update-function-configuration', { ...name, timeout: '5' }),
        awsFails(254, missing, 'lambda update-function-code', { ...name, 'zip-file': `fileb://${zipOf('cli-node', 'v1')}` }),
      ]);
    });

    test('a stale --revision-id is a PreconditionFailedException', async () => {
      await awsFails(
        254,
        /\(PreconditionFailedException\) when calling the UpdateFunctionConfiguration operation/,
        'lambda update-function-configuration',
        { 'function-name': 'cli-node', timeout: '11', 'revision-id': crypto.randomUUID() },
      );
    });

    test('a corrupt zip is an InvalidParameterValueException; a non-zip the CLI refuses itself (252)', async () => {
      // The CLI reads only the central directory, so a zip whose deflated data is damaged gets past it.
      const good = await zipEntries([{ name: 'index.mjs', content: `export const handler = async () => '${'x'.repeat(200)}';\n` }]);
      const corrupt = Buffer.from(good);
      const dataStart = 30 + corrupt.readUInt16LE(26) + corrupt.readUInt16LE(28);
      for (let i = dataStart; i < dataStart + 8; i++) corrupt[i] = (corrupt[i] ?? 0) ^ 0xff;
      const corruptFile = writeTemp('corrupt.zip', corrupt);
      const notZip = writeTemp('not-a-zip.zip', Buffer.from('#!/bin/sh\necho hi\n'));
      const unzip = 'Could not unzip uploaded file\\. Please check your file, then try to upload again\\.';
      await Promise.all([
        awsFails(
          254,
          new RegExp(`An error occurred \\(InvalidParameterValueException\\) when calling the CreateFunction operation: ${unzip}`),
          'lambda create-function',
          createFlags('cli-corrupt', corruptFile),
        ),
        awsFails(
          254,
          new RegExp(`\\(InvalidParameterValueException\\) when calling the UpdateFunctionCode operation: ${unzip}`),
          'lambda update-function-code',
          { 'function-name': 'cli-node', 'zip-file': `fileb://${corruptFile}` },
        ),
        awsFails(
          252,
          /--zip-file must be a zip file with the fileb:\/\/ prefix/,
          'lambda create-function',
          createFlags('cli-notzip', notZip),
        ),
      ]);
      await awsFails(254, /ResourceNotFoundException/, 'lambda get-function', { 'function-name': 'cli-corrupt' });
    });

    test('an empty zip is an InvalidParameterValueException', async () => {
      const empty = writeTemp('empty.zip', Buffer.concat([Buffer.from('PK\x05\x06'), Buffer.alloc(18)]));
      try {
        await awsFails(
          254,
          /\(InvalidParameterValueException\) when calling the CreateFunction operation: Uploaded file must be a non-empty zip/,
          'lambda create-function',
          createFlags('cli-empty', empty),
        );
      } finally {
        await aws('lambda delete-function', { 'function-name': 'cli-empty' });
      }
    });

    test('a function that exists already, an unknown runtime, an out-of-range timeout', async () => {
      const node = zipOf('cli-node', 'v1');
      await Promise.all([
        awsFails(
          254,
          /\(ResourceConflictException\) when calling the CreateFunction operation: Function already exist: cli-node/,
          'lambda create-function',
          createFlags('cli-node', node),
        ),
        awsFails(
          254,
          /\(InvalidParameterValueException\) when calling the CreateFunction operation: .*nodejs99\.x/,
          'lambda create-function',
          createFlags('cli-bad-runtime', node, 'nodejs99.x'),
        ),
        awsFails(
          254,
          /\(ValidationException\) when calling the UpdateFunctionConfiguration operation: .*'timeout'/,
          'lambda update-function-configuration',
          {
            'function-name': 'cli-node',
            timeout: '901',
          },
        ),
      ]);
    });

    test('a function error is not a CLI error: exit 0, FunctionError and the error document', async () => {
      const zip = writeTemp(
        'thrower.zip',
        await zipEntries([{ name: 'index.js', content: "exports.handler = async () => { throw new TypeError('nope'); };\n" }]),
      );
      await awsJson('lambda create-function', createFlags('cli-thrower', zip));
      const { out, body } = await invoke('cli-thrower', '{}');
      assert.equal(out.StatusCode, 200);
      assert.equal(out.FunctionError, 'Unhandled');
      const error = JSON.parse(body) as { errorType: string; errorMessage: string };
      assert.equal(error.errorType, 'TypeError');
      assert.equal(error.errorMessage, 'nope');
      assert.equal((await aws('lambda delete-function', { 'function-name': 'cli-thrower' })).code, 0);
    });
  });

  test('get-account-settings', async () => {
    const out = await awsJson<{
      AccountLimit: { CodeSizeZipped: number; CodeSizeUnzipped: number; ConcurrentExecutions: number; TotalCodeSize: number };
      AccountUsage: { FunctionCount: number; TotalCodeSize: number };
    }>('lambda get-account-settings');
    assert.equal(out.AccountLimit.CodeSizeZipped, 52_428_800);
    assert.equal(out.AccountLimit.CodeSizeUnzipped, 262_144_000);
    assert.equal(out.AccountLimit.ConcurrentExecutions, 1000);
    assert.equal(out.AccountUsage.FunctionCount, FAMILIES.length);
    const codeSize = FAMILIES.reduce((sum, f) => sum + fs.statSync(zipOf(f.name, 'v2')).size, 0);
    assert.equal(out.AccountUsage.TotalCodeSize, codeSize);
  });

  describe('delete-function', () => {
    test('deletes each function; get-function then is a ResourceNotFoundException', async () => {
      await Promise.all(
        FAMILIES.map(async (f) => {
          const r = await aws('lambda delete-function', { 'function-name': f.name });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, '');
          await awsFails(254, /ResourceNotFoundException/, 'lambda get-function', { 'function-name': f.name });
        }),
      );
      const list = await awsJson<ListOutput>('lambda list-functions');
      assert.deepEqual(list.Functions, []);
    });
  });
});
