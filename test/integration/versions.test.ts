/**
 * Versions against a real Kumo, with @aws-sdk/client-lambda and the AWS CLI: PublishVersion (its
 * CodeSha256 and RevisionId preconditions, and no new version when nothing changed),
 * ListVersionsByFunction, qualifiers on GetFunction(Configuration), DeleteFunction and Invoke,
 * `Publish: true` on create and update, ListFunctions FunctionVersion=ALL, and an old version that
 * keeps running its own code after $LATEST changed.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { AWS_CLI_MISSING, awsCli } from '../helpers/aws-cli.js';
import { rejectsWith } from '../helpers/errors.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { invokeTagged, qualifiedArn, taggedCode, type TaggedAnswer } from '../helpers/versions.js';

const ARN = qualifiedArn;

const k = useKumo({ stemCells: 0 });

async function create(
  name: string,
  tag: string,
  publish = false,
): Promise<{ Version?: string; FunctionArn?: string; RevisionId?: string }> {
  return createNodeFunction(k.lambda, name, await taggedCode(tag), { Publish: publish });
}

function invoke(name: string, qualifier?: string): Promise<TaggedAnswer> {
  return invokeTagged(k.lambda, name, qualifier);
}

describe('PublishVersion', () => {
  test('publishes 1, 2, ... as snapshots with their own qualified ARN, and answers 201', async () => {
    await create('ver-basic', 'a');
    const v1 = await k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-basic', Description: 'first' }));
    assert.equal(v1.$metadata.httpStatusCode, 201);
    assert.equal(v1.Version, '1');
    assert.equal(v1.FunctionArn, ARN('ver-basic', '1'));
    assert.equal(v1.Description, 'first');
    assert.ok(v1.RevisionId);
    await k.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'ver-basic', ZipFile: await taggedCode('b') }));
    const v2 = await k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-basic' }));
    assert.equal(v2.Version, '2');
    assert.notEqual(v2.CodeSha256, v1.CodeSha256);
    const got = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'ver-basic', Qualifier: '1' }));
    assert.equal(got.Version, '1');
    assert.equal(got.FunctionArn, ARN('ver-basic', '1'));
    assert.equal(got.CodeSha256, v1.CodeSha256);
    assert.equal(got.Description, 'first');
    const byArn = await k.lambda.send(new GetFunctionCommand({ FunctionName: ARN('ver-basic', '2') }));
    assert.equal(byArn.Configuration?.Version, '2');
    const partial = await k.lambda.send(new GetFunctionCommand({ FunctionName: 'ver-basic:1' }));
    assert.equal(partial.Configuration?.Version, '1');
  });

  test('publishing when nothing changed answers the last version instead of a new one', async () => {
    await create('ver-unchanged', 'a');
    const v1 = await k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-unchanged' }));
    const again = await k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-unchanged' }));
    assert.equal(again.Version, '1');
    assert.equal(again.RevisionId, v1.RevisionId);
    await k.lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'ver-unchanged', Environment: { Variables: { GREETING: 'hi' } } }),
    );
    const v2 = await k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-unchanged' }));
    assert.equal(v2.Version, '2');
  });

  test('concurrent PublishVersion calls on one change publish one version', async () => {
    await create('ver-race', 'a');
    const answers = await Promise.all([1, 2, 3, 4].map(() => k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-race' }))));
    assert.deepEqual(
      answers.map((a) => a.Version),
      ['1', '1', '1', '1'],
    );
    const versions = await k.lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'ver-race' }));
    assert.equal(versions.Versions?.length, 2);
  });

  test('honours CodeSha256 and RevisionId preconditions, publishing nothing on a mismatch', async () => {
    const created = await create('ver-pre', 'a');
    await rejectsWith(
      k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-pre', CodeSha256: 'AAAA' })),
      'InvalidParameterValueException',
      /^CodeSHA256 \(AAAA\) is different from current CodeSHA256 in \$LATEST \(.+\)\. Please try again\.$/,
    );
    await rejectsWith(
      k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-pre', RevisionId: 'not-the-revision' })),
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
    );
    const versions = await k.lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'ver-pre' }));
    assert.deepEqual(
      versions.Versions?.map((v) => v.Version),
      ['$LATEST'],
    );
    const latest = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'ver-pre' }));
    const ok = await k.lambda.send(
      new PublishVersionCommand({ FunctionName: 'ver-pre', CodeSha256: latest.CodeSha256, RevisionId: created.RevisionId }),
    );
    assert.equal(ok.Version, '1');
  });

  test('an unknown function is ResourceNotFoundException', async () => {
    await rejectsWith(k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-nobody' })), 'ResourceNotFoundException');
  });
});

describe('ListVersionsByFunction', () => {
  test('lists $LATEST first, then versions in order, page by page', async () => {
    await create('ver-list', 'a');
    for (const tag of ['b', 'c', 'd']) {
      await k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-list' }));
      await k.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'ver-list', ZipFile: await taggedCode(tag) }));
    }
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await k.lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'ver-list', MaxItems: 2, Marker: marker }));
      assert.ok((page.Versions?.length ?? 0) <= 2);
      seen.push(...(page.Versions ?? []).map((v) => v.Version ?? '?'));
      marker = page.NextMarker;
    } while (marker);
    assert.deepEqual(seen, ['$LATEST', '1', '2', '3']);
  });

  test('ListFunctions with FunctionVersion=ALL lists every version', async () => {
    await create('ver-all', 'a', true);
    const all = [];
    let marker: string | undefined;
    do {
      const page = await k.lambda.send(new ListFunctionsCommand({ FunctionVersion: 'ALL', MaxItems: 3, Marker: marker }));
      all.push(...(page.Functions ?? []));
      marker = page.NextMarker;
    } while (marker);
    assert.deepEqual(
      all.filter((f) => f.FunctionName === 'ver-all').map((f) => f.FunctionArn),
      [ARN('ver-all'), ARN('ver-all', '1')],
    );
    const plain = await k.lambda.send(new ListFunctionsCommand({}));
    assert.ok((plain.Functions ?? []).every((f) => f.Version === '$LATEST'));
  });
});

describe('Publish: true', () => {
  test('CreateFunction and UpdateFunctionCode publish in the same call and answer the version', async () => {
    const created = await create('ver-publish', 'a', true);
    assert.equal(created.Version, '1');
    assert.equal(created.FunctionArn, ARN('ver-publish', '1'));
    const updated = await k.lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'ver-publish', ZipFile: await taggedCode('b'), Publish: true }),
    );
    assert.equal(updated.Version, '2');
    assert.equal(updated.FunctionArn, ARN('ver-publish', '2'));
    assert.equal((await invoke('ver-publish', '1')).code, 'a');
    assert.equal((await invoke('ver-publish', '2')).code, 'b');
  });
});

describe('qualifiers', () => {
  test('invoking an old version runs its code and configuration after $LATEST changed', async () => {
    await create('ver-invoke', 'old');
    await k.lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'ver-invoke', Environment: { Variables: { GREETING: 'v1' } } }),
    );
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-invoke' }));
    await k.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'ver-invoke', ZipFile: await taggedCode('new') }));
    await k.lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'ver-invoke', Environment: { Variables: { GREETING: 'latest' } } }),
    );
    const old = await invoke('ver-invoke', '1');
    assert.deepEqual(old, { version: '1', code: 'old', greeting: 'v1', arn: ARN('ver-invoke', '1') });
    const viaArn = await invoke(ARN('ver-invoke', '1'));
    assert.equal(viaArn.version, '1');
    assert.equal(viaArn.code, 'old');
    const viaPartial = await invoke('ver-invoke:1');
    assert.equal(viaPartial.code, 'old');
    const latest = await invoke('ver-invoke');
    assert.deepEqual(latest, { version: '$LATEST', code: 'new', greeting: 'latest', arn: ARN('ver-invoke') });
    await rejectsWith(
      k.lambda.send(new InvokeCommand({ FunctionName: 'ver-invoke', Qualifier: '9' })),
      'ResourceNotFoundException',
      `Function not found: ${ARN('ver-invoke', '9')}`,
    );
  });

  test('DeleteFunction with a qualifier deletes that version only; $LATEST is refused', async () => {
    await create('ver-delete', 'a', true);
    await k.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'ver-delete', ZipFile: await taggedCode('b'), Publish: true }));
    await rejectsWith(
      k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver-delete', Qualifier: '$LATEST' })),
      'InvalidParameterValueException',
      '$LATEST version cannot be deleted without deleting the function.',
    );
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver-delete', Qualifier: '1' }));
    await rejectsWith(
      k.lambda.send(new GetFunctionCommand({ FunctionName: 'ver-delete', Qualifier: '1' })),
      'ResourceNotFoundException',
      `Function not found: ${ARN('ver-delete', '1')}`,
    );
    await rejectsWith(
      k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver-delete', Qualifier: '1' })),
      'ResourceNotFoundException',
    );
    assert.equal((await invoke('ver-delete', '2')).code, 'b');
    // Numbers are never reused: the next version after 2 is 3, even with 1 gone.
    await k.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'ver-delete', ZipFile: await taggedCode('c') }));
    assert.equal((await k.lambda.send(new PublishVersionCommand({ FunctionName: 'ver-delete' }))).Version, '3');
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver-delete' }));
    await rejectsWith(k.lambda.send(new GetFunctionCommand({ FunctionName: 'ver-delete', Qualifier: '2' })), 'ResourceNotFoundException');
  });

  test("a Qualifier outside Lambda's pattern is ValidationException on Get, Invoke and Delete, and deletes nothing", async () => {
    await create('ver-badq', 'a', true);
    const message = "1 validation error detected: Value 'a.b' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)";
    await rejectsWith(k.lambda.send(new GetFunctionCommand({ FunctionName: 'ver-badq', Qualifier: 'a.b' })), 'ValidationException', message);
    await rejectsWith(k.lambda.send(new InvokeCommand({ FunctionName: 'ver-badq', Qualifier: 'a.b' })), 'ValidationException', message);
    await rejectsWith(k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver-badq', Qualifier: 'a.b' })), 'ValidationException', message);
    await rejectsWith(
      k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'ver-badq', Qualifier: 'x'.repeat(129) })),
      'ValidationException',
      /Member must have length less than or equal to 128/,
    );
    assert.equal((await invoke('ver-badq', '1')).code, 'a');
  });
});

describe('versions with the AWS CLI', { skip: AWS_CLI_MISSING }, () => {
  const cli = awsCli(k, 'lambda');

  test('publish-version, list-versions-by-function, get-function --qualifier, invoke --qualifier and delete-function --qualifier', async () => {
    await create('ver-cli', 'a');
    const published = await cli('publish-version', '--function-name', 'ver-cli', '--description', 'from the CLI');
    assert.equal(published.code, 0, published.stderr);
    const v = JSON.parse(published.stdout) as { Version: string; Description: string; FunctionArn: string };
    assert.equal(v.Version, '1');
    assert.equal(v.Description, 'from the CLI');
    assert.equal(v.FunctionArn, ARN('ver-cli', '1'));
    const same = await cli('publish-version', '--function-name', 'ver-cli');
    assert.equal((JSON.parse(same.stdout) as { Version: string }).Version, '1');
    const listed = await cli('list-versions-by-function', '--function-name', 'ver-cli');
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { Versions: Array<{ Version: string }> }).Versions.map((x) => x.Version),
      ['$LATEST', '1'],
    );
    const got = await cli('get-function', '--function-name', 'ver-cli', '--qualifier', '1');
    assert.equal((JSON.parse(got.stdout) as { Configuration: { Version: string } }).Configuration.Version, '1');
    const out = path.join(os.tmpdir(), `ver-cli-${process.pid}.json`);
    const invoked = await cli('invoke', '--function-name', 'ver-cli', '--qualifier', '1', out);
    assert.equal(invoked.code, 0, invoked.stderr);
    assert.equal((JSON.parse(invoked.stdout) as { ExecutedVersion: string }).ExecutedVersion, '1');
    const mismatch = await cli('publish-version', '--function-name', 'ver-cli', '--revision-id', 'nope');
    assert.equal(mismatch.code, 254);
    assert.match(mismatch.stderr, /PreconditionFailedException/);
    const deleted = await cli('delete-function', '--function-name', 'ver-cli', '--qualifier', '1');
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await cli('get-function-configuration', '--function-name', 'ver-cli', '--qualifier', '1');
    assert.equal(gone.code, 254);
    assert.match(gone.stderr, /ResourceNotFoundException/);
  });
});
