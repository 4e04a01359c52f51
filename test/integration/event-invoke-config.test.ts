/**
 * The event invoke config API (Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s)) and
 * DeadLetterConfig, through @aws-sdk/client-lambda and the real AWS CLI, with Lambda's errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateAliasCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteFunctionEventInvokeConfigCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionEventInvokeConfigCommand,
  LambdaServiceException,
  ListFunctionEventInvokeConfigsCommand,
  PutFunctionEventInvokeConfigCommand,
  UpdateFunctionConfigurationCommand,
  UpdateFunctionEventInvokeConfigCommand,
} from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { awsCli } from '../helpers/aws-cli.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { repoPath } from '../helpers/server.js';
import { createTwoVersions } from '../helpers/versions.js';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:';
const QUEUE = 'arn:aws:sqs:us-east-1:000000000000:failures';

const k = useKumo({}, async () => {
  await deploy('target');
  await deploy('other');
});
const cli = awsCli(k, 'lambda');

async function deploy(name: string, dlq?: string): Promise<void> {
  await createNodeFunction(
    k.lambda,
    name,
    await zipEntries([{ name: 'index.mjs', content: 'export const handler = async () => 1;' }]),
    dlq === undefined ? {} : { DeadLetterConfig: { TargetArn: dlq } },
  );
}

function rejectsWith(p: Promise<unknown>, name: string, status: number, message: string | RegExp): Promise<void> {
  return assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof LambdaServiceException, String(err));
    assert.equal(err.name, name);
    assert.equal(err.$metadata.httpStatusCode, status);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('event invoke config through the SDK', () => {
  test('Put, Get, Update, List and Delete round-trip in Lambda shapes', async () => {
    await deploy('cfg');
    const put = await k.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'cfg',
        MaximumRetryAttempts: 1,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: QUEUE } },
      }),
    );
    assert.equal(put.FunctionArn, `${ARN}cfg:$LATEST`);
    assert.ok(put.LastModified instanceof Date && Math.abs(put.LastModified.getTime() - Date.now()) < 60_000);
    assert.equal(put.MaximumRetryAttempts, 1);
    assert.equal(put.MaximumEventAgeInSeconds, 3600);
    assert.deepEqual(put.DestinationConfig, { OnSuccess: {}, OnFailure: { Destination: QUEUE } });

    const got = await k.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'cfg' }));
    assert.deepEqual({ ...got, $metadata: undefined }, { ...put, $metadata: undefined });

    // Update changes only what it names.
    const updated = await k.lambda.send(
      new UpdateFunctionEventInvokeConfigCommand({
        FunctionName: `${ARN}cfg`,
        DestinationConfig: { OnSuccess: { Destination: `${ARN}target` } },
      }),
    );
    assert.equal(updated.MaximumRetryAttempts, 1);
    assert.equal(updated.MaximumEventAgeInSeconds, 3600);
    assert.deepEqual(updated.DestinationConfig, { OnSuccess: { Destination: `${ARN}target` }, OnFailure: { Destination: QUEUE } });

    // Put replaces everything: what it leaves out is removed.
    const replaced = await k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'cfg', MaximumRetryAttempts: 0 }));
    assert.equal(replaced.MaximumRetryAttempts, 0);
    assert.equal(replaced.MaximumEventAgeInSeconds, undefined);
    assert.deepEqual(replaced.DestinationConfig, { OnSuccess: {}, OnFailure: {} });

    const list = await k.lambda.send(new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'cfg' }));
    assert.equal(list.FunctionEventInvokeConfigs?.length, 1);
    assert.equal(list.FunctionEventInvokeConfigs?.[0]?.FunctionArn, `${ARN}cfg:$LATEST`);
    assert.equal(list.NextMarker, undefined);

    const del = await k.lambda.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: 'cfg', Qualifier: '$LATEST' }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await rejectsWith(
      k.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'cfg' })),
      'ResourceNotFoundException',
      404,
      `The function ${ARN}cfg:$LATEST doesn't have an EventInvokeConfig`,
    );
    assert.deepEqual(
      (await k.lambda.send(new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'cfg' }))).FunctionEventInvokeConfigs,
      [],
    );
  });

  test('no config, a missing function, an unknown qualifier', async () => {
    await rejectsWith(
      k.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'target' })),
      'ResourceNotFoundException',
      404,
      `The function ${ARN}target:$LATEST doesn't have an EventInvokeConfig`,
    );
    await rejectsWith(
      k.lambda.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: 'target' })),
      'ResourceNotFoundException',
      404,
      `The function ${ARN}target:$LATEST doesn't have an EventInvokeConfig`,
    );
    await rejectsWith(
      k.lambda.send(new UpdateFunctionEventInvokeConfigCommand({ FunctionName: 'target', MaximumRetryAttempts: 1 })),
      'ResourceNotFoundException',
      404,
      `The function ${ARN}target:$LATEST doesn't have an EventInvokeConfig`,
    );
    await rejectsWith(
      k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'ghost', MaximumRetryAttempts: 1 })),
      'ResourceNotFoundException',
      404,
      "The function doesn't exist.",
    );
    await rejectsWith(
      k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'target', Qualifier: '7', MaximumRetryAttempts: 1 })),
      'ResourceNotFoundException',
      404,
      "The function doesn't exist.",
    );
    await rejectsWith(
      k.lambda.send(new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'ghost' })),
      'ResourceNotFoundException',
      404,
      "The function doesn't exist.",
    );
  });

  test('each version and alias has a config of its own, with its qualified ARN; it goes with its version or alias', async () => {
    const code = (n: number) => zipEntries([{ name: 'index.mjs', content: `export const handler = async () => ${n};` }]);
    await createTwoVersions(k.lambda, 'qual', await code(1), await code(2));
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'qual', Name: 'live', FunctionVersion: '1' }));
    const v1 = await k.lambda.send(
      new PutFunctionEventInvokeConfigCommand({ FunctionName: 'qual', Qualifier: '1', MaximumRetryAttempts: 0 }),
    );
    assert.equal(v1.FunctionArn, `${ARN}qual:1`);
    const live = await k.lambda.send(
      new PutFunctionEventInvokeConfigCommand({ FunctionName: `${ARN}qual:live`, MaximumEventAgeInSeconds: 120 }),
    );
    assert.equal(live.FunctionArn, `${ARN}qual:live`);
    const updated = await k.lambda.send(
      new UpdateFunctionEventInvokeConfigCommand({ FunctionName: 'qual', Qualifier: 'live', MaximumRetryAttempts: 1 }),
    );
    assert.deepEqual([updated.MaximumRetryAttempts, updated.MaximumEventAgeInSeconds], [1, 120]);
    const got = await k.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'qual', Qualifier: '1' }));
    assert.deepEqual([got.FunctionArn, got.MaximumRetryAttempts, got.MaximumEventAgeInSeconds], [`${ARN}qual:1`, 0, undefined]);
    await rejectsWith(
      k.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'qual' })),
      'ResourceNotFoundException',
      404,
      `The function ${ARN}qual:$LATEST doesn't have an EventInvokeConfig`,
    );
    const listed = await k.lambda.send(new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'qual' }));
    assert.deepEqual(
      listed.FunctionEventInvokeConfigs?.map((c) => c.FunctionArn),
      [`${ARN}qual:1`, `${ARN}qual:live`],
    );
    const first = await k.lambda.send(new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'qual', MaxItems: 1 }));
    assert.deepEqual(
      first.FunctionEventInvokeConfigs?.map((c) => c.FunctionArn),
      [`${ARN}qual:1`],
    );
    assert.ok(first.NextMarker, 'a NextMarker when more configs follow');
    const second = await k.lambda.send(
      new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'qual', MaxItems: 1, Marker: first.NextMarker }),
    );
    assert.deepEqual(
      second.FunctionEventInvokeConfigs?.map((c) => c.FunctionArn),
      [`${ARN}qual:live`],
    );
    assert.equal(second.NextMarker, undefined);
    await rejectsWith(
      k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'qual', Qualifier: 'nope', MaximumRetryAttempts: 1 })),
      'ResourceNotFoundException',
      404,
      "The function doesn't exist.",
    );
    await rejectsWith(
      k.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'qual', Qualifier: '2' })),
      'ResourceNotFoundException',
      404,
      `The function ${ARN}qual:2 doesn't have an EventInvokeConfig`,
    );
    await k.lambda.send(new DeleteAliasCommand({ FunctionName: 'qual', Name: 'live' }));
    const afterAlias = await k.lambda.send(new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'qual' }));
    assert.deepEqual(
      afterAlias.FunctionEventInvokeConfigs?.map((c) => c.FunctionArn),
      [`${ARN}qual:1`],
      "the alias's config went with it",
    );
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'qual', Qualifier: '1' }));
    const afterVersion = await k.lambda.send(new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'qual' }));
    assert.deepEqual(afterVersion.FunctionEventInvokeConfigs, [], "the version's config went with it");
  });

  test('ranges and empty settings are refused and change nothing', async () => {
    await deploy('ranges');
    await k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'ranges', MaximumRetryAttempts: 2 }));
    const cases: Array<[Record<string, number>, string]> = [
      [
        { MaximumRetryAttempts: 3 },
        "Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2",
      ],
      [
        { MaximumRetryAttempts: -1 },
        "Value '-1' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0",
      ],
      [
        { MaximumEventAgeInSeconds: 59 },
        "Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
      ],
      [
        { MaximumEventAgeInSeconds: 21601 },
        "Value '21601' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600",
      ],
    ];
    for (const [input, message] of cases) {
      await rejectsWith(
        k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'ranges', ...input })),
        'ValidationException',
        400,
        `1 validation error detected: ${message}`,
      );
    }
    await rejectsWith(
      k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'ranges' })),
      'InvalidParameterValueException',
      400,
      'You must specify at least one of error handling or destination setting.',
    );
    const still = await k.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'ranges' }));
    assert.equal(still.MaximumRetryAttempts, 2);
  });

  test('bad destination ARNs', async () => {
    const put = (destination: string, on: 'OnSuccess' | 'OnFailure' = 'OnFailure') =>
      k.lambda.send(
        new PutFunctionEventInvokeConfigCommand({ FunctionName: 'target', DestinationConfig: { [on]: { Destination: destination } } }),
      );
    await rejectsWith(
      put('not-an-arn'),
      'ValidationException',
      400,
      "1 validation error detected: Value 'not-an-arn' at 'destinationConfig.onFailure.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)",
    );
    await rejectsWith(put(`${ARN}ghost`), 'InvalidParameterValueException', 400, `The destination ARN ${ARN}ghost is invalid.`);
    await rejectsWith(
      put(`${ARN}target`, 'OnSuccess'),
      'InvalidParameterValueException',
      400,
      "You can't specify the function as a destination for itself.",
    );
    await rejectsWith(
      put('arn:aws:dynamodb:us-east-1:000000000000:table/t'),
      'InvalidParameterValueException',
      400,
      'The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=arn:aws:dynamodb:us-east-1:000000000000:table/t)) is invalid.',
    );
    await rejectsWith(
      put('arn:aws:sqs:us-east-1:000000000000:records.fifo'),
      'InvalidParameterValueException',
      400,
      'The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=arn:aws:sqs:us-east-1:000000000000:records.fifo)) is invalid.',
    );
    await rejectsWith(
      put('arn:aws:sns:us-east-1:000000000000:topic'),
      'InvalidParameterValueException',
      400,
      'Kumo cannot deliver to SNS topics yet; use a Lambda function or an SQS queue ARN as the destination: arn:aws:sns:us-east-1:000000000000:topic',
    );
    await rejectsWith(
      k.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'target' })),
      'ResourceNotFoundException',
      404,
      /doesn't have an EventInvokeConfig/,
    );
  });

  test('deleting the function deletes its config', async () => {
    await deploy('gone');
    await k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'gone', MaximumRetryAttempts: 0 }));
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'gone' }));
    await deploy('gone');
    await rejectsWith(
      k.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'gone' })),
      'ResourceNotFoundException',
      404,
      /EventInvokeConfig/,
    );
  });
});

describe('DeadLetterConfig', () => {
  test('set on create and update, shown by GetFunction(Configuration), removed with an empty TargetArn', async () => {
    await deploy('with-dlq', QUEUE);
    const config = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'with-dlq' }));
    assert.deepEqual(config.DeadLetterConfig, { TargetArn: QUEUE });
    const other = 'arn:aws:sqs:us-east-1:000000000000:other-dlq';
    const updated = await k.lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'with-dlq', DeadLetterConfig: { TargetArn: other } }),
    );
    assert.deepEqual(updated.DeadLetterConfig, { TargetArn: other });
    assert.deepEqual((await k.lambda.send(new GetFunctionCommand({ FunctionName: 'with-dlq' }))).Configuration?.DeadLetterConfig, {
      TargetArn: other,
    });
    await k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'with-dlq', DeadLetterConfig: { TargetArn: '' } }));
    assert.equal((await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'with-dlq' }))).DeadLetterConfig, undefined);
  });

  test('a target that is not a queue is refused', async () => {
    await rejectsWith(
      k.lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: 'other', DeadLetterConfig: { TargetArn: 'arn:aws:s3:::bucket' } }),
      ),
      'InvalidParameterValueException',
      400,
      'The provided target arn arn:aws:s3:::bucket is invalid. The dead-letter queue must be an SQS queue or an SNS topic.',
    );
    await rejectsWith(
      k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'other', DeadLetterConfig: { TargetArn: 'queue' } })),
      'ValidationException',
      400,
      "1 validation error detected: Value 'queue' at 'deadLetterConfig.targetArn' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()",
    );
    assert.equal((await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'other' }))).DeadLetterConfig, undefined);
  });
});

describe('event invoke config through the AWS CLI', () => {
  test('put-, update-, get-, list- and delete-function-event-invoke-config', async () => {
    await deploy('cli-cfg');
    const put = await cli(
      'put-function-event-invoke-config',
      '--function-name',
      'cli-cfg',
      '--maximum-retry-attempts',
      '0',
      '--destination-config',
      JSON.stringify({ OnSuccess: { Destination: `${ARN}target` } }),
    );
    assert.equal(put.code, 0, put.stderr);
    const out = JSON.parse(put.stdout) as Record<string, unknown>;
    // The wire carries epoch seconds; the CLI prints them as an ISO timestamp.
    assert.ok(Math.abs(Date.parse(String(out.LastModified)) - Date.now()) < 60_000, String(out.LastModified));
    assert.deepEqual(
      { ...out, LastModified: 0 },
      {
        LastModified: 0,
        FunctionArn: `${ARN}cli-cfg:$LATEST`,
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnSuccess: { Destination: `${ARN}target` }, OnFailure: {} },
      },
    );
    const upd = await cli('update-function-event-invoke-config', '--function-name', 'cli-cfg', '--maximum-event-age-in-seconds', '120');
    assert.equal(upd.code, 0, upd.stderr);
    assert.equal((JSON.parse(upd.stdout) as { MaximumEventAgeInSeconds: number }).MaximumEventAgeInSeconds, 120);
    const get = await cli('get-function-event-invoke-config', '--function-name', 'cli-cfg');
    assert.equal((JSON.parse(get.stdout) as { MaximumRetryAttempts: number }).MaximumRetryAttempts, 0);
    const list = await cli('list-function-event-invoke-configs', '--function-name', 'cli-cfg');
    assert.equal((JSON.parse(list.stdout) as { FunctionEventInvokeConfigs: unknown[] }).FunctionEventInvokeConfigs.length, 1);
    const del = await cli('delete-function-event-invoke-config', '--function-name', 'cli-cfg');
    assert.equal(del.code, 0, del.stderr);
    const again = await cli('get-function-event-invoke-config', '--function-name', 'cli-cfg');
    assert.notEqual(again.code, 0);
    assert.match(
      again.stderr,
      /An error occurred \(ResourceNotFoundException\) when calling the GetFunctionEventInvokeConfig operation: The function arn:aws:lambda:us-east-1:000000000000:function:cli-cfg:\$LATEST doesn't have an EventInvokeConfig/,
    );
    const bad = await cli('put-function-event-invoke-config', '--function-name', 'cli-cfg', '--maximum-retry-attempts', '5');
    assert.match(bad.stderr, /\(ValidationException\).*Member must have value less than or equal to 2/);
  });

  test('invoke --invocation-type Event and invoke-async', async () => {
    const inv = await cli(
      'invoke',
      '--function-name',
      'target',
      '--invocation-type',
      'Event',
      '--cli-binary-format',
      'raw-in-base64-out',
      '--payload',
      '{"a":1}',
      '/dev/null',
    );
    assert.equal(inv.code, 0, inv.stderr);
    assert.deepEqual(JSON.parse(inv.stdout), { StatusCode: 202 });
    const legacy = await cli('invoke-async', '--function-name', 'target', '--invoke-args', repoPath('package.json'));
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.deepEqual(JSON.parse(legacy.stdout), { Status: 202 });
  });
});
