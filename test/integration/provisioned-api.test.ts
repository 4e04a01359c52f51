/**
 * The provisioned concurrency API against a real Kumo, with @aws-sdk/client-lambda and the AWS CLI:
 * Put/Get/Delete/ListProvisionedConcurrencyConfigs on versions and aliases (a weighted alias splits
 * its environments between its versions), Status IN_PROGRESS → READY, invocations without a cold
 * start, the account's concurrency accounting, Lambda's errors for misuse, configs going with their
 * version, alias or function, and configs surviving a restart.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import {
  CreateAliasCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteProvisionedConcurrencyConfigCommand,
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  GetProvisionedConcurrencyConfigCommand,
  InvokeCommand,
  ListProvisionedConcurrencyConfigsCommand,
  PutFunctionConcurrencyCommand,
  PutProvisionedConcurrencyConfigCommand,
  UpdateAliasCommand,
  type GetProvisionedConcurrencyConfigCommandOutput,
} from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { AWS_CLI_MISSING, awsCli } from '../helpers/aws-cli.js';
import { rejectsWith } from '../helpers/errors.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { createTwoVersions, qualifiedArn } from '../helpers/versions.js';
import { eventually } from '../helpers/wait.js';

const HANDLER = `
exports.handler = async (event) => {
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return { type: process.env.AWS_LAMBDA_INITIALIZATION_TYPE, version: process.env.AWS_LAMBDA_FUNCTION_VERSION };
};`;
/** Small account numbers, so that the quota errors are reachable. */
const LIMIT = 40;
const MINIMUM = 10;

const k = useKumo({ concurrencyLimit: LIMIT, unreservedConcurrencyMinimum: MINIMUM });

/** A function with versions 1 and 2 (their code differs by a comment). */
async function withTwoVersions(name: string): Promise<void> {
  const code = (n: number) => zipEntries([{ name: 'index.js', content: `${HANDLER}\n// version ${n}` }]);
  await createTwoVersions(k.lambda, name, await code(1), await code(2));
}

function put(name: string, qualifier: string, count: number) {
  return k.lambda.send(
    new PutProvisionedConcurrencyConfigCommand({ FunctionName: name, Qualifier: qualifier, ProvisionedConcurrentExecutions: count }),
  );
}

function get(name: string, qualifier: string): Promise<GetProvisionedConcurrencyConfigCommandOutput> {
  return k.lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: name, Qualifier: qualifier }));
}

async function ready(name: string, qualifier: string): Promise<GetProvisionedConcurrencyConfigCommandOutput> {
  await eventually(async () => (await get(name, qualifier)).Status === 'READY', `${name}:${qualifier} to be READY`);
  return get(name, qualifier);
}

async function invoke(name: string, qualifier: string, event: object = {}): Promise<{ type: string; version: string; cold: boolean }> {
  const out = await k.lambda.send(
    new InvokeCommand({ FunctionName: name, Qualifier: qualifier, Payload: Buffer.from(JSON.stringify(event)), LogType: 'Tail' }),
  );
  const text = Buffer.from(out.Payload ?? []).toString();
  assert.equal(out.FunctionError, undefined, text);
  const body = JSON.parse(text) as { type: string; version: string };
  return { ...body, cold: /Init Duration/.test(Buffer.from(out.LogResult ?? '', 'base64').toString()) };
}

async function unreserved(): Promise<number | undefined> {
  return (await k.lambda.send(new GetAccountSettingsCommand({}))).AccountLimit?.UnreservedConcurrentExecutions;
}

describe('on a published version', () => {
  test('Put answers 202 IN_PROGRESS; Get turns READY with the environments allocated; invocations within the count see no cold start', async () => {
    await withTwoVersions('pc-version');
    const out = await put('pc-version', '1', 2);
    assert.equal(out.$metadata.httpStatusCode, 202);
    assert.equal(out.RequestedProvisionedConcurrentExecutions, 2);
    assert.equal(out.Status, 'IN_PROGRESS');
    assert.match(out.LastModified ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
    const got = await ready('pc-version', '1');
    assert.equal(got.RequestedProvisionedConcurrentExecutions, 2);
    assert.equal(got.AllocatedProvisionedConcurrentExecutions, 2);
    assert.equal(got.AvailableProvisionedConcurrentExecutions, 2);
    assert.equal(got.StatusReason, undefined);
    const runs = await Promise.all([invoke('pc-version', '1', { sleepMs: 300 }), invoke('pc-version', '1', { sleepMs: 300 })]);
    for (const r of runs) {
      assert.equal(r.cold, false, 'no Init Duration within the provisioned count');
      assert.equal(r.type, 'provisioned-concurrency');
      assert.equal(r.version, '1');
    }
    // $LATEST and version 2 have none.
    assert.equal((await invoke('pc-version', '2')).type, 'on-demand');
  });

  test('ListProvisionedConcurrencyConfigs lists each config with its qualified ARN; Delete ends the provisioning', async () => {
    await put('pc-version', '2', 1);
    await ready('pc-version', '2');
    const listed = await k.lambda.send(new ListProvisionedConcurrencyConfigsCommand({ FunctionName: 'pc-version' }));
    assert.deepEqual(
      listed.ProvisionedConcurrencyConfigs?.map((c) => [c.FunctionArn, c.RequestedProvisionedConcurrentExecutions, c.Status]),
      [
        [qualifiedArn('pc-version', '1'), 2, 'READY'],
        [qualifiedArn('pc-version', '2'), 1, 'READY'],
      ],
    );
    const page = await k.lambda.send(new ListProvisionedConcurrencyConfigsCommand({ FunctionName: 'pc-version', MaxItems: 1 }));
    assert.equal(page.ProvisionedConcurrencyConfigs?.length, 1);
    const rest = await k.lambda.send(new ListProvisionedConcurrencyConfigsCommand({ FunctionName: 'pc-version', Marker: page.NextMarker }));
    assert.equal(rest.ProvisionedConcurrencyConfigs?.[0]?.FunctionArn, qualifiedArn('pc-version', '2'));
    assert.equal(rest.NextMarker, undefined);

    const before = k.kumo.engineStats().provisionedEnvironments;
    const deleted = await k.lambda.send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'pc-version', Qualifier: '2' }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    assert.equal(k.kumo.engineStats().provisionedEnvironments, before - 1);
    await rejectsWith(
      get('pc-version', '2'),
      'ProvisionedConcurrencyConfigNotFoundException',
      'No Provisioned Concurrency Config found for this function',
    );
    // Deleting again is not an error, as on Lambda.
    await k.lambda.send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'pc-version', Qualifier: '2' }));
  });

  test('deleting the version deletes its config and its environments', async () => {
    await withTwoVersions('pc-gone');
    await put('pc-gone', '2', 1);
    await ready('pc-gone', '2');
    const before = k.kumo.engineStats().provisionedEnvironments;
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'pc-gone', Qualifier: '2' }));
    assert.equal(k.kumo.engineStats().provisionedEnvironments, before - 1);
    const listed = await k.lambda.send(new ListProvisionedConcurrencyConfigsCommand({ FunctionName: 'pc-gone' }));
    assert.deepEqual(listed.ProvisionedConcurrencyConfigs, []);
  });
});

describe('on an alias', () => {
  test('an alias provisions its version, and the provisioning follows the alias when it moves', async () => {
    await withTwoVersions('pc-alias');
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'pc-alias', Name: 'live', FunctionVersion: '1' }));
    await put('pc-alias', 'live', 1);
    await ready('pc-alias', 'live');
    const r1 = await invoke('pc-alias', 'live');
    assert.deepEqual([r1.type, r1.version, r1.cold], ['provisioned-concurrency', '1', false]);

    await k.lambda.send(new UpdateAliasCommand({ FunctionName: 'pc-alias', Name: 'live', FunctionVersion: '2' }));
    const moved = await ready('pc-alias', 'live');
    assert.equal(moved.AllocatedProvisionedConcurrentExecutions, 1);
    const r2 = await invoke('pc-alias', 'live');
    assert.deepEqual([r2.type, r2.version, r2.cold], ['provisioned-concurrency', '2', false]);
  });

  test('a weighted alias splits its provisioned environments between its two versions by weight', async () => {
    await withTwoVersions('pc-weighted');
    await k.lambda.send(
      new CreateAliasCommand({
        FunctionName: 'pc-weighted',
        Name: 'canary',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { '2': 0.5 } },
      }),
    );
    const before = k.kumo.engineStats().provisionedEnvironments;
    await put('pc-weighted', 'canary', 4);
    const got = await ready('pc-weighted', 'canary');
    assert.equal(got.AllocatedProvisionedConcurrentExecutions, 4);
    assert.equal(k.kumo.engineStats().provisionedEnvironments, before + 4);
    // Each version has two provisioned environments: two concurrent calls on either see no cold start.
    for (const version of ['1', '2']) {
      const runs = await Promise.all([invoke('pc-weighted', version, { sleepMs: 200 }), invoke('pc-weighted', version, { sleepMs: 200 })]);
      assert.deepEqual(
        runs.map((r) => [r.type, r.cold]),
        [
          ['provisioned-concurrency', false],
          ['provisioned-concurrency', false],
        ],
      );
    }
  });

  test('deleting the alias deletes its config', async () => {
    await withTwoVersions('pc-alias-gone');
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'pc-alias-gone', Name: 'live', FunctionVersion: '1' }));
    await put('pc-alias-gone', 'live', 1);
    await ready('pc-alias-gone', 'live');
    const before = k.kumo.engineStats().provisionedEnvironments;
    await k.lambda.send(new DeleteAliasCommand({ FunctionName: 'pc-alias-gone', Name: 'live' }));
    await eventually(() => k.kumo.engineStats().provisionedEnvironments === before - 1, 'the alias provisioning to end');
    const listed = await k.lambda.send(new ListProvisionedConcurrencyConfigsCommand({ FunctionName: 'pc-alias-gone' }));
    assert.deepEqual(listed.ProvisionedConcurrencyConfigs, []);
  });
});

describe('concurrency accounting', () => {
  test("a function without reserved concurrency takes its provisioned concurrency out of the account's unreserved pool; GetFunctionConcurrency is unchanged", async () => {
    await withTwoVersions('pc-account');
    const start = await unreserved();
    await put('pc-account', '1', 3);
    assert.equal(await unreserved(), (start ?? 0) - 3);
    const concurrency = await k.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'pc-account' }));
    assert.equal(concurrency.ReservedConcurrentExecutions, undefined);
    await k.lambda.send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'pc-account', Qualifier: '1' }));
    assert.equal(await unreserved(), start);
  });

  test('with reserved concurrency, provisioned concurrency fits within the reservation and leaves the account untouched', async () => {
    await withTwoVersions('pc-reserved');
    await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'pc-reserved', ReservedConcurrentExecutions: 2 }));
    const start = await unreserved();
    await put('pc-reserved', '1', 1);
    assert.equal(await unreserved(), start);
    await rejectsWith(
      put('pc-reserved', '2', 2),
      'InvalidParameterValueException',
      'Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function',
    );
    await rejectsWith(
      k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'pc-reserved', ReservedConcurrentExecutions: 0 })),
      'InvalidParameterValueException',
      "Specified ReservedConcurrentExecutions for function is less than the function's provisioned concurrency [1].",
    );
    const concurrency = await k.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'pc-reserved' }));
    assert.equal(concurrency.ReservedConcurrentExecutions, 2);
  });

  test('two Puts sent together cannot both take the reservation: one is refused', async () => {
    await withTwoVersions('pc-together');
    await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'pc-together', ReservedConcurrentExecutions: 2 }));
    // Both requests in one write on one connection: Kumo starts both before either has answered.
    const request = (qualifier: string): string => {
      const body = JSON.stringify({ ProvisionedConcurrentExecutions: 2 });
      return (
        `PUT /2019-09-30/functions/pc-together/provisioned-concurrency?Qualifier=${qualifier} HTTP/1.1\r\n` +
        `Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      );
    };
    const answers = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(k.kumo.port, '127.0.0.1', () => socket.write(request('1') + request('2')));
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        if ((text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length === 2 && /\}\s*$/.test(text)) {
          socket.end();
          resolve(text);
        }
      });
      socket.on('error', reject);
    });
    const statuses = (answers.match(/HTTP\/1\.1 (\d{3})/g) ?? []).map((line) => line.slice(9)).sort();
    assert.deepEqual(statuses, ['202', '400'], answers);
    assert.match(answers, /should not be greater than the reservedConcurrentExecution/);
  });

  test('provisioned concurrency that would leave the unreserved pool below its minimum is refused', async () => {
    await withTwoVersions('pc-quota');
    const free = (await unreserved()) ?? 0;
    await rejectsWith(
      put('pc-quota', '1', free + 1),
      'InvalidParameterValueException',
      `Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [${free}].`,
    );
    await rejectsWith(
      put('pc-quota', '1', free - MINIMUM + 1),
      'InvalidParameterValueException',
      `Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${MINIMUM}].`,
    );
    assert.equal(await unreserved(), free, 'a refused config changes nothing');
  });
});

describe('misuse', () => {
  before(async () => {
    await withTwoVersions('pc-errors');
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'pc-errors', Name: 'live', FunctionVersion: '1' }));
  });

  test('$LATEST, a missing qualifier, zero, unknown versions and aliases: Lambda errors', async () => {
    await rejectsWith(
      put('pc-errors', '$LATEST', 1),
      'InvalidParameterValueException',
      'Provisioned Concurrency Configs cannot be applied to unpublished function versions.',
    );
    await rejectsWith(
      get('pc-errors', '$LATEST'),
      'InvalidParameterValueException',
      'The function resource provided must be an alias or a published version.',
    );
    await rejectsWith(
      k.lambda.send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'pc-errors', Qualifier: '$LATEST' })),
      'InvalidParameterValueException',
      'The function resource provided must be an alias or a published version.',
    );
    await rejectsWith(
      put('pc-errors', '1', 0),
      'ValidationException',
      /Value '0' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1/,
    );
    await rejectsWith(put('pc-errors', '9', 1), 'ResourceNotFoundException', `Function not found: ${qualifiedArn('pc-errors', '9')}`);
    await rejectsWith(
      put('pc-errors', 'nope', 1),
      'ResourceNotFoundException',
      `Cannot find alias arn: ${qualifiedArn('pc-errors', 'nope')}`,
    );
    await rejectsWith(put('pc-missing', '1', 1), 'ResourceNotFoundException', `Function not found: ${qualifiedArn('pc-missing')}`);
    await rejectsWith(
      get('pc-errors', '1'),
      'ProvisionedConcurrencyConfigNotFoundException',
      'No Provisioned Concurrency Config found for this function',
    );
    // The qualifier may come in the function's ARN instead.
    await put(qualifiedArn('pc-errors', '2'), '2', 1);
    assert.equal((await get('pc-errors:2', '2')).RequestedProvisionedConcurrentExecutions, 1);
    await k.lambda.send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'pc-errors', Qualifier: '2' }));
  });

  test('a version is provisioned through itself or through an alias, not both', async () => {
    await put('pc-errors', 'live', 1);
    await rejectsWith(put('pc-errors', '1', 1), 'ResourceConflictException', 'Version is pointed by a Provisioned Concurrency alias');
    await k.lambda.send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'pc-errors', Qualifier: 'live' }));
    await put('pc-errors', '1', 1);
    await rejectsWith(
      put('pc-errors', 'live', 1),
      'ResourceConflictException',
      "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
    );
  });
});

test('configs survive a restart: the environments are initialised again', async () => {
  await withTwoVersions('pc-restart');
  await k.lambda.send(new CreateAliasCommand({ FunctionName: 'pc-restart', Name: 'live', FunctionVersion: '2' }));
  await put('pc-restart', 'live', 2);
  await ready('pc-restart', 'live');
  await k.restart();
  const got = await ready('pc-restart', 'live');
  assert.equal(got.AllocatedProvisionedConcurrentExecutions, 2);
  const r = await invoke('pc-restart', 'live');
  assert.deepEqual([r.type, r.version, r.cold], ['provisioned-concurrency', '2', false]);
});

describe('AWS CLI', { skip: AWS_CLI_MISSING }, () => {
  const cli = awsCli(k, 'lambda');

  test('put-, get-, list- and delete-provisioned-concurrency-config; $LATEST is refused with exit code 254', async () => {
    await withTwoVersions('pc-cli');
    const putOut = await cli(
      'put-provisioned-concurrency-config',
      '--function-name',
      'pc-cli',
      '--qualifier',
      '1',
      '--provisioned-concurrent-executions',
      '1',
    );
    assert.equal(putOut.code, 0, putOut.stderr);
    assert.equal((JSON.parse(putOut.stdout) as { Status: string }).Status, 'IN_PROGRESS');
    await eventually(async () => {
      const got = await cli('get-provisioned-concurrency-config', '--function-name', 'pc-cli', '--qualifier', '1');
      return (JSON.parse(got.stdout) as { Status: string }).Status === 'READY';
    }, 'READY through the CLI');
    const listed = await cli('list-provisioned-concurrency-configs', '--function-name', 'pc-cli');
    assert.equal(listed.code, 0, listed.stderr);
    const configs = (
      JSON.parse(listed.stdout) as {
        ProvisionedConcurrencyConfigs: Array<{ FunctionArn: string; AllocatedProvisionedConcurrentExecutions: number }>;
      }
    ).ProvisionedConcurrencyConfigs;
    assert.deepEqual(
      configs.map((c) => [c.FunctionArn, c.AllocatedProvisionedConcurrentExecutions]),
      [[qualifiedArn('pc-cli', '1'), 1]],
    );
    const refused = await cli(
      'put-provisioned-concurrency-config',
      '--function-name',
      'pc-cli',
      '--qualifier',
      '$LATEST',
      '--provisioned-concurrent-executions',
      '1',
    );
    assert.equal(refused.code, 254);
    assert.match(
      refused.stderr,
      /InvalidParameterValueException.*Provisioned Concurrency Configs cannot be applied to unpublished function versions\./,
    );
    const missing = await cli('get-provisioned-concurrency-config', '--function-name', 'pc-cli', '--qualifier', '2');
    assert.equal(missing.code, 254);
    assert.match(missing.stderr, /ProvisionedConcurrencyConfigNotFoundException/);
    const deleted = await cli('delete-provisioned-concurrency-config', '--function-name', 'pc-cli', '--qualifier', '1');
    assert.equal(deleted.code, 0, deleted.stderr);
  });
});
