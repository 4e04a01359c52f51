import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import {
  DeleteFunctionCommand,
  GetAccountSettingsCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaServiceException,
  ListFunctionsCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  type CreateFunctionCommandInput,
} from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { KumoError } from '../../src/errors/index.js';
import { craftZip } from '../helpers/zip.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';

const k = useKumo();
let helloZip: Buffer;

before(async () => {
  helloZip = await zipEntries([
    { name: 'index.js', content: 'exports.handler = async (e) => ({ version: 1, echo: e, env: process.env.GREETING ?? null });' },
  ]);
});

function create(overrides: Partial<CreateFunctionCommandInput> & { FunctionName: string }) {
  return createNodeFunction(k.lambda, overrides.FunctionName, helloZip, overrides);
}

/** Runs `fn`, expecting Lambda's error `name` with HTTP `status`; returns the error. */
async function rejects(fn: () => Promise<unknown>, name: string, status: number, message?: RegExp): Promise<LambdaServiceException> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof LambdaServiceException, `expected a LambdaServiceException, got ${String(err)}`);
    assert.equal(err.name, name, err.message);
    assert.equal(err.$metadata.httpStatusCode, status);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${name}`);
}

async function invokeJson(name: string, payload: unknown = {}): Promise<unknown> {
  const out = await k.lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(payload)) }));
  assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
  return JSON.parse(Buffer.from(out.Payload ?? []).toString());
}

describe('CreateFunction', () => {
  test('returns the configuration Lambda returns, Pending until read back', async () => {
    const out = await create({ FunctionName: 'create-shape', Description: 'hi', MemorySize: 256, Timeout: 10 });
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.equal(out.FunctionArn, 'arn:aws:lambda:us-east-1:000000000000:function:create-shape');
    assert.equal(out.CodeSha256, crypto.createHash('sha256').update(helloZip).digest('base64'));
    assert.equal(out.CodeSize, helloZip.length);
    assert.equal(out.Version, '$LATEST');
    assert.equal(out.State, 'Pending');
    assert.equal(out.PackageType, 'Zip');
    assert.deepEqual(out.Architectures, ['x86_64']);
    assert.deepEqual(out.EphemeralStorage, { Size: 512 });
    assert.equal(out.MemorySize, 256);
    assert.equal(out.Timeout, 10);
    assert.equal(out.Description, 'hi');
    assert.match(out.LastModified ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    assert.match(out.RevisionId ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(out.LoggingConfig, { LogFormat: 'Text', LogGroup: '/aws/lambda/create-shape' });
    const read = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'create-shape' }));
    assert.equal(read.State, 'Active');
    assert.equal(read.LastUpdateStatus, 'Successful');
    assert.equal(read.RevisionId, out.RevisionId);
  });

  test('a second function with the same name is a ResourceConflictException', async () => {
    await create({ FunctionName: 'dup' });
    await rejects(() => create({ FunctionName: 'dup' }), 'ResourceConflictException', 409, /^Function already exist: dup$/);
  });

  const invalid: Array<[string, Partial<CreateFunctionCommandInput> & { FunctionName: string }, string, number, RegExp]> = [
    [
      'a name with bad characters',
      { FunctionName: 'bad name!' },
      'ValidationException',
      400,
      /at 'functionName' failed to satisfy constraint/,
    ],
    [
      'a name over 64 characters',
      { FunctionName: 'a'.repeat(65) },
      'InvalidParameterValueException',
      400,
      /Member must have length less than or equal to 64/,
    ],
    [
      'an unknown runtime',
      { FunctionName: 'rt1', Runtime: 'nodejs99.x' as never },
      'InvalidParameterValueException',
      400,
      /^Value nodejs99\.x at 'runtime' failed to satisfy constraint/,
    ],
    ['a deprecated runtime', { FunctionName: 'rt2', Runtime: 'nodejs12.x' }, 'InvalidParameterValueException', 400, /no longer supported/],
    [
      'a Lambda runtime Kumo cannot run',
      { FunctionName: 'rt3', Runtime: 'java21' },
      'InvalidParameterValueException',
      400,
      /not supported by Kumo/,
    ],
    ['a handler with whitespace', { FunctionName: 'h1', Handler: 'index handler' }, 'ValidationException', 400, /at 'handler'/],
    [
      'a handler over 128 characters',
      { FunctionName: 'h2', Handler: 'a'.repeat(129) },
      'ValidationException',
      400,
      /length less than or equal to 128/,
    ],
    [
      'memory under 128',
      { FunctionName: 'm1', MemorySize: 64 },
      'ValidationException',
      400,
      /at 'memorySize'.*greater than or equal to 128/,
    ],
    ['memory over 10240', { FunctionName: 'm2', MemorySize: 10241 }, 'ValidationException', 400, /less than or equal to 10240/],
    ['a timeout of 0', { FunctionName: 't1', Timeout: 0 }, 'ValidationException', 400, /at 'timeout'/],
    ['a timeout over 900', { FunctionName: 't2', Timeout: 901 }, 'ValidationException', 400, /less than or equal to 900/],
    [
      'ephemeral storage over 10240',
      { FunctionName: 'e1', EphemeralStorage: { Size: 10241 } },
      'ValidationException',
      400,
      /ephemeralStorage\.size/,
    ],
    ['a description over 256', { FunctionName: 'd1', Description: 'x'.repeat(257) }, 'ValidationException', 400, /at 'description'/],
    ['a malformed role', { FunctionName: 'r1', Role: 'lambdarole' }, 'ValidationException', 400, /at 'role'/],
    [
      'environment variables over 4 KB',
      { FunctionName: 'env1', Environment: { Variables: { BIG: 'x'.repeat(4100) } } },
      'InvalidParameterValueException',
      400,
      /exceeded the 4KB limit\. String measured: \{"BIG":/,
    ],
    [
      'a reserved environment variable',
      { FunctionName: 'env2', Environment: { Variables: { AWS_REGION: 'x' } } },
      'InvalidParameterValueException',
      400,
      /reserved keys.*AWS_REGION/,
    ],
    [
      'a payload that is not a zip',
      { FunctionName: 'z1', Code: { ZipFile: Buffer.from('definitely not a zip') } },
      'InvalidParameterValueException',
      400,
      /^Could not unzip uploaded file/,
    ],
    [
      'a zip entry with ../',
      { FunctionName: 'z2', Code: { ZipFile: craftZip([{ name: '../evil.js', data: 'x' }]) } },
      'InvalidParameterValueException',
      400,
      /evil/,
    ],
    [
      'a zip entry with an absolute path',
      { FunctionName: 'z3', Code: { ZipFile: craftZip([{ name: '/etc/evil', data: 'x' }]) } },
      'InvalidParameterValueException',
      400,
      /evil/,
    ],
    [
      'a zip symlink entry',
      { FunctionName: 'z4', Code: { ZipFile: craftZip([{ name: 'link', data: '/etc/passwd', mode: 0o120777 }]) } },
      'InvalidParameterValueException',
      400,
      /link/,
    ],
    ['no code', { FunctionName: 'c1', Code: {} }, 'InvalidParameterValueException', 400, /code/i],
  ];
  for (const [what, input, name, status, message] of invalid) {
    test(`rejects ${what} with ${name} and creates nothing`, async () => {
      await rejects(() => create(input), name, status, message);
      if (/^[a-zA-Z0-9-_]{1,64}$/.test(input.FunctionName)) {
        await rejects(() => k.lambda.send(new GetFunctionCommand({ FunctionName: input.FunctionName })), 'ResourceNotFoundException', 404);
      }
    });
  }

  test('rejects a zip over 250 MB unzipped (a zip bomb) with InvalidParameterValueException', async () => {
    const bomb = await zipEntries([{ name: 'zeros.bin', content: Buffer.alloc(262_144_001) }]);
    assert.ok(bomb.length < 1_000_000, 'the bomb compresses small');
    await rejects(
      () => create({ FunctionName: 'bomb', Code: { ZipFile: bomb } }),
      'InvalidParameterValueException',
      400,
      /^Unzipped size must be smaller than 262144000 bytes$/,
    );
  });

  test('rejects a zip over 50 MB with a 413', async () => {
    const big = await zipEntries([{ name: 'random.bin', content: crypto.randomBytes(50 * 1024 * 1024 + 1024) }]);
    await rejects(() => create({ FunctionName: 'big', Code: { ZipFile: big } }), 'RequestEntityTooLargeException', 413);
  });
});

describe('GetFunction and ListFunctions', () => {
  test('Code.Location downloads exactly the uploaded zip, and only with its signature', async () => {
    await create({ FunctionName: 'get-code' });
    const out = await k.lambda.send(new GetFunctionCommand({ FunctionName: 'get-code' }));
    assert.equal(out.Code?.RepositoryType, 'S3');
    const location = out.Code?.Location ?? '';
    const res = await fetch(location);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), helloZip);
    const forged = await fetch(location.replace(/Signature=[^&]+/, 'Signature=forged'));
    assert.equal(forged.status, 403);
    assert.equal(out.Configuration?.FunctionName, 'get-code');
  });

  test('accepts full and partial ARNs as the function name', async () => {
    await create({ FunctionName: 'by-arn' });
    const full = await k.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:by-arn' }),
    );
    assert.equal(full.FunctionName, 'by-arn');
    const partial = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: '000000000000:function:by-arn' }));
    assert.equal(partial.FunctionName, 'by-arn');
  });

  test('an unknown function is ResourceNotFoundException with its ARN', async () => {
    await rejects(
      () => k.lambda.send(new GetFunctionCommand({ FunctionName: 'nope' })),
      'ResourceNotFoundException',
      404,
      /^Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope$/,
    );
  });

  test('ListFunctions pages with Marker and MaxItems through every function once', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `list-${i}`);
    for (const name of names) await create({ FunctionName: name });
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await k.lambda.send(new ListFunctionsCommand({ MaxItems: 3, Marker: marker }));
      assert.ok((page.Functions?.length ?? 0) <= 3);
      for (const f of page.Functions ?? []) seen.push(f.FunctionName ?? '');
      marker = page.NextMarker;
      pages++;
    } while (marker);
    for (const name of names) assert.equal(seen.filter((s) => s === name).length, 1, name);
    assert.ok(pages >= 3);
    assert.deepEqual([...seen].sort(), seen, 'ordered by name');
  });

  test('ListFunctions rejects MaxItems out of range', async () => {
    await rejects(() => k.lambda.send(new ListFunctionsCommand({ MaxItems: 0 })), 'ValidationException', 400, /at 'maxItems'/);
  });
});

describe('updates', () => {
  test('UpdateFunctionCode changes what runs and the CodeSha256', async () => {
    await create({ FunctionName: 'upd-code' });
    assert.deepEqual(await invokeJson('upd-code', { a: 1 }), { version: 1, echo: { a: 1 }, env: null });
    const v2 = await zipEntries([{ name: 'index.js', content: 'exports.handler = async () => ({ version: 2 });' }]);
    const out = await k.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'upd-code', ZipFile: v2 }));
    assert.equal(out.CodeSha256, crypto.createHash('sha256').update(v2).digest('base64'));
    assert.equal(out.LastUpdateStatus, 'InProgress');
    assert.deepEqual(await invokeJson('upd-code'), { version: 2 });
  });

  test('UpdateFunctionConfiguration changes the environment the function sees', async () => {
    await create({ FunctionName: 'upd-cfg' });
    await invokeJson('upd-cfg');
    const out = await k.lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'upd-cfg',
        Environment: { Variables: { GREETING: 'hej' } },
        MemorySize: 512,
        Timeout: 30,
        Description: 'new',
        EphemeralStorage: { Size: 1024 },
      }),
    );
    assert.equal(out.MemorySize, 512);
    assert.equal(out.Timeout, 30);
    assert.equal(out.Description, 'new');
    assert.deepEqual(out.EphemeralStorage, { Size: 1024 });
    assert.deepEqual(out.Environment?.Variables, { GREETING: 'hej' });
    assert.deepEqual(await invokeJson('upd-cfg'), { version: 1, echo: {}, env: 'hej' });
  });

  test('a stale RevisionId is PreconditionFailedException and changes nothing', async () => {
    const created = await create({ FunctionName: 'upd-rev' });
    await k.lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'upd-rev', Description: 'one', RevisionId: created.RevisionId }),
    );
    await rejects(
      () =>
        k.lambda.send(
          new UpdateFunctionConfigurationCommand({ FunctionName: 'upd-rev', Description: 'two', RevisionId: created.RevisionId }),
        ),
      'PreconditionFailedException',
      412,
    );
    const now = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'upd-rev' }));
    assert.equal(now.Description, 'one');
  });

  test('an invalid update is rejected and changes nothing', async () => {
    const created = await create({ FunctionName: 'upd-bad', MemorySize: 256 });
    await rejects(
      () => k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'upd-bad', MemorySize: 256, Timeout: 1000 })),
      'ValidationException',
      400,
    );
    await rejects(
      () => k.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'upd-bad', ZipFile: Buffer.from('nope') })),
      'InvalidParameterValueException',
      400,
    );
    const now = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'upd-bad' }));
    assert.equal(now.RevisionId, created.RevisionId);
    assert.equal(now.Timeout, 3);
    assert.equal(now.CodeSha256, created.CodeSha256);
  });

  test('of two code updates racing on one RevisionId, the loser is a conflict and its stored archive is collected at once', async () => {
    const created = await create({ FunctionName: 'upd-race' });
    // The winner deploys the code the function has (a new RevisionId only), so it collects nothing itself.
    const lost = await zipEntries([{ name: 'index.js', content: "exports.handler = async () => 'lost';" }]);
    // Called in one tick, in-process: both pass the RevisionId check before either stores its code,
    // then store and record one after the other, so the second loses when it records (not at the check).
    const [first, second] = await Promise.allSettled(
      [helloZip, lost].map((zip) => k.kumo.functions.updateCode('upd-race', { zip, RevisionId: created.RevisionId })),
    );
    assert.equal(first?.status, 'fulfilled');
    assert.ok(second?.status === 'rejected');
    assert.ok(second.reason instanceof KumoError);
    assert.equal(second.reason.code, 'ResourceConflictException');
    const archive = (zip: Buffer) => path.join(k.dataDir, 'code', `${crypto.createHash('sha256').update(zip).digest('hex')}.zip`);
    assert.ok(fs.existsSync(archive(helloZip)), 'the function\'s code is stored');
    assert.ok(!fs.existsSync(archive(lost)), 'the losing code was left in the code store');
    assert.deepEqual(await invokeJson('upd-race'), { version: 1, echo: {}, env: null });
  });
});

describe('DeleteFunction', () => {
  test('deletes, then the function is gone', async () => {
    await create({ FunctionName: 'del-me' });
    await invokeJson('del-me');
    const out = await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'del-me' }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    await rejects(() => k.lambda.send(new GetFunctionCommand({ FunctionName: 'del-me' })), 'ResourceNotFoundException', 404);
    await rejects(() => k.lambda.send(new InvokeCommand({ FunctionName: 'del-me' })), 'ResourceNotFoundException', 404);
    await rejects(() => k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'del-me' })), 'ResourceNotFoundException', 404);
  });
});

describe('Invoke', () => {
  test('DryRun answers 204 without running anything', async () => {
    await create({ FunctionName: 'dry' });
    const out = await k.lambda.send(new InvokeCommand({ FunctionName: 'dry', InvocationType: 'DryRun' }));
    assert.equal(out.StatusCode, 204);
  });

  test('an empty payload arrives as {}', async () => {
    await create({ FunctionName: 'empty-payload' });
    const out = await k.lambda.send(new InvokeCommand({ FunctionName: 'empty-payload' }));
    assert.equal(out.StatusCode, 200);
    assert.equal(out.ExecutedVersion, '$LATEST');
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload ?? []).toString()), { version: 1, echo: {}, env: null });
  });

  test('ClientContext (base64) reaches the handler as context.clientContext', async () => {
    const zip = await zipEntries([{ name: 'index.js', content: 'exports.handler = async (e, context) => ({ cc: context.clientContext });' }]);
    await create({ FunctionName: 'client-ctx', Code: { ZipFile: zip } });
    const cc = { client: { installation_id: 'i-1' }, custom: { tenant: 'acme' }, env: { locale: 'en' } };
    const out = await k.lambda.send(
      new InvokeCommand({ FunctionName: 'client-ctx', ClientContext: Buffer.from(JSON.stringify(cc)).toString('base64') }),
    );
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload ?? []).toString()), { cc });
  });

  test('a payload that is not JSON is InvalidRequestContentException', async () => {
    await create({ FunctionName: 'bad-json' });
    await rejects(
      () => k.lambda.send(new InvokeCommand({ FunctionName: 'bad-json', Payload: Buffer.from('{nope') })),
      'InvalidRequestContentException',
      400,
      /^Could not parse request body into json: Could not parse payload into json: /,
    );
  });

  test('a payload over 6 MB is a 413', async () => {
    await create({ FunctionName: 'big-payload' });
    const payload = Buffer.from(JSON.stringify({ data: 'x'.repeat(6 * 1024 * 1024) }));
    await rejects(
      () => k.lambda.send(new InvokeCommand({ FunctionName: 'big-payload', Payload: payload })),
      'RequestEntityTooLargeException',
      413,
      /6291456 bytes/,
    );
  });

  test('LogType Tail returns the invocation log, base64, at most 4 KB', async () => {
    const zip = await zipEntries([
      {
        name: 'index.js',
        content:
          "exports.handler = async () => { for (let i = 0; i < 200; i++) console.log('line ' + i + ' ' + 'x'.repeat(40)); return 'ok'; };",
      },
    ]);
    await create({ FunctionName: 'tail', Code: { ZipFile: zip } });
    const out = await k.lambda.send(new InvokeCommand({ FunctionName: 'tail', LogType: 'Tail' }));
    const log = Buffer.from(out.LogResult ?? '', 'base64');
    assert.ok(log.length <= 4096 && log.length > 3000, `tail is ${log.length} bytes`);
    const text = log.toString();
    assert.match(text, /INFO\tline 199 x+\n/);
    assert.match(
      text,
      /END RequestId: [0-9a-f-]{36}\nREPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t/,
    );
  });
});

describe('GetAccountSettings', () => {
  test('reports Lambda limits and real usage', async () => {
    const before = await k.lambda.send(new GetAccountSettingsCommand({}));
    await create({ FunctionName: 'acct-1' });
    const after = await k.lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(after.AccountUsage?.FunctionCount, (before.AccountUsage?.FunctionCount ?? 0) + 1);
    assert.equal(after.AccountUsage?.TotalCodeSize, (before.AccountUsage?.TotalCodeSize ?? 0) + helloZip.length);
    assert.equal(after.AccountLimit?.ConcurrentExecutions, 1000);
    assert.equal(after.AccountLimit?.CodeSizeZipped, 52428800);
    assert.equal(after.AccountLimit?.CodeSizeUnzipped, 262144000);
  });
});
