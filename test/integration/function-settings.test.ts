/**
 * Settings Lambda keeps beside a function's configuration: recursive loop detection
 * (Get/PutFunctionRecursionConfig) and runtime management (Get/PutRuntimeManagementConfig), through
 * the real SDK and the AWS CLI: defaults, round trips, per-version runtime management, the errors
 * of misuse, a restart, and deletion taking the settings with the function.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CreateAliasCommand,
  DeleteFunctionCommand,
  GetFunctionConfigurationCommand,
  GetFunctionRecursionConfigCommand,
  GetRuntimeManagementConfigCommand,
  PublishVersionCommand,
  PutFunctionRecursionConfigCommand,
  PutRuntimeManagementConfigCommand,
  type PutRuntimeManagementConfigCommandInput,
  type RecursiveLoop,
  type Runtime,
  type UpdateRuntimeOn,
} from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { AWS_CLI_MISSING, awsCli } from '../helpers/aws-cli.js';
import { rejectsWith } from '../helpers/errors.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { qualifiedArn } from '../helpers/versions.js';

const k = useKumo();

const CODE = zipEntries([{ name: 'index.js', content: 'exports.handler = async () => "ok";' }]);

async function create(name: string, runtime: Runtime = 'nodejs20.x'): Promise<void> {
  await createNodeFunction(k.lambda, name, await CODE, { Runtime: runtime });
}

async function recursion(name: string): Promise<string | undefined> {
  return (await k.lambda.send(new GetFunctionRecursionConfigCommand({ FunctionName: name }))).RecursiveLoop;
}

function putRecursion(name: string, value: string): Promise<{ RecursiveLoop?: string }> {
  return k.lambda.send(new PutFunctionRecursionConfigCommand({ FunctionName: name, RecursiveLoop: value as RecursiveLoop }));
}

/** GetRuntimeManagementConfig's answer without the SDK's metadata. */
async function runtime(name: string, qualifier?: string): Promise<Record<string, unknown>> {
  const { $metadata: _, ...out } = await k.lambda.send(new GetRuntimeManagementConfigCommand({ FunctionName: name, Qualifier: qualifier }));
  return out;
}

async function putRuntime(
  name: string,
  mode: string,
  extra: Partial<PutRuntimeManagementConfigCommandInput> = {},
): Promise<Record<string, unknown>> {
  const { $metadata: _, ...out } = await k.lambda.send(
    new PutRuntimeManagementConfigCommand({ FunctionName: name, UpdateRuntimeOn: mode as UpdateRuntimeOn, ...extra }),
  );
  return out;
}

/** The runtime version GetFunctionConfiguration reports for a version. */
async function runsOn(name: string, qualifier?: string): Promise<string> {
  const config = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: qualifier }));
  return config.RuntimeVersionConfig?.RuntimeVersionArn ?? assert.fail('no RuntimeVersionConfig');
}

describe('recursive loop detection', () => {
  test('defaults to Terminate; Put answers and stores Allow, by name, partial ARN and ARN; Terminate again', async () => {
    await create('rl-basic');
    assert.equal(await recursion('rl-basic'), 'Terminate');
    assert.deepEqual((await putRecursion('rl-basic', 'Allow')).RecursiveLoop, 'Allow');
    assert.equal(await recursion('rl-basic'), 'Allow');
    assert.equal(await recursion('000000000000:function:rl-basic'), 'Allow');
    assert.equal(await recursion(qualifiedArn('rl-basic')), 'Allow');
    assert.deepEqual((await putRecursion(qualifiedArn('rl-basic'), 'Terminate')).RecursiveLoop, 'Terminate');
    assert.equal(await recursion('rl-basic'), 'Terminate');
  });

  test('misuse: a value outside the enum, a missing value, a qualified name, an unknown function; nothing changes', async () => {
    await create('rl-errors');
    await putRecursion('rl-errors', 'Allow');
    await rejectsWith(
      putRecursion('rl-errors', 'Sometimes'),
      'ValidationException',
      "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Allow, Terminate]",
    );
    await rejectsWith(
      k.lambda.send(new PutFunctionRecursionConfigCommand({ FunctionName: 'rl-errors', RecursiveLoop: undefined })),
      'ValidationException',
      "1 validation error detected: Value null at 'recursiveLoop' failed to satisfy constraint: Member must not be null",
    );
    await rejectsWith(
      recursion('rl-errors:1'),
      'ValidationException',
      "1 validation error detected: Value 'rl-errors:1' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)",
    );
    await rejectsWith(putRecursion(`${qualifiedArn('rl-errors')}:$LATEST`, 'Terminate'), 'ValidationException');
    await rejectsWith(recursion('rl-nope'), 'ResourceNotFoundException', `Function not found: ${qualifiedArn('rl-nope')}`);
    await rejectsWith(putRecursion('rl-nope', 'Allow'), 'ResourceNotFoundException', `Function not found: ${qualifiedArn('rl-nope')}`);
    assert.equal(await recursion('rl-errors'), 'Allow');
  });
});

describe('runtime management', () => {
  test('defaults to Auto with no runtime version; FunctionUpdate round-trips; FunctionArn as the caller named it', async () => {
    await create('rm-basic');
    assert.deepEqual(await runtime('rm-basic'), { UpdateRuntimeOn: 'Auto', FunctionArn: qualifiedArn('rm-basic') });
    assert.deepEqual(await putRuntime('rm-basic', 'FunctionUpdate'), {
      UpdateRuntimeOn: 'FunctionUpdate',
      FunctionArn: qualifiedArn('rm-basic'),
    });
    assert.deepEqual(await runtime('rm-basic'), { UpdateRuntimeOn: 'FunctionUpdate', FunctionArn: qualifiedArn('rm-basic') });
    assert.deepEqual(await runtime('rm-basic', '$LATEST'), {
      UpdateRuntimeOn: 'FunctionUpdate',
      FunctionArn: qualifiedArn('rm-basic', '$LATEST'),
    });
    assert.deepEqual(await runtime(qualifiedArn('rm-basic', '$LATEST')), {
      UpdateRuntimeOn: 'FunctionUpdate',
      FunctionArn: qualifiedArn('rm-basic', '$LATEST'),
    });
    assert.deepEqual(await putRuntime('rm-basic', 'Auto'), { UpdateRuntimeOn: 'Auto', FunctionArn: qualifiedArn('rm-basic') });
    assert.deepEqual(await runtime('rm-basic'), { UpdateRuntimeOn: 'Auto', FunctionArn: qualifiedArn('rm-basic') });
  });

  test('Manual pins the runtime version GetFunctionConfiguration reports, and Get returns it only in Manual', async () => {
    await create('rm-manual');
    const version = await runsOn('rm-manual');
    assert.match(version, /^arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$/);
    const expected = { UpdateRuntimeOn: 'Manual', FunctionArn: qualifiedArn('rm-manual'), RuntimeVersionArn: version };
    assert.deepEqual(await putRuntime('rm-manual', 'Manual', { RuntimeVersionArn: version }), expected);
    assert.deepEqual(await runtime('rm-manual'), expected);
    assert.equal(await runsOn('rm-manual'), version);
    await putRuntime('rm-manual', 'FunctionUpdate');
    assert.deepEqual(await runtime('rm-manual'), { UpdateRuntimeOn: 'FunctionUpdate', FunctionArn: qualifiedArn('rm-manual') });
  });

  test('each version has its own; a published version starts with what $LATEST had', async () => {
    await create('rm-versions');
    const version = await runsOn('rm-versions');
    await putRuntime('rm-versions', 'Manual', { RuntimeVersionArn: version });
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'rm-versions' }));
    assert.deepEqual(await runtime('rm-versions', '1'), {
      UpdateRuntimeOn: 'Manual',
      FunctionArn: qualifiedArn('rm-versions', '1'),
      RuntimeVersionArn: version,
    });
    assert.equal(await runsOn('rm-versions', '1'), version);
    await putRuntime('rm-versions', 'Auto');
    assert.equal((await runtime('rm-versions', '1')).UpdateRuntimeOn, 'Manual');
    assert.deepEqual(await putRuntime(qualifiedArn('rm-versions', '1'), 'FunctionUpdate'), {
      UpdateRuntimeOn: 'FunctionUpdate',
      FunctionArn: qualifiedArn('rm-versions', '1'),
    });
    assert.equal((await runtime('rm-versions')).UpdateRuntimeOn, 'Auto');
    assert.equal((await runtime('rm-versions', '1')).UpdateRuntimeOn, 'FunctionUpdate');
  });

  test('misuse answers Lambda error types and changes nothing', async () => {
    await create('rm-errors');
    await create('rm-other-runtime', 'nodejs22.x');
    const version = await runsOn('rm-errors');
    await putRuntime('rm-errors', 'FunctionUpdate');
    const before = await runtime('rm-errors');

    await rejectsWith(
      putRuntime('rm-errors', 'Manual'),
      'InvalidParameterValueException',
      'RuntimeVersionArn is required when UpdateRuntimeOn is Manual.',
    );
    await rejectsWith(
      putRuntime('rm-errors', 'Auto', { RuntimeVersionArn: version }),
      'InvalidParameterValueException',
      'RuntimeVersionArn can only be specified when UpdateRuntimeOn is Manual, not Auto.',
    );
    await rejectsWith(putRuntime('rm-errors', 'FunctionUpdate', { RuntimeVersionArn: version }), 'InvalidParameterValueException');
    await rejectsWith(
      putRuntime('rm-errors', 'Sometimes'),
      'ValidationException',
      "1 validation error detected: Value 'Sometimes' at 'updateRuntimeOn' failed to satisfy constraint: Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]",
    );
    await rejectsWith(
      putRuntime('rm-errors', undefined as unknown as string),
      'ValidationException',
      "1 validation error detected: Value null at 'updateRuntimeOn' failed to satisfy constraint: Member must not be null",
    );
    const malformed = 'arn:aws:lambda:us-east-1:000000000000:runtime:abc';
    await rejectsWith(
      putRuntime('rm-errors', 'Manual', { RuntimeVersionArn: malformed }),
      'ValidationException',
      `1 validation error detected: Value '${malformed}' at 'runtimeVersionArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1}::runtime:.+$`,
    );
    await rejectsWith(
      putRuntime('rm-errors', 'Manual', { RuntimeVersionArn: 'arn:aws:lambda' }),
      'ValidationException',
      "1 validation error detected: Value 'arn:aws:lambda' at 'runtimeVersionArn' failed to satisfy constraint: Member must have length greater than or equal to 26",
    );
    // A well-formed runtime version Kumo does not run for this function's runtime (nodejs22.x's).
    const other = await runsOn('rm-other-runtime');
    assert.notEqual(other, version);
    await rejectsWith(
      putRuntime('rm-errors', 'Manual', { RuntimeVersionArn: other }),
      'InvalidParameterValueException',
      `Runtime version ${other} is not available for runtime nodejs20.x. Kumo runs one version of each runtime: ${version}.`,
    );
    await rejectsWith(
      putRuntime('rm-errors', 'Manual', { RuntimeVersionArn: `arn:aws:lambda:us-east-1::runtime:${'a'.repeat(64)}` }),
      'InvalidParameterValueException',
    );

    await rejectsWith(runtime('rm-nope'), 'ResourceNotFoundException', `Function not found: ${qualifiedArn('rm-nope')}`);
    await rejectsWith(putRuntime('rm-nope', 'Auto'), 'ResourceNotFoundException', `Function not found: ${qualifiedArn('rm-nope')}`);
    await rejectsWith(runtime('rm-errors', '7'), 'ResourceNotFoundException', `Function not found: ${qualifiedArn('rm-errors', '7')}`);
    await rejectsWith(
      putRuntime('rm-errors', 'Auto', { Qualifier: '7' }),
      'ResourceNotFoundException',
      `Function not found: ${qualifiedArn('rm-errors', '7')}`,
    );
    await rejectsWith(
      runtime('rm-errors', 'bad qualifier'),
      'ValidationException',
      "1 validation error detected: Value 'bad qualifier' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
    );
    await rejectsWith(
      runtime('rm-errors:1', '2'),
      'InvalidParameterValueException',
      'The derived qualifier from the function name does not match the specified qualifier.',
    );

    assert.deepEqual(await runtime('rm-errors'), before);
  });

  test('an alias is not a version: not found, whether or not the alias exists', async () => {
    await create('rm-alias');
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'rm-alias' }));
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'rm-alias', Name: 'live', FunctionVersion: '1' }));
    await rejectsWith(runtime('rm-alias', 'live'), 'ResourceNotFoundException', `Function not found: ${qualifiedArn('rm-alias', 'live')}`);
    await rejectsWith(
      putRuntime(qualifiedArn('rm-alias', 'live'), 'FunctionUpdate'),
      'ResourceNotFoundException',
      `Function not found: ${qualifiedArn('rm-alias', 'live')}`,
    );
    await rejectsWith(
      runtime('rm-alias', 'nosuch'),
      'ResourceNotFoundException',
      `Function not found: ${qualifiedArn('rm-alias', 'nosuch')}`,
    );
    assert.equal((await runtime('rm-alias', '1')).UpdateRuntimeOn, 'Auto');
  });
});

describe('lifetime of the settings', () => {
  test('they survive a restart', async () => {
    await create('st-restart');
    const version = await runsOn('st-restart');
    await putRecursion('st-restart', 'Allow');
    await putRuntime('st-restart', 'Manual', { RuntimeVersionArn: version });
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'st-restart' }));
    await putRuntime('st-restart', 'FunctionUpdate', { Qualifier: '1' });
    await k.restart();
    assert.equal(await recursion('st-restart'), 'Allow');
    assert.deepEqual(await runtime('st-restart'), {
      UpdateRuntimeOn: 'Manual',
      FunctionArn: qualifiedArn('st-restart'),
      RuntimeVersionArn: version,
    });
    assert.equal((await runtime('st-restart', '1')).UpdateRuntimeOn, 'FunctionUpdate');
  });

  test('deleting the function deletes them: a new function of the same name starts from the defaults', async () => {
    await create('st-delete');
    await putRecursion('st-delete', 'Allow');
    await putRuntime('st-delete', 'Manual', { RuntimeVersionArn: await runsOn('st-delete') });
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'st-delete' }));
    await rejectsWith(recursion('st-delete'), 'ResourceNotFoundException');
    await rejectsWith(runtime('st-delete'), 'ResourceNotFoundException');
    await create('st-delete');
    assert.equal(await recursion('st-delete'), 'Terminate');
    assert.deepEqual(await runtime('st-delete'), { UpdateRuntimeOn: 'Auto', FunctionArn: qualifiedArn('st-delete') });
  });

  test("deleting a version deletes its runtime management configuration, and leaves $LATEST's", async () => {
    await create('st-version');
    await putRuntime('st-version', 'FunctionUpdate');
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'st-version' }));
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'st-version', Qualifier: '1' }));
    await rejectsWith(runtime('st-version', '1'), 'ResourceNotFoundException', `Function not found: ${qualifiedArn('st-version', '1')}`);
    assert.equal((await runtime('st-version')).UpdateRuntimeOn, 'FunctionUpdate');
  });
});

describe('the AWS CLI', { skip: AWS_CLI_MISSING }, () => {
  const cli = awsCli(k, 'lambda');

  test('put- and get-runtime-management-config; Manual without a runtime version is refused with exit code 254', async () => {
    await create('cli-runtime');
    const version = await runsOn('cli-runtime');
    // The CLI prints what its model knows: 2.9.19's GetRuntimeManagementConfig output has no FunctionArn yet.
    const initial = await cli.json<{ UpdateRuntimeOn: string; RuntimeVersionArn?: string }>(
      'get-runtime-management-config',
      '--function-name',
      'cli-runtime',
    );
    assert.deepEqual([initial.UpdateRuntimeOn, initial.RuntimeVersionArn], ['Auto', undefined]);
    const put = await cli.json(
      'put-runtime-management-config',
      '--function-name',
      'cli-runtime',
      '--update-runtime-on',
      'Manual',
      '--runtime-version-arn',
      version,
    );
    assert.deepEqual(put, { UpdateRuntimeOn: 'Manual', FunctionArn: qualifiedArn('cli-runtime'), RuntimeVersionArn: version });
    const got = await cli.json<{ UpdateRuntimeOn: string; RuntimeVersionArn?: string }>(
      'get-runtime-management-config',
      '--function-name',
      'cli-runtime',
      '--qualifier',
      '$LATEST',
    );
    assert.deepEqual([got.UpdateRuntimeOn, got.RuntimeVersionArn], ['Manual', version]);
    const refused = await cli('put-runtime-management-config', '--function-name', 'cli-runtime', '--update-runtime-on', 'Manual');
    assert.equal(refused.code, 254, refused.stderr);
    assert.match(refused.stderr, /InvalidParameterValueException.*RuntimeVersionArn is required when UpdateRuntimeOn is Manual\./);
    const missing = await cli('get-runtime-management-config', '--function-name', 'cli-nope');
    assert.equal(missing.code, 254);
    assert.match(missing.stderr, /ResourceNotFoundException/);
  });

  test('put- and get-function-recursion-config, where the CLI has them', async (t) => {
    await create('cli-recursion');
    const got = await cli('get-function-recursion-config', '--function-name', 'cli-recursion');
    if (got.code !== 0 && /Invalid choice/.test(got.stderr)) {
      // Debian's aws-cli 2.9.19 (January 2023) predates these operations (August 2024).
      const said = got.stderr.split('\n').find((line) => line.includes('Invalid choice')) ?? '';
      t.skip(`this AWS CLI has no get-function-recursion-config (${said.trim()})`);
      return;
    }
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(JSON.parse(got.stdout), { RecursiveLoop: 'Terminate' });
    assert.deepEqual(await cli.json('put-function-recursion-config', '--function-name', 'cli-recursion', '--recursive-loop', 'Allow'), {
      RecursiveLoop: 'Allow',
    });
    assert.deepEqual(await cli.json('get-function-recursion-config', '--function-name', 'cli-recursion'), { RecursiveLoop: 'Allow' });
  });
});
