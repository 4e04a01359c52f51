/**
 * Code signing against a real Kumo: code signing configurations and function links with
 * @aws-sdk/client-lambda and the AWS CLI, Kumo's signing profiles (real Ed25519 keys) and
 * `kumo sign`, and the check of every deployment: signed by an allowed profile passes; unsigned,
 * tampered, unknown, revoked and not-allowed are refused with Lambda's errors under Enforce, and all
 * but the tampered one deploy with a warning under Warn. Everything survives a restart.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  CreateCodeSigningConfigCommand,
  DeleteCodeSigningConfigCommand,
  DeleteFunctionCodeSigningConfigCommand,
  GetCodeSigningConfigCommand,
  GetFunctionCodeSigningConfigCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  ListFunctionsByCodeSigningConfigCommand,
  ListTagsCommand,
  TagResourceCommand,
  UntagResourceCommand,
  LambdaClient,
  ListCodeSigningConfigsCommand,
  PutFunctionCodeSigningConfigCommand,
  UpdateCodeSigningConfigCommand,
  UpdateFunctionCodeCommand,
  type CodeSigningPolicy,
} from '@aws-sdk/client-lambda';
import { pino } from 'pino';
import { digestZip, zipDirectory, zipEntries } from '../../src/code/index.js';
import { Kumo } from '../../src/server/index.js';
import { SIGNATURE_PATH, signZip, type SignatureDocument, type SigningProfileView } from '../../src/signing/index.js';
import { AWS_CLI_MISSING, awsCli, createNodeFunctionArgs } from '../helpers/aws-cli.js';
import { rejectsWith } from '../helpers/errors.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { repoPath, TEST_CREDENTIALS } from '../helpers/server.js';

const CSC_ARN_RE = /^arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-[0-9a-f]{17}$/;

let plain: Buffer;

async function profile(url: string, name: string): Promise<SigningProfileView> {
  const res = await fetch(`${url}/_kumo/signing-profiles`, { method: 'POST', body: JSON.stringify({ profileName: name }) });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as SigningProfileView;
}

async function revoke(url: string, name: string): Promise<void> {
  const res = await fetch(`${url}/_kumo/signing-profiles/${name}/revoke`, { method: 'POST' });
  assert.equal(res.status, 200);
}

/** Signs `zip` with the server's profile `name` (what `kumo sign` does). */
function sign(url: string, zip: Buffer, name: string): Promise<Buffer> {
  return signZip(zip, async (digest) => {
    const res = await fetch(`${url}/_kumo/signing-profiles/${name}/sign`, { method: 'POST', body: JSON.stringify({ digest }) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as SignatureDocument;
  });
}

/** The same archive with one file's content changed and the signature file kept. */
async function tamper(signed: Buffer): Promise<Buffer> {
  const { entries, kept } = await digestZip(signed, () => true);
  return zipEntries(
    entries.map((e) => ({
      name: e.name,
      content:
        e.name === 'index.mjs' ? Buffer.from('export const handler = async () => "pwned";\n') : (kept.get(e.name) ?? Buffer.alloc(0)),
      mode: e.unixMode,
    })),
  );
}

function createFn(lambda: LambdaClient, name: string, zip: Buffer, csc?: string) {
  return createNodeFunction(lambda, name, zip, csc ? { CodeSigningConfigArn: csc } : {});
}

async function csc(lambda: LambdaClient, allowed: string[], policy: 'Warn' | 'Enforce'): Promise<string> {
  const out = await lambda.send(
    new CreateCodeSigningConfigCommand({
      AllowedPublishers: { SigningProfileVersionArns: allowed },
      CodeSigningPolicies: { UntrustedArtifactOnDeployment: policy },
    }),
  );
  return out.CodeSigningConfig?.CodeSigningConfigArn ?? assert.fail('no CodeSigningConfigArn');
}

before(async () => {
  plain = await zipDirectory(repoPath('examples/node-hello'));
});

describe('code signing configurations with the SDK', () => {
  const k = useKumo({ stemCells: 0 });

  test("Create (201), Get, Update, List and Delete (204) in Lambda's shapes", async () => {
    const p = await profile(k.url, 'crud_profile');
    assert.match(p.profileVersionArn, /^arn:aws:signer:us-east-1:000000000000:\/signing-profiles\/crud_profile\/[A-Za-z0-9]{10}$/);
    const created = await k.lambda.send(
      new CreateCodeSigningConfigCommand({ Description: 'first', AllowedPublishers: { SigningProfileVersionArns: [p.profileVersionArn] } }),
    );
    assert.equal(created.$metadata.httpStatusCode, 201);
    const c = created.CodeSigningConfig ?? assert.fail('no CodeSigningConfig');
    assert.match(c.CodeSigningConfigArn ?? '', CSC_ARN_RE);
    assert.equal(c.CodeSigningConfigArn, `arn:aws:lambda:us-east-1:000000000000:code-signing-config:${c.CodeSigningConfigId}`);
    assert.deepEqual(c.AllowedPublishers, { SigningProfileVersionArns: [p.profileVersionArn] });
    assert.deepEqual(c.CodeSigningPolicies, { UntrustedArtifactOnDeployment: 'Warn' });
    assert.equal(c.Description, 'first');
    assert.match(c.LastModified ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);

    const arn = c.CodeSigningConfigArn ?? '';
    assert.deepEqual((await k.lambda.send(new GetCodeSigningConfigCommand({ CodeSigningConfigArn: arn }))).CodeSigningConfig, c);
    const updated = await k.lambda.send(
      new UpdateCodeSigningConfigCommand({
        CodeSigningConfigArn: arn,
        Description: 'second',
        CodeSigningPolicies: { UntrustedArtifactOnDeployment: 'Enforce' },
      }),
    );
    assert.equal(updated.CodeSigningConfig?.Description, 'second');
    assert.equal(updated.CodeSigningConfig?.CodeSigningPolicies?.UntrustedArtifactOnDeployment, 'Enforce');
    assert.deepEqual(updated.CodeSigningConfig?.AllowedPublishers, c.AllowedPublishers);
    const listed = await k.lambda.send(new ListCodeSigningConfigsCommand({}));
    assert.ok(listed.CodeSigningConfigs?.some((x) => x.CodeSigningConfigArn === arn));

    const deleted = await k.lambda.send(new DeleteCodeSigningConfigCommand({ CodeSigningConfigArn: arn }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    await rejectsWith(
      k.lambda.send(new GetCodeSigningConfigCommand({ CodeSigningConfigArn: arn })),
      'ResourceNotFoundException',
      /^The Lambda code signing configuration arn:aws:lambda:.* can not be found\.$/,
    );
    await rejectsWith(
      k.lambda.send(new GetCodeSigningConfigCommand({ CodeSigningConfigArn: 'csc-nope' })),
      'ValidationException',
      /codeSigningConfigArn/,
    );
    await rejectsWith(
      k.lambda.send(
        new CreateCodeSigningConfigCommand({
          AllowedPublishers: { SigningProfileVersionArns: [p.profileVersionArn] },
          CodeSigningPolicies: { UntrustedArtifactOnDeployment: 'Maybe' as CodeSigningPolicy },
        }),
      ),
      'ValidationException',
      /untrustedArtifactOnDeployment/,
    );
    await rejectsWith(
      k.lambda.send(new ListCodeSigningConfigsCommand({ MaxItems: 20_000 })),
      'ValidationException',
      /at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000/,
    );
  });

  test('ListCodeSigningConfigs pages with Marker and NextMarker; a marker it did not make is refused', async () => {
    const p = await profile(k.url, 'paging_profile');
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const out = await k.lambda.send(new CreateCodeSigningConfigCommand({ AllowedPublishers: { SigningProfileVersionArns: [p.profileVersionArn] } }));
      made.push(out.CodeSigningConfig?.CodeSigningConfigArn ?? '');
    }
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await k.lambda.send(new ListCodeSigningConfigsCommand({ MaxItems: 1, Marker: marker }));
      assert.ok((page.CodeSigningConfigs ?? []).length <= 1);
      seen.push(...(page.CodeSigningConfigs ?? []).map((c) => c.CodeSigningConfigArn ?? ''));
      marker = page.NextMarker;
    } while (marker);
    for (const arn of made) assert.ok(seen.includes(arn), `${arn} was listed`);
    assert.equal(new Set(seen).size, seen.length, 'no configuration listed twice');
    const rawId = made[0]?.split(':').pop() ?? '';
    await rejectsWith(k.lambda.send(new ListCodeSigningConfigsCommand({ Marker: rawId })), 'InvalidParameterValueException', 'Invalid marker');
    for (const arn of made) await k.lambda.send(new DeleteCodeSigningConfigCommand({ CodeSigningConfigArn: arn }));
  });

  test('Put, Get and Delete FunctionCodeSigningConfig; a configuration in use cannot be deleted', async () => {
    const p = await profile(k.url, 'link_profile');
    const arn = await csc(k.lambda, [p.profileVersionArn], 'Warn');
    await createFn(k.lambda, 'csc-link', plain);
    assert.deepEqual(
      { ...(await k.lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: 'csc-link' }))), $metadata: undefined },
      { $metadata: undefined },
    );
    const put = await k.lambda.send(new PutFunctionCodeSigningConfigCommand({ FunctionName: 'csc-link', CodeSigningConfigArn: arn }));
    assert.equal(put.CodeSigningConfigArn, arn);
    assert.equal(put.FunctionName, 'csc-link');
    const got = await k.lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: 'csc-link' }));
    assert.equal(got.CodeSigningConfigArn, arn);
    assert.deepEqual((await k.lambda.send(new ListFunctionsByCodeSigningConfigCommand({ CodeSigningConfigArn: arn }))).FunctionArns, [
      'arn:aws:lambda:us-east-1:000000000000:function:csc-link',
    ]);
    await rejectsWith(k.lambda.send(new DeleteCodeSigningConfigCommand({ CodeSigningConfigArn: arn })), 'ResourceConflictException');
    const missing = arn.replace(/csc-[0-9a-f]{17}/, 'csc-0123456789abcdef0');
    await rejectsWith(
      k.lambda.send(new PutFunctionCodeSigningConfigCommand({ FunctionName: 'csc-link', CodeSigningConfigArn: missing })),
      'CodeSigningConfigNotFoundException',
      /^The code signing configuration cannot be found\. Check that the provided configuration is not deleted: /,
    );
    await rejectsWith(
      k.lambda.send(new PutFunctionCodeSigningConfigCommand({ FunctionName: 'csc-nobody', CodeSigningConfigArn: arn })),
      'ResourceNotFoundException',
      /^Function not found: /,
    );
    const removed = await k.lambda.send(new DeleteFunctionCodeSigningConfigCommand({ FunctionName: 'csc-link' }));
    assert.equal(removed.$metadata.httpStatusCode, 204);
    assert.equal(
      (await k.lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: 'csc-link' }))).CodeSigningConfigArn,
      undefined,
    );
    await k.lambda.send(new DeleteCodeSigningConfigCommand({ CodeSigningConfigArn: arn }));
  });
});

describe('tags of code signing configurations', () => {
  const k = useKumo({ stemCells: 0 });

  test('Tags on CreateCodeSigningConfig, TagResource, UntagResource and ListTags on its ARN; gone with it', async () => {
    const p = await profile(k.url, 'tagged_profile');
    const created = await k.lambda.send(
      new CreateCodeSigningConfigCommand({
        AllowedPublishers: { SigningProfileVersionArns: [p.profileVersionArn] },
        Tags: { team: 'sec' },
      }),
    );
    const arn = created.CodeSigningConfig?.CodeSigningConfigArn ?? assert.fail('no arn');
    assert.deepEqual((await k.lambda.send(new ListTagsCommand({ Resource: arn }))).Tags, { team: 'sec' });
    await k.lambda.send(new TagResourceCommand({ Resource: arn, Tags: { stage: 'prod' } }));
    await k.lambda.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['team'] }));
    assert.deepEqual((await k.lambda.send(new ListTagsCommand({ Resource: arn }))).Tags, { stage: 'prod' });
    await k.lambda.send(new DeleteCodeSigningConfigCommand({ CodeSigningConfigArn: arn }));
    await rejectsWith(k.lambda.send(new ListTagsCommand({ Resource: arn })), 'ResourceNotFoundException');
    await rejectsWith(
      k.lambda.send(
        new CreateCodeSigningConfigCommand({
          AllowedPublishers: { SigningProfileVersionArns: [p.profileVersionArn] },
          Tags: { 'aws:x': 'y' },
        }),
      ),
      'InvalidParameterValueException',
    );
    assert.deepEqual((await k.lambda.send(new ListCodeSigningConfigsCommand({}))).CodeSigningConfigs, []);
  });
});

describe('deployments to a function with a code signing configuration', () => {
  let kumo: Kumo;
  let lambda: LambdaClient;
  let url: string;
  let dataDir: string;
  const logLines: string[] = [];
  let allowed: SigningProfileView;
  let other: SigningProfileView;
  let revoked: SigningProfileView;
  let enforce: string;
  let warn: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-signing-test-'));
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    kumo = await Kumo.start({ port: 0, host: '127.0.0.1', dataDir, stemCells: 0 }, pino({ level: 'warn' }, sink));
    url = kumo.url;
    lambda = new LambdaClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    allowed = await profile(url, 'allowed');
    other = await profile(url, 'other');
    revoked = await profile(url, 'revoked');
    enforce = await csc(lambda, [allowed.profileVersionArn, revoked.profileVersionArn], 'Enforce');
    warn = await csc(lambda, [allowed.profileVersionArn, revoked.profileVersionArn], 'Warn');
  });
  after(async () => {
    lambda?.destroy();
    await kumo?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('`kumo sign` signs a zip that then deploys under Enforce, and runs', async () => {
    const file = path.join(dataDir, 'hello.zip');
    fs.writeFileSync(file, plain);
    const kumoCli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [repoPath('bin/kumo.js'), '--endpoint', url, ...args], (err, stdout, stderr) =>
          resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
        ),
      );
    const made = await kumoCli('signing-profile', 'create', 'cli_made');
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^arn:aws:signer:us-east-1:000000000000:\/signing-profiles\/cli_made\/[A-Za-z0-9]{10}\n$/);
    const unknown = await kumoCli('sign', file, '--profile', 'nobody');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^kumo: ResourceNotFoundException: Signing profile nobody does not exist\.\n$/);
    assert.deepEqual(fs.readFileSync(file), plain, 'a failed sign leaves the zip alone');
    const r = await kumoCli('sign', file, '--profile', 'allowed');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Signed ${file} with allowed\n`);
    const signed = fs.readFileSync(file);
    const { kept } = await digestZip(signed, (n) => n === SIGNATURE_PATH);
    const doc = JSON.parse(kept.get(SIGNATURE_PATH)?.toString() ?? '{}') as SignatureDocument;
    assert.equal(doc.profileVersionArn, allowed.profileVersionArn);
    const created = await createFn(lambda, 'signed-ok', signed, enforce);
    assert.equal(created.FunctionName, 'signed-ok');
    // Lambda names who signed the code in the function's configuration.
    assert.equal(created.SigningProfileVersionArn, allowed.profileVersionArn);
    assert.match(
      created.SigningJobArn ?? '',
      /^arn:aws:signer:us-east-1:000000000000:\/signing-jobs\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    const read = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'signed-ok' }));
    assert.deepEqual([read.SigningProfileVersionArn, read.SigningJobArn], [created.SigningProfileVersionArn, created.SigningJobArn]);
    assert.equal((await lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: 'signed-ok' }))).CodeSigningConfigArn, enforce);
    const invoked = await lambda.send(new InvokeCommand({ FunctionName: 'signed-ok', Payload: Buffer.from('{"name":"Kumo"}') }));
    assert.equal(invoked.FunctionError, undefined);
    assert.equal(Buffer.from(invoked.Payload ?? []).toString(), '{"message":"Hello, Kumo!"}');
  });

  test('Enforce refuses unsigned, tampered, unknown-profile, revoked-profile and not-allowed code, creating nothing', async () => {
    const signedByRevoked = await sign(url, plain, 'revoked');
    await revoke(url, 'revoked');
    const forged = await zipEntries([
      { name: 'index.mjs', content: 'export const handler = async () => 1;\n' },
      {
        name: SIGNATURE_PATH,
        content: JSON.stringify({
          format: 'kumo-signature-1',
          profileVersionArn: 'arn:aws:signer:us-east-1:000000000000:/signing-profiles/ghost/AbCdEfGhIj',
          signedAt: new Date().toISOString(),
          digest: '0'.repeat(64),
          signature: 'AAAA',
        }),
      },
    ]);
    const cases: Array<[string, Buffer, string, RegExp]> = [
      ['unsigned', plain, 'CodeVerificationFailedException', /^Lambda cannot deploy the function\. .*not signed/],
      [
        'tampered',
        await tamper(await sign(url, plain, 'allowed')),
        'InvalidCodeSignatureException',
        /^The code signature failed the integrity check\./,
      ],
      ['unknown', forged, 'CodeVerificationFailedException', /unknown signing profile/],
      ['revoked', signedByRevoked, 'CodeVerificationFailedException', /is revoked/],
      ['not-allowed', await sign(url, plain, 'other'), 'CodeVerificationFailedException', /is not an allowed publisher/],
    ];
    for (const [label, zip, error, message] of cases) {
      await rejectsWith(createFn(lambda, `enforce-${label}`, zip, enforce), error, message);
      await rejectsWith(lambda.send(new GetFunctionCommand({ FunctionName: `enforce-${label}` })), 'ResourceNotFoundException');
    }
    assert.ok(other.profileVersionArn);
  });

  test("UpdateFunctionCode is checked against the function's configuration; a refused update changes nothing", async () => {
    const first = await createFn(lambda, 'update-checked', await sign(url, plain, 'allowed'), enforce);
    await rejectsWith(
      lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'update-checked', ZipFile: plain })),
      'CodeVerificationFailedException',
    );
    const now = await lambda.send(new GetFunctionCommand({ FunctionName: 'update-checked' }));
    assert.equal(now.Configuration?.CodeSha256, first.CodeSha256);
    assert.equal(now.Configuration?.RevisionId, first.RevisionId);
    const v2 = await zipEntries([{ name: 'index.mjs', content: 'export const handler = async () => ({ v: 2 });\n' }]);
    const updated = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'update-checked', ZipFile: await sign(url, v2, 'allowed'), Publish: true }),
    );
    assert.notEqual(updated.CodeSha256, first.CodeSha256);
    // The new code's signing job; the published version keeps it.
    assert.equal(updated.Version, '1');
    assert.equal(updated.SigningProfileVersionArn, allowed.profileVersionArn);
    assert.ok(updated.SigningJobArn);
    assert.notEqual(updated.SigningJobArn, first.SigningJobArn);
  });

  test('Warn deploys untrusted code and logs a warning; a tampered zip is refused even so', async () => {
    const before = logLines.length;
    const created = await createFn(lambda, 'warn-unsigned', plain, warn);
    assert.equal(created.FunctionName, 'warn-unsigned');
    assert.equal(created.SigningProfileVersionArn, undefined, 'unsigned code names no signer');
    assert.equal(created.SigningJobArn, undefined);
    const warning = logLines.slice(before).join('');
    assert.match(warning, /code signing: deploying untrusted code \(the code package is not signed/);
    assert.match(warning, /"function":"warn-unsigned"/);
    await rejectsWith(
      createFn(lambda, 'warn-tampered', await tamper(await sign(url, plain, 'allowed')), warn),
      'InvalidCodeSignatureException',
    );
    const untrusted = await createFn(lambda, 'warn-other', await sign(url, plain, 'other'), warn);
    assert.equal(untrusted.SigningProfileVersionArn, other.profileVersionArn, 'signed, though not by an allowed publisher');
  });

  test('an unknown CodeSigningConfigArn on CreateFunction is CodeSigningConfigNotFoundException', async () => {
    await rejectsWith(
      createFn(lambda, 'csc-missing', plain, enforce.replace(/csc-[0-9a-f]{17}/, 'csc-0123456789abcdef0')),
      'CodeSigningConfigNotFoundException',
    );
  });

  test('profiles, configurations and links survive a restart', async () => {
    await kumo.close();
    lambda.destroy();
    kumo = await Kumo.start({ port: 0, host: '127.0.0.1', dataDir, stemCells: 0 }, pino({ level: 'silent' }));
    url = kumo.url;
    lambda = new LambdaClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    assert.equal(
      (await lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: 'update-checked' }))).CodeSigningConfigArn,
      enforce,
    );
    await rejectsWith(
      lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'update-checked', ZipFile: plain })),
      'CodeVerificationFailedException',
    );
    const res = await fetch(`${url}/_kumo/signing-profiles/revoked`);
    assert.equal(((await res.json()) as SigningProfileView).status, 'Revoked');
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'update-checked', ZipFile: await sign(url, plain, 'allowed') }));
  });
});

describe('code signing with the AWS CLI', { skip: AWS_CLI_MISSING }, () => {
  before(() => {
    if (AWS_CLI_MISSING) console.log(`code-signing.test: skipping the AWS CLI suite: ${AWS_CLI_MISSING}`);
  });
  const k = useKumo({ stemCells: 0 });
  const cli = awsCli(k, 'lambda');

  test('create/get/update/list/delete-code-signing-config and put/get/delete-function-code-signing-config; update-function-code refused', async () => {
    const p = await profile(k.url, 'cli_profile');
    interface Csc {
      CodeSigningConfig: {
        CodeSigningConfigArn: string;
        Description: string;
        CodeSigningPolicies: { UntrustedArtifactOnDeployment: string };
      };
    }
    const created = await cli.json<Csc>(
      'create-code-signing-config',
      '--allowed-publishers',
      `SigningProfileVersionArns=${p.profileVersionArn}`,
      '--code-signing-policies',
      'UntrustedArtifactOnDeployment=Enforce',
    );
    const arn = created.CodeSigningConfig.CodeSigningConfigArn;
    assert.match(arn, CSC_ARN_RE);
    assert.equal(
      (await cli.json<Csc>('get-code-signing-config', '--code-signing-config-arn', arn)).CodeSigningConfig.CodeSigningPolicies
        .UntrustedArtifactOnDeployment,
      'Enforce',
    );
    assert.equal(
      (await cli.json<Csc>('update-code-signing-config', '--code-signing-config-arn', arn, '--description', 'cli')).CodeSigningConfig
        .Description,
      'cli',
    );
    const listed = await cli.json<{ CodeSigningConfigs: Array<{ CodeSigningConfigArn: string }> }>('list-code-signing-configs');
    assert.deepEqual(
      listed.CodeSigningConfigs.map((c) => c.CodeSigningConfigArn),
      [arn],
    );

    const zipFile = path.join(k.dataDir, 'cli.zip');
    fs.writeFileSync(zipFile, await sign(k.url, plain, 'cli_profile'));
    await cli.json(...createNodeFunctionArgs('cli-signed', zipFile));
    const put = await cli.json<{ CodeSigningConfigArn: string; FunctionName: string }>(
      'put-function-code-signing-config',
      '--function-name',
      'cli-signed',
      '--code-signing-config-arn',
      arn,
    );
    assert.deepEqual(put, { CodeSigningConfigArn: arn, FunctionName: 'cli-signed' });
    assert.equal(
      (await cli.json<{ CodeSigningConfigArn: string }>('get-function-code-signing-config', '--function-name', 'cli-signed'))
        .CodeSigningConfigArn,
      arn,
    );

    const unsigned = path.join(k.dataDir, 'unsigned.zip');
    fs.writeFileSync(unsigned, plain);
    const refused = await cli('update-function-code', '--function-name', 'cli-signed', '--zip-file', `fileb://${unsigned}`);
    assert.equal(refused.code, 254, refused.stderr);
    assert.match(refused.stderr, /\(CodeVerificationFailedException\)/);

    await cli.json('delete-function-code-signing-config', '--function-name', 'cli-signed');
    await cli.json('delete-code-signing-config', '--code-signing-config-arn', arn);
    const gone = await cli('get-code-signing-config', '--code-signing-config-arn', arn);
    assert.equal(gone.code, 254);
    assert.match(gone.stderr, /\(ResourceNotFoundException\)/);
  });
});
