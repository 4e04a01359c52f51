/**
 * Aliases against a real Kumo, with @aws-sdk/client-lambda and the AWS CLI: CreateAlias, GetAlias,
 * UpdateAlias, DeleteAlias and ListAliases as Lambda renders them; alias qualifiers and alias ARNs
 * in Invoke and GetFunction(Configuration); Lambda's errors for misuse; and a weighted alias whose
 * observed split of invocations matches its weight.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  CreateAliasCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  ListAliasesCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import { AWS_CLI_MISSING, awsCli } from '../helpers/aws-cli.js';
import { rejectsWith } from '../helpers/errors.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { startKumo, type TestKumo } from '../helpers/server.js';
import { createTwoVersions, invokeTagged, qualifiedArn, taggedCode, type TaggedAnswer } from '../helpers/versions.js';

const ARN = qualifiedArn;

const k = useKumo({ stemCells: 0 });

/** Creates a function with versions 1 (code 'v1') and 2 (code 'v2'); $LATEST runs 'v2'. */
async function withTwoVersions(name: string): Promise<void> {
  await createTwoVersions(k.lambda, name, await taggedCode('v1'), await taggedCode('v2'));
}

function invoke(name: string, qualifier?: string): Promise<TaggedAnswer> {
  return invokeTagged(k.lambda, name, qualifier);
}

describe('alias lifecycle', () => {
  test('CreateAlias answers 201 with the AliasConfiguration; Get, Update, List and Delete follow it', async () => {
    await withTwoVersions('al-life');
    const created = await k.lambda.send(
      new CreateAliasCommand({ FunctionName: 'al-life', Name: 'prod', FunctionVersion: '1', Description: 'production' }),
    );
    assert.equal(created.$metadata.httpStatusCode, 201);
    assert.equal(created.AliasArn, ARN('al-life', 'prod'));
    assert.equal(created.Name, 'prod');
    assert.equal(created.FunctionVersion, '1');
    assert.equal(created.Description, 'production');
    assert.equal(created.RoutingConfig, undefined);
    assert.ok(created.RevisionId);
    const got = await k.lambda.send(new GetAliasCommand({ FunctionName: 'al-life', Name: 'prod' }));
    assert.equal(got.RevisionId, created.RevisionId);
    const updated = await k.lambda.send(
      new UpdateAliasCommand({ FunctionName: 'al-life', Name: 'prod', FunctionVersion: '2', RevisionId: created.RevisionId }),
    );
    assert.equal(updated.FunctionVersion, '2');
    assert.equal(updated.Description, 'production');
    assert.notEqual(updated.RevisionId, created.RevisionId);
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'al-life', Name: 'beta', FunctionVersion: '$LATEST' }));
    const listed = await k.lambda.send(new ListAliasesCommand({ FunctionName: 'al-life' }));
    assert.deepEqual(
      listed.Aliases?.map((a) => [a.Name, a.FunctionVersion]),
      [
        ['beta', '$LATEST'],
        ['prod', '2'],
      ],
    );
    const filtered = await k.lambda.send(new ListAliasesCommand({ FunctionName: 'al-life', FunctionVersion: '2' }));
    assert.deepEqual(
      filtered.Aliases?.map((a) => a.Name),
      ['prod'],
    );
    const page = await k.lambda.send(new ListAliasesCommand({ FunctionName: 'al-life', MaxItems: 1 }));
    assert.equal(page.Aliases?.length, 1);
    const rest = await k.lambda.send(new ListAliasesCommand({ FunctionName: 'al-life', Marker: page.NextMarker }));
    assert.deepEqual(
      rest.Aliases?.map((a) => a.Name),
      ['prod'],
    );
    await k.lambda.send(new DeleteAliasCommand({ FunctionName: 'al-life', Name: 'beta' }));
    await rejectsWith(
      k.lambda.send(new GetAliasCommand({ FunctionName: 'al-life', Name: 'beta' })),
      'ResourceNotFoundException',
      `Cannot find alias arn: ${ARN('al-life', 'beta')}`,
    );
  });

  test('an alias qualifier or alias ARN reads and invokes the version it points to', async () => {
    await withTwoVersions('al-use');
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'al-use', Name: 'live', FunctionVersion: '1' }));
    const config = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: ARN('al-use', 'live') }));
    assert.equal(config.Version, '1');
    assert.equal(config.FunctionArn, ARN('al-use', 'live'));
    const viaQualifier = await invoke('al-use', 'live');
    assert.deepEqual(viaQualifier, { version: '1', code: 'v1', greeting: null, arn: ARN('al-use', 'live') });
    const viaArn = await invoke(ARN('al-use', 'live'));
    assert.equal(viaArn.version, '1');
    await k.lambda.send(new UpdateAliasCommand({ FunctionName: 'al-use', Name: 'live', FunctionVersion: '2' }));
    assert.deepEqual(await invoke('al-use:live'), { version: '2', code: 'v2', greeting: null, arn: ARN('al-use', 'live') });
    await rejectsWith(
      k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'al-use', Qualifier: 'nope' })),
      'ResourceNotFoundException',
      `Cannot find alias arn: ${ARN('al-use', 'nope')}`,
    );
    await rejectsWith(
      k.lambda.send(new InvokeCommand({ FunctionName: 'al-use', Qualifier: 'nope' })),
      'ResourceNotFoundException',
      `Function not found: ${ARN('al-use', 'nope')}`,
    );
  });

  test('deleting the function deletes its aliases', async () => {
    await withTwoVersions('al-gone');
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'al-gone', Name: 'live', FunctionVersion: '1' }));
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'al-gone' }));
    await withTwoVersions('al-gone');
    const listed = await k.lambda.send(new ListAliasesCommand({ FunctionName: 'al-gone' }));
    assert.deepEqual(listed.Aliases, []);
  });
});

describe('alias cache', () => {
  test('an alias read racing UpdateAlias or DeleteAlias never leaves the old alias cached once the call has answered', async () => {
    await createTwoVersions(k.lambda, 'al-race', await taggedCode('v1'), await taggedCode('v2'));
    // The service's own objects, to interleave a read with the write at every point (HTTP cannot
    // place a request between the two awaits of a write).
    const { functions, aliases } = k.kumo;
    await aliases.create('al-race', 'live', { FunctionVersion: '1' });
    const microtasks = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await Promise.resolve();
    };
    for (let delay = 0; delay < 40; delay++) {
      const target = delay % 2 === 0 ? '2' : '1';
      functions.forgetAliases('al-race'); // so that the racing read goes to the store
      const update = aliases.update('al-race', 'live', { FunctionVersion: target });
      await microtasks(delay);
      await Promise.all([update, functions.alias('al-race', 'live')]);
      assert.equal((await functions.alias('al-race', 'live'))?.functionVersion, target, `UpdateAlias, a read ${delay} microtasks in`);
    }
    for (let delay = 0; delay < 20; delay++) {
      await aliases.create('al-race', `gone${delay}`, { FunctionVersion: '1' });
      functions.forgetAliases('al-race'); // so that the racing read goes to the store
      const deleted = aliases.delete('al-race', `gone${delay}`);
      await microtasks(delay);
      await Promise.all([deleted, functions.alias('al-race', `gone${delay}`)]);
      assert.equal(await functions.alias('al-race', `gone${delay}`), undefined, `DeleteAlias, a read ${delay} microtasks in`);
    }
  });
});

describe('alias errors', () => {
  test("Lambda's errors for misuse, each changing nothing", async () => {
    await withTwoVersions('al-err');
    const prod = await k.lambda.send(new CreateAliasCommand({ FunctionName: 'al-err', Name: 'prod', FunctionVersion: '1' }));
    await rejectsWith(
      k.lambda.send(new CreateAliasCommand({ FunctionName: 'al-err', Name: 'prod', FunctionVersion: '2' })),
      'ResourceConflictException',
      `Alias already exists: ${ARN('al-err', 'prod')}`,
    );
    await rejectsWith(
      k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'al-err', Qualifier: '1' })),
      'ResourceConflictException',
      'Unable to delete version because the following aliases reference it: [prod]',
    );
    await rejectsWith(
      k.lambda.send(new CreateAliasCommand({ FunctionName: 'al-err', Name: 'x', FunctionVersion: '7' })),
      'ResourceNotFoundException',
      `Function not found: ${ARN('al-err', '7')}`,
    );
    await rejectsWith(
      k.lambda.send(new CreateAliasCommand({ FunctionName: 'al-err', Name: '12', FunctionVersion: '1' })),
      'ValidationException',
    );
    const routingErrors: Array<[Record<string, number>, string, string | undefined]> = [
      [
        { '2': 1.5 },
        'ValidationException',
        "1 validation error detected: Value '{2=1.5}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]",
      ],
      [{ '2': -0.1 }, 'ValidationException', undefined],
      [{ '2': 0.2, '3': 0.2 }, 'InvalidParameterValueException', 'Number of items in AdditionalVersionWeights cannot be greater than 1'],
      [
        { '1': 0.5 },
        'InvalidParameterValueException',
        'Invalid function version 1. Function version 1 is already included in routing configuration.',
      ],
    ];
    for (const [weights, type, message] of routingErrors) {
      await rejectsWith(
        k.lambda.send(
          new UpdateAliasCommand({ FunctionName: 'al-err', Name: 'prod', RoutingConfig: { AdditionalVersionWeights: weights } }),
        ),
        type,
        message,
      );
    }
    await rejectsWith(
      k.lambda.send(
        new CreateAliasCommand({
          FunctionName: 'al-err',
          Name: 'latest',
          FunctionVersion: '$LATEST',
          RoutingConfig: { AdditionalVersionWeights: { '2': 0.5 } },
        }),
      ),
      'InvalidParameterValueException',
      '$LATEST is not supported for an alias pointing to more than 1 version',
    );
    await rejectsWith(
      k.lambda.send(new UpdateAliasCommand({ FunctionName: 'al-err', Name: 'prod', FunctionVersion: '2', RevisionId: 'stale' })),
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
    );
    const after = await k.lambda.send(new GetAliasCommand({ FunctionName: 'al-err', Name: 'prod' }));
    assert.equal(after.FunctionVersion, '1');
    assert.equal(after.RoutingConfig, undefined);
    assert.equal(after.RevisionId, prod.RevisionId);
    await rejectsWith(k.lambda.send(new GetAliasCommand({ FunctionName: 'al-err', Name: 'latest' })), 'ResourceNotFoundException');
  });

  test('a version an alias routes to by weight cannot be deleted either', async () => {
    await withTwoVersions('al-err2');
    await k.lambda.send(
      new CreateAliasCommand({
        FunctionName: 'al-err2',
        Name: 'canary',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { '2': 0.1 } },
      }),
    );
    await rejectsWith(
      k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'al-err2', Qualifier: '2' })),
      'ResourceConflictException',
      'Unable to delete version because the following aliases reference it: [canary]',
    );
  });
});

describe('weighted alias', () => {
  test('the split of 400 invocations lies within 4 binomial standard deviations of the weight', async () => {
    await withTwoVersions('al-weights');
    const weight = 0.3;
    const created = await k.lambda.send(
      new CreateAliasCommand({
        FunctionName: 'al-weights',
        Name: 'canary',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { '2': weight } },
      }),
    );
    assert.deepEqual(created.RoutingConfig, { AdditionalVersionWeights: { '2': weight } });
    const n = 400;
    let second = 0;
    for (let i = 0; i < n; i++) {
      const out = await invoke('al-weights', 'canary');
      // The version reported is the version that ran: its code says so too.
      assert.equal(out.code, `v${out.version}`);
      if (out.version === '2') second++;
    }
    // Each invocation goes to version 2 with probability `weight`, independently: the count is
    // Binomial(n, weight), mean n*weight = 120, standard deviation sqrt(n*weight*(1-weight)) ~ 9.2.
    // 4 sigma (~ +-37) fails a correct implementation about once in 16,000 runs.
    const sigma = Math.sqrt(n * weight * (1 - weight));
    assert.ok(Math.abs(second - n * weight) <= 4 * sigma, `version 2 ran ${second} of ${n} times; expected ${n * weight} +- ${4 * sigma}`);
  });
});

describe('after a restart', () => {
  test('versions, their numbering and aliases survive, and the alias still runs its version', async () => {
    const first = await startKumo({ stemCells: 0 });
    let second: TestKumo | undefined;
    try {
      await createNodeFunction(first.lambda, 'al-restart', await taggedCode('v1'), { Publish: true });
      await first.lambda.send(
        new UpdateFunctionCodeCommand({ FunctionName: 'al-restart', ZipFile: await taggedCode('v2'), Publish: true }),
      );
      await first.lambda.send(new DeleteFunctionCommand({ FunctionName: 'al-restart', Qualifier: '2' }));
      await first.lambda.send(new CreateAliasCommand({ FunctionName: 'al-restart', Name: 'live', FunctionVersion: '1' }));
      await first.close({ keepData: true });
      second = await startKumo({ stemCells: 0, dataDir: first.dataDir });
      const answer = await invokeTagged(second.lambda, 'al-restart', 'live');
      assert.equal(answer.version, '1');
      assert.equal(answer.code, 'v1');
      await second.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'al-restart', ZipFile: await taggedCode('v3') }));
      const next = await second.lambda.send(new PublishVersionCommand({ FunctionName: 'al-restart' }));
      assert.equal(next.Version, '3');
    } finally {
      await (second ?? first).close();
    }
  });
});

describe('aliases with the AWS CLI', { skip: AWS_CLI_MISSING }, () => {
  const cli = awsCli(k, 'lambda');

  test('create-alias, get-alias, update-alias --routing-config, list-aliases, invoke and delete-alias', async () => {
    await withTwoVersions('al-cli');
    const created = await cli('create-alias', '--function-name', 'al-cli', '--name', 'live', '--function-version', '1');
    assert.equal(created.code, 0, created.stderr);
    assert.equal((JSON.parse(created.stdout) as { AliasArn: string }).AliasArn, ARN('al-cli', 'live'));
    const got = await cli('get-alias', '--function-name', 'al-cli', '--name', 'live');
    assert.equal((JSON.parse(got.stdout) as { FunctionVersion: string }).FunctionVersion, '1');
    const updated = await cli(
      'update-alias',
      '--function-name',
      'al-cli',
      '--name',
      'live',
      '--routing-config',
      '{"AdditionalVersionWeights":{"2":0.25}}',
    );
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual((JSON.parse(updated.stdout) as { RoutingConfig: unknown }).RoutingConfig, { AdditionalVersionWeights: { '2': 0.25 } });
    const listed = await cli('list-aliases', '--function-name', 'al-cli');
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { Aliases: Array<{ Name: string }> }).Aliases.map((a) => a.Name),
      ['live'],
    );
    const out = path.join(os.tmpdir(), `al-cli-${process.pid}.json`);
    const invoked = await cli('invoke', '--function-name', 'al-cli', '--qualifier', 'live', out);
    assert.equal(invoked.code, 0, invoked.stderr);
    assert.match((JSON.parse(invoked.stdout) as { ExecutedVersion: string }).ExecutedVersion, /^[12]$/);
    const refused = await cli('delete-function', '--function-name', 'al-cli', '--qualifier', '1');
    assert.equal(refused.code, 254);
    assert.match(refused.stderr, /ResourceConflictException/);
    const bad = await cli(
      'update-alias',
      '--function-name',
      'al-cli',
      '--name',
      'live',
      '--routing-config',
      '{"AdditionalVersionWeights":{"2":2}}',
    );
    assert.equal(bad.code, 254);
    assert.match(bad.stderr, /ValidationException/);
    const deleted = await cli('delete-alias', '--function-name', 'al-cli', '--name', 'live');
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await cli('get-alias', '--function-name', 'al-cli', '--name', 'live');
    assert.equal(gone.code, 254);
    assert.match(gone.stderr, /ResourceNotFoundException/);
  });
});
