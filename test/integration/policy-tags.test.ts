/**
 * Resource-based policies (AddPermission, RemovePermission, GetPolicy) and tags (TagResource,
 * UntagResource, ListTags, `Tags` on CreateFunction and GetFunction) against a real Kumo, with
 * @aws-sdk/client-lambda and the AWS CLI: the documents exactly as Lambda renders them, Lambda's
 * errors for misuse, cleanup with the function, and persistence across a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AddPermissionCommand,
  CreateAliasCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  InvokeCommand,
  ListTagsCommand,
  RemovePermissionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type AddPermissionCommandInput,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { zipDirectory, zipEntries } from '../../src/code/index.js';
import { AWS_CLI_MISSING, awsCli, createNodeFunctionArgs } from '../helpers/aws-cli.js';
import { rejectsWith } from '../helpers/errors.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { repoPath, startKumo, type TestKumo } from '../helpers/server.js';
import { createTwoVersions } from '../helpers/versions.js';

const ARN = (name: string, qualifier?: string): string =>
  `arn:aws:lambda:us-east-1:000000000000:function:${name}${qualifier === undefined ? '' : `:${qualifier}`}`;

let zip: Buffer;

async function create(lambda: LambdaClient, name: string, tags?: Record<string, string>): Promise<string> {
  const out = await createNodeFunction(lambda, name, zip, tags ? { Tags: tags } : {});
  return out.RevisionId ?? assert.fail('no RevisionId');
}

/** Asserts that `p` fails with the Lambda error `name` (and, if given, exactly `message`). */
/** A statement string parsed. */
function statement(s: string | undefined): Record<string, unknown> {
  return JSON.parse(s ?? assert.fail('no Statement')) as Record<string, unknown>;
}

async function policyOf(lambda: LambdaClient, name: string): Promise<{ doc: unknown; raw: string; revisionId: string }> {
  const out = await lambda.send(new GetPolicyCommand({ FunctionName: name }));
  const raw = out.Policy ?? assert.fail('no Policy');
  return { doc: JSON.parse(raw), raw, revisionId: out.RevisionId ?? assert.fail('no RevisionId') };
}

before(async () => {
  zip = await zipDirectory(repoPath('examples/node-hello'));
});

describe('permissions with the SDK', () => {
  const k = useKumo({ stemCells: 0 });

  test('AddPermission answers 201 with the statement as Lambda renders it, for each kind of principal', async () => {
    await create(k.lambda, 'perm-shapes');
    const s3 = await k.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'perm-shapes',
        StatementId: 's3-invoke',
        Action: 'lambda:InvokeFunction',
        Principal: 's3.amazonaws.com',
        SourceArn: 'arn:aws:s3:::my-bucket',
        SourceAccount: '123456789012',
      }),
    );
    assert.equal(s3.$metadata.httpStatusCode, 201);
    assert.equal(
      s3.Statement,
      '{"Sid":"s3-invoke","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction",' +
        `"Resource":"${ARN('perm-shapes')}","Condition":{"StringEquals":{"AWS:SourceAccount":"123456789012"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::my-bucket"}}}`,
    );

    const account = await k.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'perm-shapes',
        StatementId: 'xaccount',
        Action: 'lambda:InvokeFunction',
        Principal: '123456789012',
      }),
    );
    assert.deepEqual(JSON.parse(account.Statement ?? ''), {
      Sid: 'xaccount',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Action: 'lambda:InvokeFunction',
      Resource: ARN('perm-shapes'),
    });

    const role = await k.lambda.send(
      new AddPermissionCommand({
        FunctionName: ARN('perm-shapes'),
        StatementId: 'role',
        Action: 'lambda:GetFunction',
        Principal: 'arn:aws:iam::123456789012:role/reader',
      }),
    );
    assert.deepEqual(statement(role.Statement).Principal, { AWS: 'arn:aws:iam::123456789012:role/reader' });

    const org = await k.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'perm-shapes',
        StatementId: 'org-url',
        Action: 'lambda:InvokeFunctionUrl',
        Principal: '*',
        PrincipalOrgID: 'o-a1b2c3d4e5',
        FunctionUrlAuthType: 'AWS_IAM',
      }),
    );
    assert.deepEqual(JSON.parse(org.Statement ?? ''), {
      Sid: 'org-url',
      Effect: 'Allow',
      Principal: '*',
      Action: 'lambda:InvokeFunctionUrl',
      Resource: ARN('perm-shapes'),
      Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM', 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
    });

    const alexa = await k.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'perm-shapes',
        StatementId: 'alexa',
        Action: 'lambda:InvokeFunction',
        Principal: 'alexa-connectedhome.amazon.com',
        EventSourceToken: 'amzn1.ask.skill.1234',
      }),
    );
    assert.deepEqual(statement(alexa.Statement).Condition, { StringEquals: { 'lambda:EventSourceToken': 'amzn1.ask.skill.1234' } });
    assert.deepEqual(statement(alexa.Statement).Principal, { Service: 'alexa-connectedhome.amazon.com' });
  });

  test("GetPolicy returns the whole document, statements in the order added, with the function version's RevisionId", async () => {
    const before = await create(k.lambda, 'perm-doc');
    const first = await k.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'perm-doc',
        StatementId: 'one',
        Action: 'lambda:InvokeFunction',
        Principal: 'sns.amazonaws.com',
      }),
    );
    const second = await k.lambda.send(
      new AddPermissionCommand({ FunctionName: 'perm-doc', StatementId: 'two', Action: 'lambda:*', Principal: '111122223333' }),
    );
    const { raw, revisionId } = await policyOf(k.lambda, 'perm-doc');
    assert.equal(raw, `{"Version":"2012-10-17","Id":"default","Statement":[${first.Statement},${second.Statement}]}`);
    const fn = await k.lambda.send(new GetFunctionCommand({ FunctionName: 'perm-doc' }));
    assert.equal(revisionId, fn.Configuration?.RevisionId);
    assert.notEqual(revisionId, before, 'adding a permission gives the function a new RevisionId');
  });

  test("misuse gets Lambda's errors and changes nothing", async () => {
    await create(k.lambda, 'perm-errors');
    const add = (input: Partial<ConstructorParameters<typeof AddPermissionCommand>[0]>) =>
      k.lambda.send(
        new AddPermissionCommand({
          FunctionName: 'perm-errors',
          StatementId: 'sid',
          Action: 'lambda:InvokeFunction',
          Principal: 's3.amazonaws.com',
          ...input,
        }),
      );
    await add({});
    const { raw, revisionId } = await policyOf(k.lambda, 'perm-errors');

    await rejectsWith(
      add({}),
      'ResourceConflictException',
      'The statement id (sid) provided already exists. Please provide a new statement id, or remove the existing statement.',
    );
    await rejectsWith(
      add({ StatementId: 'other', RevisionId: '00000000-0000-0000-0000-000000000000' }),
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
    );
    await rejectsWith(
      add({ StatementId: 'bad', Principal: 'not a principal' }),
      'ValidationException',
      /at 'principal' failed to satisfy constraint/,
    );
    await rejectsWith(
      add({ StatementId: 'bad', Principal: 'nobody' }),
      'InvalidParameterValueException',
      'The provided principal was invalid. Please check the principal and try again.',
    );
    await rejectsWith(
      add({ StatementId: 'has space' }),
      'ValidationException',
      /Value 'has space' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: \(\[a-zA-Z0-9-_\]\+\)/,
    );
    await rejectsWith(add({ StatementId: 'bad', Action: 'InvokeFunction' }), 'ValidationException', /at 'action'/);
    await rejectsWith(add({ StatementId: 'bad', SourceAccount: '12' }), 'ValidationException', /at 'sourceAccount'/);
    await rejectsWith(
      add({ StatementId: 'latest', Qualifier: '$LATEST' }),
      'InvalidParameterValueException',
      'We currently do not support adding policies for $LATEST.',
    );
    await rejectsWith(
      add({ StatementId: 'v1', Qualifier: '1' }),
      'ResourceNotFoundException',
      `Function not found: ${ARN('perm-errors', '1')}`,
    );
    await rejectsWith(
      add({ StatementId: 'alias', Qualifier: 'prod' }),
      'ResourceNotFoundException',
      `Cannot find alias arn: ${ARN('perm-errors', 'prod')}`,
    );
    await rejectsWith(add({ FunctionName: 'perm-missing' }), 'ResourceNotFoundException', `Function not found: ${ARN('perm-missing')}`);

    await rejectsWith(
      k.lambda.send(new RemovePermissionCommand({ FunctionName: 'perm-errors', StatementId: 'nope' })),
      'ResourceNotFoundException',
      'Statement nope is not found in resource policy.',
    );
    await rejectsWith(
      k.lambda.send(new RemovePermissionCommand({ FunctionName: 'perm-errors', StatementId: 'sid', RevisionId: 'stale' })),
      'PreconditionFailedException',
    );
    const now = await policyOf(k.lambda, 'perm-errors');
    assert.equal(now.raw, raw);
    assert.equal(now.revisionId, revisionId);

    await rejectsWith(
      k.lambda.send(new GetPolicyCommand({ FunctionName: 'perm-missing' })),
      'ResourceNotFoundException',
      `Function not found: ${ARN('perm-missing')}`,
    );
    await create(k.lambda, 'perm-none');
    await rejectsWith(
      k.lambda.send(new GetPolicyCommand({ FunctionName: 'perm-none' })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
    await rejectsWith(
      k.lambda.send(new RemovePermissionCommand({ FunctionName: 'perm-none', StatementId: 'x' })),
      'ResourceNotFoundException',
      'No policy is associated with the given resource.',
    );
  });

  test('RemovePermission answers 204; removing the last statement removes the policy', async () => {
    await create(k.lambda, 'perm-remove');
    for (const sid of ['a', 'b']) {
      await k.lambda.send(
        new AddPermissionCommand({ FunctionName: 'perm-remove', StatementId: sid, Action: 'lambda:InvokeFunction', Principal: '*' }),
      );
    }
    const { revisionId } = await policyOf(k.lambda, 'perm-remove');
    const removed = await k.lambda.send(
      new RemovePermissionCommand({ FunctionName: 'perm-remove', StatementId: 'a', RevisionId: revisionId }),
    );
    assert.equal(removed.$metadata.httpStatusCode, 204);
    const left = await policyOf(k.lambda, 'perm-remove');
    assert.deepEqual(
      (left.doc as { Statement: Array<{ Sid: string }> }).Statement.map((s) => s.Sid),
      ['b'],
    );
    assert.notEqual(left.revisionId, revisionId);
    await k.lambda.send(new RemovePermissionCommand({ FunctionName: 'perm-remove', StatementId: 'b' }));
    await rejectsWith(
      k.lambda.send(new GetPolicyCommand({ FunctionName: 'perm-remove' })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
  });

  test('the policy is deleted with the function', async () => {
    await create(k.lambda, 'perm-deleted');
    await k.lambda.send(
      new AddPermissionCommand({ FunctionName: 'perm-deleted', StatementId: 'a', Action: 'lambda:InvokeFunction', Principal: '*' }),
    );
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'perm-deleted' }));
    await create(k.lambda, 'perm-deleted');
    await rejectsWith(
      k.lambda.send(new GetPolicyCommand({ FunctionName: 'perm-deleted' })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
  });

  test('a version and an alias each have a policy of their own: their own RevisionId, their qualified ARN in statements', async () => {
    const name = 'perm-qualified';
    await createTwoVersions(k.lambda, name, zip, await zipEntries([{ name: 'index.js', content: 'exports.handler = async () => 2;' }]));
    await k.lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '1' }));
    const v1Before = (await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' }))).RevisionId;
    const aliasBefore = (await k.lambda.send(new GetAliasCommand({ FunctionName: name, Name: 'live' }))).RevisionId;
    const permit = (sid: string, extra: Partial<AddPermissionCommandInput>) =>
      k.lambda.send(
        new AddPermissionCommand({
          FunctionName: name,
          StatementId: sid,
          Action: 'lambda:InvokeFunction',
          Principal: 's3.amazonaws.com',
          ...extra,
        }),
      );

    const onVersion = await permit('v1', { Qualifier: '1' });
    assert.equal(statement(onVersion.Statement).Resource, ARN(name, '1'));
    const v1Policy = await k.lambda.send(new GetPolicyCommand({ FunctionName: name, Qualifier: '1' }));
    const v1After = (await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: '1' }))).RevisionId;
    assert.equal(v1Policy.RevisionId, v1After, "GetPolicy's RevisionId is the version's");
    assert.notEqual(v1After, v1Before, 'the version has a new RevisionId');

    await rejectsWith(permit('stale', { Qualifier: 'live', RevisionId: v1After }), 'PreconditionFailedException');
    const onAlias = await permit('live', { FunctionName: ARN(name, 'live'), RevisionId: aliasBefore });
    assert.equal(statement(onAlias.Statement).Resource, ARN(name, 'live'));
    const aliasPolicy = await k.lambda.send(new GetPolicyCommand({ FunctionName: name, Qualifier: 'live' }));
    const aliasAfter = (await k.lambda.send(new GetAliasCommand({ FunctionName: name, Name: 'live' }))).RevisionId;
    assert.equal(aliasPolicy.RevisionId, aliasAfter, "GetPolicy's RevisionId is the alias's");
    assert.notEqual(aliasAfter, aliasBefore, 'the alias has a new RevisionId');
    assert.deepEqual(
      (JSON.parse(aliasPolicy.Policy ?? '{}') as { Statement: Array<{ Sid: string }> }).Statement.map((x) => x.Sid),
      ['live'],
      "the alias policy is its own, not its version's",
    );
    await rejectsWith(
      k.lambda.send(new GetPolicyCommand({ FunctionName: name })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
    // The alias still routes invocations after its revision moved.
    const invoked = await k.lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: 'live', Payload: Buffer.from('{}') }));
    assert.equal(invoked.ExecutedVersion, '1');

    await k.lambda.send(
      new RemovePermissionCommand({ FunctionName: name, Qualifier: 'live', StatementId: 'live', RevisionId: aliasAfter }),
    );
    await rejectsWith(
      k.lambda.send(new GetPolicyCommand({ FunctionName: name, Qualifier: 'live' })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
    // A policy goes with its alias: an alias made again under the name has none.
    await permit('again', { Qualifier: 'live' });
    await k.lambda.send(new DeleteAliasCommand({ FunctionName: name, Name: 'live' }));
    await k.lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '2' }));
    await rejectsWith(
      k.lambda.send(new GetPolicyCommand({ FunctionName: name, Qualifier: 'live' })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
  });
});

describe('tags with the SDK', () => {
  const k = useKumo({ stemCells: 0 });

  test('Tags on CreateFunction are listed by ListTags and returned by GetFunction; a function without tags has no Tags', async () => {
    await create(k.lambda, 'tags-create', { team: 'kumo', stage: 'dev' });
    const listed = await k.lambda.send(new ListTagsCommand({ Resource: ARN('tags-create') }));
    assert.deepEqual(listed.Tags, { stage: 'dev', team: 'kumo' });
    const got = await k.lambda.send(new GetFunctionCommand({ FunctionName: 'tags-create' }));
    assert.deepEqual(got.Tags, { stage: 'dev', team: 'kumo' });

    await create(k.lambda, 'tags-none');
    const none = await k.lambda.send(new GetFunctionCommand({ FunctionName: 'tags-none' }));
    assert.equal(none.Tags, undefined);
    assert.deepEqual((await k.lambda.send(new ListTagsCommand({ Resource: ARN('tags-none') }))).Tags, {});
  });

  test('TagResource adds and overwrites (204), UntagResource removes (204); both give a new RevisionId', async () => {
    const first = await create(k.lambda, 'tags-change', { a: '1', b: '2' });
    const tagged = await k.lambda.send(new TagResourceCommand({ Resource: ARN('tags-change'), Tags: { b: 'two', c: '' } }));
    assert.equal(tagged.$metadata.httpStatusCode, 204);
    assert.deepEqual((await k.lambda.send(new ListTagsCommand({ Resource: ARN('tags-change') }))).Tags, { a: '1', b: 'two', c: '' });
    const second = (await k.lambda.send(new GetFunctionCommand({ FunctionName: 'tags-change' }))).Configuration?.RevisionId;
    assert.notEqual(second, first);

    const untagged = await k.lambda.send(new UntagResourceCommand({ Resource: ARN('tags-change'), TagKeys: ['a', 'c', 'absent'] }));
    assert.equal(untagged.$metadata.httpStatusCode, 204);
    assert.deepEqual((await k.lambda.send(new ListTagsCommand({ Resource: ARN('tags-change') }))).Tags, { b: 'two' });
    assert.notEqual((await k.lambda.send(new GetFunctionCommand({ FunctionName: 'tags-change' }))).Configuration?.RevisionId, second);
  });

  test("misuse gets Lambda's errors and changes nothing", async () => {
    await create(k.lambda, 'tags-errors', { keep: 'me' });
    const tag = (Tags: Record<string, string>, Resource = ARN('tags-errors')) => k.lambda.send(new TagResourceCommand({ Resource, Tags }));
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    await rejectsWith(tag(fifty), 'InvalidParameterValueException', 'Number of tags exceeds resource tag limit.');
    await rejectsWith(tag({ 'aws:owner': 'x' }), 'InvalidParameterValueException', /aws:/);
    await rejectsWith(
      tag({ ['k'.repeat(129)]: 'v' }),
      'ValidationException',
      /at 'tags' failed to satisfy constraint: Map keys must satisfy constraint/,
    );
    await rejectsWith(
      tag({ long: 'v'.repeat(257) }),
      'ValidationException',
      /at 'tags' failed to satisfy constraint: Map value must satisfy constraint/,
    );
    await rejectsWith(tag({}), 'InvalidParameterValueException', 'An error occurred and the request cannot be processed.');
    await rejectsWith(
      tag({ a: 'b' }, 'tags-errors'),
      'ValidationException',
      /^1 validation error detected: Value 'tags-errors' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:\(aws\[a-zA-Z-\]\*\):lambda:/,
    );
    await rejectsWith(tag({ a: 'b' }, ARN('tags-missing')), 'ResourceNotFoundException', `Function not found: ${ARN('tags-missing')}`);
    await rejectsWith(
      tag({ a: 'b' }, ARN('tags-errors', 'prod')),
      'InvalidParameterValueException',
      'Tags on function aliases and versions are not supported. Please specify a function ARN.',
    );
    await rejectsWith(k.lambda.send(new ListTagsCommand({ Resource: ARN('tags-missing') })), 'ResourceNotFoundException');
    await rejectsWith(
      k.lambda.send(new UntagResourceCommand({ Resource: ARN('tags-errors'), TagKeys: [] })),
      'ValidationException',
      "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
    );
    assert.deepEqual((await k.lambda.send(new ListTagsCommand({ Resource: ARN('tags-errors') }))).Tags, { keep: 'me' });

    // CreateFunction with bad tags creates nothing.
    await rejectsWith(create(k.lambda, 'tags-bad-create', { 'AWS:x': 'y' }), 'InvalidParameterValueException');
    await rejectsWith(k.lambda.send(new GetFunctionCommand({ FunctionName: 'tags-bad-create' })), 'ResourceNotFoundException');
  });

  test('tags are deleted with the function', async () => {
    await create(k.lambda, 'tags-deleted', { gone: 'soon' });
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'tags-deleted' }));
    await create(k.lambda, 'tags-deleted');
    assert.deepEqual((await k.lambda.send(new ListTagsCommand({ Resource: ARN('tags-deleted') }))).Tags, {});
  });
});

describe('policies and tags survive a restart', () => {
  let first: TestKumo;
  let second: TestKumo;
  after(async () => {
    await second?.close();
  });

  test('GetPolicy, ListTags and the RevisionId are the same on a new server on the same data directory', async () => {
    first = await startKumo({ stemCells: 0 });
    await create(first.lambda, 'persist-extras', { owner: 'ops' });
    await first.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'persist-extras',
        StatementId: 'events',
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: 'arn:aws:events:us-east-1:000000000000:rule/nightly',
      }),
    );
    await first.lambda.send(new TagResourceCommand({ Resource: ARN('persist-extras'), Tags: { cost: 'center-1' } }));
    const policy = await policyOf(first.lambda, 'persist-extras');
    await first.close({ keepData: true });

    second = await startKumo({ dataDir: first.dataDir, stemCells: 0 });
    const again = await policyOf(second.lambda, 'persist-extras');
    assert.equal(again.raw, policy.raw);
    assert.equal(again.revisionId, policy.revisionId);
    assert.deepEqual((await second.lambda.send(new ListTagsCommand({ Resource: ARN('persist-extras') }))).Tags, {
      cost: 'center-1',
      owner: 'ops',
    });
    assert.equal(
      (await second.lambda.send(new GetFunctionCommand({ FunctionName: 'persist-extras' }))).Configuration?.RevisionId,
      policy.revisionId,
    );
  });
});

describe('permissions and tags with the AWS CLI', { skip: AWS_CLI_MISSING }, () => {
  const k = useKumo({ stemCells: 0 });
  const cli = awsCli(k, 'lambda');
  const cliFails = async (error: string, ...args: string[]): Promise<void> => {
    const r = await cli(...args);
    assert.equal(r.code, 254, `expected a service error from aws lambda ${args.join(' ')}; stdout ${r.stdout} stderr ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`\\(${error}\\)`));
  };

  before(() => {
    if (AWS_CLI_MISSING) console.log(`policy-tags.test: skipping the AWS CLI suite: ${AWS_CLI_MISSING}`);
  });

  test('create-function --tags, add-permission, get-policy, remove-permission, tag-resource, list-tags, untag-resource', async () => {
    const zipFile = `${k.dataDir}/cli.zip`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(zipFile, zip);
    await cli.json(...createNodeFunctionArgs('cli-perm', zipFile), '--tags', 'team=kumo,stage=dev');
    const added = await cli.json<{ Statement: string }>(
      'add-permission',
      '--function-name',
      'cli-perm',
      '--statement-id',
      'sns',
      '--action',
      'lambda:InvokeFunction',
      '--principal',
      'sns.amazonaws.com',
      '--source-arn',
      'arn:aws:sns:us-east-1:123456789012:topic',
    );
    assert.deepEqual(JSON.parse(added.Statement), {
      Sid: 'sns',
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: 'lambda:InvokeFunction',
      Resource: ARN('cli-perm'),
      Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:sns:us-east-1:123456789012:topic' } },
    });
    await cli.json(
      'add-permission',
      '--function-name',
      'cli-perm',
      '--statement-id',
      'acct',
      '--action',
      'lambda:InvokeFunction',
      '--principal',
      '123456789012',
    );
    const got = await cli.json<{ Policy: string; RevisionId: string }>('get-policy', '--function-name', 'cli-perm');
    assert.deepEqual(JSON.parse(got.Policy), {
      Version: '2012-10-17',
      Id: 'default',
      Statement: [
        JSON.parse(added.Statement),
        {
          Sid: 'acct',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::123456789012:root' },
          Action: 'lambda:InvokeFunction',
          Resource: ARN('cli-perm'),
        },
      ],
    });
    await cliFails(
      'ResourceConflictException',
      'add-permission',
      '--function-name',
      'cli-perm',
      '--statement-id',
      'sns',
      '--action',
      'lambda:InvokeFunction',
      '--principal',
      '*',
    );
    await cliFails(
      'PreconditionFailedException',
      'remove-permission',
      '--function-name',
      'cli-perm',
      '--statement-id',
      'sns',
      '--revision-id',
      'stale',
    );
    await cli.json('remove-permission', '--function-name', 'cli-perm', '--statement-id', 'sns', '--revision-id', got.RevisionId);
    await cliFails('ResourceNotFoundException', 'remove-permission', '--function-name', 'cli-perm', '--statement-id', 'sns');

    assert.deepEqual((await cli.json<{ Tags: Record<string, string> }>('list-tags', '--resource', ARN('cli-perm'))).Tags, {
      stage: 'dev',
      team: 'kumo',
    });
    await cli.json('tag-resource', '--resource', ARN('cli-perm'), '--tags', 'owner=ops,stage=prod');
    await cli.json('untag-resource', '--resource', ARN('cli-perm'), '--tag-keys', 'team', 'nothing');
    assert.deepEqual((await cli.json<{ Tags: Record<string, string> }>('list-tags', '--resource', ARN('cli-perm'))).Tags, {
      owner: 'ops',
      stage: 'prod',
    });
    const fn = await cli.json<{ Tags: Record<string, string> }>('get-function', '--function-name', 'cli-perm');
    assert.deepEqual(fn.Tags, { owner: 'ops', stage: 'prod' });
    await cliFails('ValidationException', 'list-tags', '--resource', 'cli-perm');
    await cliFails('InvalidParameterValueException', 'tag-resource', '--resource', ARN('cli-perm'), '--tags', 'aws:x=y');
  });

  test('add-permission and get-policy with --qualifier on an alias', async () => {
    await createTwoVersions(
      k.lambda,
      'cli-qualified',
      zip,
      await zipEntries([{ name: 'index.js', content: 'exports.handler = async () => 2;' }]),
    );
    await cli.json('create-alias', '--function-name', 'cli-qualified', '--name', 'live', '--function-version', '2');
    const added = await cli.json<{ Statement: string }>(
      'add-permission',
      '--function-name',
      'cli-qualified',
      '--qualifier',
      'live',
      '--statement-id',
      'events',
      '--action',
      'lambda:InvokeFunction',
      '--principal',
      'events.amazonaws.com',
    );
    assert.equal(statement(added.Statement).Resource, ARN('cli-qualified', 'live'));
    const got = await cli.json<{ Policy: string; RevisionId: string }>(
      'get-policy',
      '--function-name',
      'cli-qualified',
      '--qualifier',
      'live',
    );
    const alias = await cli.json<{ RevisionId: string }>('get-alias', '--function-name', 'cli-qualified', '--name', 'live');
    assert.equal(got.RevisionId, alias.RevisionId);
    await cliFails('ResourceNotFoundException', 'get-policy', '--function-name', 'cli-qualified', '--qualifier', '1');
    await cliFails('ResourceNotFoundException', 'get-policy', '--function-name', 'cli-qualified', '--qualifier', 'nope');
  });
});
