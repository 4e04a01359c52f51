/**
 * Lambda layers end to end, with the real AWS SDK v3: the layer operations and their errors, layer
 * version policies, `Layers` on functions (and Lambda's refusals), and what a function sees: its
 * layers merged at /opt in order, found by Node.js (NODE_PATH), Python (sys.path) and a custom
 * runtime (/opt/bootstrap), also when its environment grew from a stem cell, and nothing of
 * another function's layers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AddLayerVersionPermissionCommand,
  DeleteLayerVersionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetLayerVersionByArnCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  InvokeCommand,
  ListFunctionsCommand,
  ListLayersCommand,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  RemoveLayerVersionPermissionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  type CreateFunctionCommandInput,
  type PublishLayerVersionCommandInput,
} from '@aws-sdk/client-lambda';
import { zipEntries, type ZipEntrySpec } from '../../src/code/index.js';
import { AWS_CLI_MISSING, awsCli, createNodeFunctionArgs, type CliResult } from '../helpers/aws-cli.js';
import { rejectsWith } from '../helpers/errors.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { repoPath, startKumo, type TestKumo } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const REGION_ACCOUNT = 'us-east-1:000000000000';

const k = useKumo();

async function publish(name: string, files: ZipEntrySpec[], extra: Partial<PublishLayerVersionCommandInput> = {}) {
  return k.lambda.send(new PublishLayerVersionCommand({ LayerName: name, Content: { ZipFile: await zipEntries(files) }, ...extra }));
}

async function createFunction(name: string, files: ZipEntrySpec[], input: Partial<CreateFunctionCommandInput>) {
  return createNodeFunction(k.lambda, name, await zipEntries(files), input);
}

async function invoke(name: string, payload: unknown = {}, qualifier?: string): Promise<unknown> {
  const out = await k.lambda.send(
    new InvokeCommand({ FunctionName: name, Qualifier: qualifier, Payload: Buffer.from(JSON.stringify(payload)) }),
  );
  const body = Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8');
  assert.equal(out.FunctionError, undefined, body);
  return JSON.parse(body) as unknown;
}

const sandboxed = (): boolean => k.kumo.isolationKind === 'bubblewrap';

/**
 * Waits until `n` stem cells are ready (2 per class in use), so that the next cold start grows from
 * one: a cold start does not wait for a stem cell that has not been launched yet.
 */
async function stemCellsReady(n: number): Promise<void> {
  if (sandboxed()) await eventually(() => k.kumo.engineStats().readyStemCells >= n, `${n} stem cells to be ready`);
}

/** A Node.js module at the place Lambda's NODE_PATH looks in a layer. */
function nodeModule(pkg: string, source: string): ZipEntrySpec {
  return { name: `nodejs/node_modules/${pkg}/index.js`, content: source };
}

/** A handler that reports what the function sees: a module from its layers, and /opt. */
const NODE_REPORT: ZipEntrySpec = {
  name: 'index.js',
  content: `
const fs = require('node:fs');
exports.handler = async (event) => {
  const out = {
    fromStem: fs.readFileSync('/proc/self/environ', 'latin1').split('\\0').includes('KUMO_STEM=1'),
    nodePath: process.env.NODE_PATH,
  };
  try { out.which = require('which-layer'); } catch (err) { out.which = 'missing: ' + err.code; }
  try { out.opt = fs.readdirSync('/opt').sort(); } catch (err) { out.opt = 'unreadable: ' + err.code; }
  if (event.write) {
    try { fs.writeFileSync('/opt/mine.txt', 'x'); out.wrote = true; } catch (err) { out.wrote = err.code; }
  }
  return out;
};
`,
};

interface NodeReport {
  fromStem: boolean;
  nodePath: string;
  which: string;
  opt: string[] | string;
  wrote?: boolean | string;
}

describe('layer operations', () => {
  test('PublishLayerVersion answers Lambda’s LayerVersion document and its Content.Location downloads the zip', async () => {
    const zip = await zipEntries([{ name: 'python/shape.py', content: 'X = 1\n' }]);
    const out = await k.lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'shape',
        Description: 'the shape layer',
        Content: { ZipFile: zip },
        CompatibleRuntimes: ['python3.12', 'python3.11'],
        CompatibleArchitectures: ['x86_64'],
        LicenseInfo: 'MIT',
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.equal(out.LayerArn, `arn:aws:lambda:${REGION_ACCOUNT}:layer:shape`);
    assert.equal(out.LayerVersionArn, `arn:aws:lambda:${REGION_ACCOUNT}:layer:shape:1`);
    assert.equal(out.Version, 1);
    assert.equal(out.Description, 'the shape layer');
    assert.match(out.CreatedDate ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    assert.deepEqual(out.CompatibleRuntimes, ['python3.12', 'python3.11']);
    assert.deepEqual(out.CompatibleArchitectures, ['x86_64']);
    assert.equal(out.LicenseInfo, 'MIT');
    assert.equal(out.Content?.CodeSha256, crypto.createHash('sha256').update(zip).digest('base64'));
    assert.equal(out.Content?.CodeSize, zip.length);
    const download = await fetch(out.Content?.Location ?? '');
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), zip);

    const got = await k.lambda.send(new GetLayerVersionCommand({ LayerName: 'shape', VersionNumber: 1 }));
    assert.equal(got.LayerVersionArn, out.LayerVersionArn);
    assert.deepEqual(got.CompatibleRuntimes, out.CompatibleRuntimes);
    assert.equal(got.Content?.CodeSha256, out.Content?.CodeSha256);
    const byArn = await k.lambda.send(new GetLayerVersionByArnCommand({ Arn: out.LayerVersionArn }));
    assert.equal(byArn.Version, 1);
    assert.equal(byArn.LayerArn, out.LayerArn);
    // The layer's ARN works as its name.
    const viaArn = await k.lambda.send(new GetLayerVersionCommand({ LayerName: out.LayerArn, VersionNumber: 1 }));
    assert.equal(viaArn.LayerVersionArn, out.LayerVersionArn);
  });

  test('version numbers start at 1 and are never reused; DeleteLayerVersion is idempotent', async () => {
    const files = [{ name: 'data/v.txt', content: 'v' }];
    assert.equal((await publish('counter', files)).Version, 1);
    assert.equal((await publish('counter', files)).Version, 2);
    const deleted = await k.lambda.send(new DeleteLayerVersionCommand({ LayerName: 'counter', VersionNumber: 2 }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    await k.lambda.send(new DeleteLayerVersionCommand({ LayerName: 'counter', VersionNumber: 2 }));
    await k.lambda.send(new DeleteLayerVersionCommand({ LayerName: 'never-published', VersionNumber: 1 }));
    assert.equal((await publish('counter', files)).Version, 3);
    await rejectsWith(
      k.lambda.send(new GetLayerVersionCommand({ LayerName: 'counter', VersionNumber: 2 })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
    await rejectsWith(
      k.lambda.send(new GetLayerVersionCommand({ LayerName: 'counter', VersionNumber: 0 })),
      'InvalidParameterValueException',
      'Layer Version Cannot be less than 1',
    );
    await rejectsWith(
      k.lambda.send(new GetLayerVersionByArnCommand({ Arn: `arn:aws:lambda:${REGION_ACCOUNT}:layer:counter` })),
      'ValidationException',
      /at 'arn' failed to satisfy constraint/,
    );
    const versions = await k.lambda.send(new ListLayerVersionsCommand({ LayerName: 'counter' }));
    assert.deepEqual(
      versions.LayerVersions?.map((v) => v.Version),
      [3, 1],
    );
  });

  test('ListLayers and ListLayerVersions filter by runtime and architecture and page with Marker/MaxItems', async () => {
    const files = [{ name: 'data/f.txt', content: 'f' }];
    await publish('filter-a', files, { CompatibleRuntimes: ['nodejs20.x'], CompatibleArchitectures: ['arm64'] });
    await publish('filter-a', files, { CompatibleRuntimes: ['python3.12'], CompatibleArchitectures: ['x86_64'] });
    await publish('filter-b', files, { CompatibleRuntimes: ['nodejs20.x'], CompatibleArchitectures: ['x86_64', 'arm64'] });

    const node = await k.lambda.send(new ListLayersCommand({ CompatibleRuntime: 'nodejs20.x' }));
    const byName = new Map(node.Layers?.map((l) => [l.LayerName, l]));
    assert.deepEqual(
      [...byName.keys()].filter((n) => n?.startsWith('filter-')),
      ['filter-a', 'filter-b'],
    );
    // The newest version that matches, not the newest version.
    assert.equal(byName.get('filter-a')?.LatestMatchingVersion?.Version, 1);
    assert.equal(byName.get('filter-a')?.LayerArn, `arn:aws:lambda:${REGION_ACCOUNT}:layer:filter-a`);
    assert.equal(byName.get('filter-a')?.LatestMatchingVersion?.LayerVersionArn, `arn:aws:lambda:${REGION_ACCOUNT}:layer:filter-a:1`);
    const x86 = await k.lambda.send(new ListLayersCommand({ CompatibleArchitecture: 'x86_64' }));
    assert.equal(x86.Layers?.find((l) => l.LayerName === 'filter-a')?.LatestMatchingVersion?.Version, 2);
    const both = await k.lambda.send(new ListLayersCommand({ CompatibleRuntime: 'python3.12', CompatibleArchitecture: 'arm64' }));
    assert.equal(
      both.Layers?.some((l) => l.LayerName?.startsWith('filter-')),
      false,
    );

    const names: string[] = [];
    let marker: string | undefined;
    do {
      const page = await k.lambda.send(new ListLayersCommand({ MaxItems: 1, Marker: marker }));
      assert.ok((page.Layers?.length ?? 0) <= 1);
      names.push(...(page.Layers ?? []).map((l) => l.LayerName ?? ''));
      marker = page.NextMarker;
    } while (marker);
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes('filter-a') && names.includes('filter-b'));

    const armVersions = await k.lambda.send(new ListLayerVersionsCommand({ LayerName: 'filter-a', CompatibleArchitecture: 'arm64' }));
    assert.deepEqual(
      armVersions.LayerVersions?.map((v) => v.Version),
      [1],
    );
    const first = await k.lambda.send(new ListLayerVersionsCommand({ LayerName: 'filter-a', MaxItems: 1 }));
    assert.deepEqual(
      first.LayerVersions?.map((v) => v.Version),
      [2],
    );
    assert.equal(first.LayerVersions?.[0]?.Description, '');
    const second = await k.lambda.send(new ListLayerVersionsCommand({ LayerName: 'filter-a', MaxItems: 1, Marker: first.NextMarker }));
    assert.deepEqual(
      second.LayerVersions?.map((v) => v.Version),
      [1],
    );
    assert.equal(second.NextMarker, undefined);
    await rejectsWith(
      k.lambda.send(new ListLayersCommand({ CompatibleRuntime: 'cobol85' as never })),
      'ValidationException',
      /at 'compatibleRuntime' failed to satisfy constraint: Member must satisfy enum value set/,
    );
    await rejectsWith(
      publish('bad-arch', files, { CompatibleArchitectures: ['sparc' as never] }),
      'ValidationException',
      /at 'compatibleArchitectures' failed to satisfy constraint/,
    );
  });

  test('PublishLayerVersion refuses S3 content, an unsafe zip and a layer over 250 MB unzipped, and stores nothing', async () => {
    await rejectsWith(
      k.lambda.send(new PublishLayerVersionCommand({ LayerName: 'from-s3', Content: { S3Bucket: 'b', S3Key: 'k.zip' } })),
      'InvalidParameterValueException',
      /S3Bucket\/S3Key/,
    );
    const { craftZip } = await import('../helpers/zip.js');
    await rejectsWith(
      k.lambda.send(
        new PublishLayerVersionCommand({ LayerName: 'escape', Content: { ZipFile: craftZip([{ name: '../../etc/evil', data: 'x' }]) } }),
      ),
      'InvalidParameterValueException',
      /escapes the function's root directory/,
    );
    const huge = await zipEntries([{ name: 'big.bin', content: Buffer.alloc(262_144_001) }]);
    await rejectsWith(
      k.lambda.send(new PublishLayerVersionCommand({ LayerName: 'huge', Content: { ZipFile: huge } })),
      'InvalidParameterValueException',
      'Unzipped size must be smaller than 262144000 bytes',
    );
    const listed = await k.lambda.send(new ListLayersCommand({}));
    assert.equal(
      listed.Layers?.some((l) => ['from-s3', 'escape', 'huge'].includes(l.LayerName ?? '')),
      false,
    );
  });
});

describe('layer version policies', () => {
  const arn = `arn:aws:lambda:${REGION_ACCOUNT}:layer:shared:1`;

  before(async () => {
    await publish('shared', [{ name: 'data/s.txt', content: 's' }]);
  });

  test('AddLayerVersionPermission, GetLayerVersionPolicy and RemoveLayerVersionPermission keep Lambda’s documents and RevisionId', async () => {
    await rejectsWith(
      k.lambda.send(new GetLayerVersionPolicyCommand({ LayerName: 'shared', VersionNumber: 1 })),
      'ResourceNotFoundException',
      'No policy is associated with the given resource.',
    );
    const one = await k.lambda.send(
      new AddLayerVersionPermissionCommand({
        LayerName: 'shared',
        VersionNumber: 1,
        StatementId: 'xaccount',
        Action: 'lambda:GetLayerVersion',
        Principal: '210987654321',
      }),
    );
    assert.equal(one.$metadata.httpStatusCode, 201);
    assert.deepEqual(JSON.parse(one.Statement ?? ''), {
      Sid: 'xaccount',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::210987654321:root' },
      Action: 'lambda:GetLayerVersion',
      Resource: arn,
    });
    assert.match(one.RevisionId ?? '', /^[0-9a-f-]{36}$/);
    const two = await k.lambda.send(
      new AddLayerVersionPermissionCommand({
        LayerName: 'shared',
        VersionNumber: 1,
        StatementId: 'org',
        Action: 'lambda:GetLayerVersion',
        Principal: '*',
        OrganizationId: 'o-abcdefghij',
        RevisionId: one.RevisionId,
      }),
    );
    assert.notEqual(two.RevisionId, one.RevisionId);
    const policy = await k.lambda.send(new GetLayerVersionPolicyCommand({ LayerName: 'shared', VersionNumber: 1 }));
    assert.equal(policy.RevisionId, two.RevisionId);
    assert.deepEqual(JSON.parse(policy.Policy ?? ''), {
      Version: '2012-10-17',
      Id: 'default',
      Statement: [
        JSON.parse(one.Statement ?? ''),
        {
          Sid: 'org',
          Effect: 'Allow',
          Principal: '*',
          Action: 'lambda:GetLayerVersion',
          Resource: arn,
          Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } },
        },
      ],
    });

    await rejectsWith(
      k.lambda.send(
        new AddLayerVersionPermissionCommand({
          LayerName: 'shared',
          VersionNumber: 1,
          StatementId: 'late',
          Action: 'lambda:GetLayerVersion',
          Principal: '*',
          RevisionId: one.RevisionId,
        }),
      ),
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id',
    );
    await rejectsWith(
      k.lambda.send(
        new AddLayerVersionPermissionCommand({
          LayerName: 'shared',
          VersionNumber: 1,
          StatementId: 'xaccount',
          Action: 'lambda:GetLayerVersion',
          Principal: '*',
        }),
      ),
      'ResourceConflictException',
      'The statement id (xaccount) provided already exists. Please provide a new statement id, or remove the existing statement.',
    );

    await k.lambda.send(new RemoveLayerVersionPermissionCommand({ LayerName: 'shared', VersionNumber: 1, StatementId: 'xaccount' }));
    const after = await k.lambda.send(new GetLayerVersionPolicyCommand({ LayerName: 'shared', VersionNumber: 1 }));
    assert.deepEqual(
      (JSON.parse(after.Policy ?? '') as { Statement: Array<{ Sid: string }> }).Statement.map((s) => s.Sid),
      ['org'],
    );
    await rejectsWith(
      k.lambda.send(new RemoveLayerVersionPermissionCommand({ LayerName: 'shared', VersionNumber: 1, StatementId: 'xaccount' })),
      'ResourceNotFoundException',
      'Statement xaccount is not found in resource policy.',
    );
    await rejectsWith(
      k.lambda.send(
        new RemoveLayerVersionPermissionCommand({ LayerName: 'shared', VersionNumber: 1, StatementId: 'org', RevisionId: two.RevisionId }),
      ),
      'PreconditionFailedException',
    );
  });

  test('a bad permission statement is refused with the model’s ValidationException and changes nothing', async () => {
    const base = { LayerName: 'shared', VersionNumber: 1, StatementId: 'bad', Action: 'lambda:GetLayerVersion', Principal: '*' };
    await rejectsWith(
      k.lambda.send(new AddLayerVersionPermissionCommand({ ...base, Action: 'lambda:InvokeFunction' })),
      'ValidationException',
      "1 validation error detected: Value 'lambda:InvokeFunction' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion",
    );
    await rejectsWith(
      k.lambda.send(new AddLayerVersionPermissionCommand({ ...base, Principal: 's3.amazonaws.com' })),
      'ValidationException',
      /at 'principal' failed to satisfy constraint/,
    );
    await rejectsWith(
      k.lambda.send(new AddLayerVersionPermissionCommand({ ...base, StatementId: 'has space' })),
      'ValidationException',
      /at 'statementId' failed to satisfy constraint/,
    );
    await rejectsWith(
      k.lambda.send(new AddLayerVersionPermissionCommand({ ...base, VersionNumber: 9 })),
      'ResourceNotFoundException',
      `Layer version ${arn.slice(0, -2)}:9 does not exist.`,
    );
    const policy = await k.lambda.send(new GetLayerVersionPolicyCommand({ LayerName: 'shared', VersionNumber: 1 }));
    assert.equal(policy.Policy?.includes('"bad"'), false);
  });
});

describe('functions with layers', () => {
  let layerA: string;
  let layerB: string;

  before(async () => {
    layerA = (await publish('which-a', [nodeModule('which-layer', "module.exports = 'A';"), { name: 'data/a.txt', content: 'a' }]))
      .LayerVersionArn as string;
    layerB = (await publish('which-b', [nodeModule('which-layer', "module.exports = 'B';")])).LayerVersionArn as string;
  });

  test('Layers appear as [{Arn, CodeSize}] in every read, and a published version keeps the layers it was published with', async () => {
    const created = await createFunction('fn-layers', [NODE_REPORT], { Layers: [layerA] });
    const codeSizeA = (await k.lambda.send(new GetLayerVersionByArnCommand({ Arn: layerA }))).Content?.CodeSize;
    assert.deepEqual(created.Layers, [{ Arn: layerA, CodeSize: codeSizeA }]);
    const fn = await k.lambda.send(new GetFunctionCommand({ FunctionName: 'fn-layers' }));
    assert.deepEqual(fn.Configuration?.Layers, created.Layers);
    const listed = await k.lambda.send(new ListFunctionsCommand({}));
    assert.deepEqual(listed.Functions?.find((f) => f.FunctionName === 'fn-layers')?.Layers, created.Layers);
    const v1 = await k.lambda.send(new PublishVersionCommand({ FunctionName: 'fn-layers' }));
    assert.deepEqual(v1.Layers, created.Layers);
    assert.equal(((await invoke('fn-layers')) as NodeReport).which, 'A');

    const updated = await k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'fn-layers', Layers: [layerB] }));
    assert.deepEqual(
      updated.Layers?.map((l) => l.Arn),
      [layerB],
    );
    assert.equal(((await invoke('fn-layers')) as NodeReport).which, 'B');
    const version = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-layers', Qualifier: '1' }));
    assert.deepEqual(version.Layers, created.Layers);
    assert.equal(((await invoke('fn-layers', {}, '1')) as NodeReport).which, 'A');

    const cleared = await k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'fn-layers', Layers: [] }));
    assert.equal(cleared.Layers, undefined);
    assert.equal(((await invoke('fn-layers')) as NodeReport).which, 'missing: MODULE_NOT_FOUND');
  });

  test('later layers override earlier ones at the same path', async () => {
    await createFunction('fn-order-ab', [NODE_REPORT], { Layers: [layerA, layerB] });
    await createFunction('fn-order-ba', [NODE_REPORT], { Layers: [layerB, layerA] });
    const ab = (await invoke('fn-order-ab')) as NodeReport;
    const ba = (await invoke('fn-order-ba')) as NodeReport;
    assert.equal(ab.which, 'B');
    assert.equal(ba.which, 'A');
    if (sandboxed()) {
      assert.deepEqual(ab.opt, ['data', 'nodejs']);
      assert.match(ab.nodePath, /^\/opt\/nodejs\/node20\/node_modules:\/opt\/nodejs\/node_modules:/);
    }
  });

  test('Lambda’s refusals: a sixth layer, an unknown layer version, the same layer twice, code and layers over 250 MB', async () => {
    const files = [NODE_REPORT];
    const six = Array.from({ length: 6 }, (_, i) => `arn:aws:lambda:${REGION_ACCOUNT}:layer:l${i}:1`);
    await rejectsWith(
      createFunction('fn-six', files, { Layers: six }),
      'InvalidParameterValueException',
      'Cannot reference more than 5 layers.',
    );
    const unknown = `arn:aws:lambda:${REGION_ACCOUNT}:layer:nope:1`;
    await rejectsWith(
      createFunction('fn-unknown', files, { Layers: [unknown] }),
      'InvalidParameterValueException',
      `Layer version ${unknown} does not exist.`,
    );
    await rejectsWith(
      createFunction('fn-twice', files, { Layers: [layerA, layerA] }),
      'InvalidParameterValueException',
      `Two different versions of the same layer are not allowed to be referenced in the same function. ${layerA} and ${layerA} are versions of the same layer.`,
    );
    await rejectsWith(
      createFunction('fn-bad-arn', files, { Layers: ['which-a'] }),
      'ValidationException',
      /at 'layers' failed to satisfy constraint/,
    );

    // Each layer is under the limit; together with the code they are over it.
    const big = Buffer.alloc(140_000_000);
    const bigA = (await publish('big-a', [{ name: 'a.bin', content: big }])).LayerVersionArn as string;
    const bigB = (await publish('big-b', [{ name: 'b.bin', content: big }])).LayerVersionArn as string;
    const code = Buffer.byteLength(NODE_REPORT.content);
    await rejectsWith(
      createFunction('fn-too-big', files, { Layers: [bigA, bigB] }),
      'InvalidParameterValueException',
      `Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is ${280_000_000 + code} bytes.`,
    );
    await createFunction('fn-big-once', files, { Layers: [bigA] });
    await rejectsWith(
      k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'fn-big-once', Layers: [bigA, bigB] })),
      'InvalidParameterValueException',
      /^Function code combined with layers exceeds the maximum allowed size of 262144000 bytes/,
    );
    await rejectsWith(
      k.lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: 'fn-big-once',
          ZipFile: await zipEntries([NODE_REPORT, { name: 'c.bin', content: Buffer.alloc(130_000_000) }]),
        }),
      ),
      'InvalidParameterValueException',
      `Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. The actual size is ${270_000_000 + code} bytes.`,
    );
    for (const name of ['fn-six', 'fn-unknown', 'fn-twice', 'fn-bad-arn', 'fn-too-big']) {
      await rejectsWith(k.lambda.send(new GetFunctionCommand({ FunctionName: name })), 'ResourceNotFoundException');
    }
    const kept = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-big-once' }));
    assert.deepEqual(
      kept.Layers?.map((l) => l.Arn),
      [bigA],
    );
  });

  test('deleting a layer version a function uses leaves the function working, also in a new environment', async () => {
    const lib = (await publish('doomed', [nodeModule('which-layer', "module.exports = 'doomed';")])).LayerVersionArn as string;
    await createFunction('fn-doomed', [NODE_REPORT], { Layers: [lib] });
    assert.equal(((await invoke('fn-doomed')) as NodeReport).which, 'doomed');
    await k.lambda.send(new DeleteLayerVersionCommand({ LayerName: 'doomed', VersionNumber: 1 }));
    // A configuration change retires the warm environment: the next invoke starts a new one.
    await k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'fn-doomed', Description: 'after the delete' }));
    assert.equal(((await invoke('fn-doomed')) as NodeReport).which, 'doomed');
    const fn = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'fn-doomed' }));
    assert.deepEqual(
      fn.Layers?.map((l) => l.Arn),
      [lib],
    );
  });

  test('a Node.js function imports a library that lives only in a layer, from a stem cell, and /opt is read-only', async () => {
    const lib = (await publish('node-lib', [nodeModule('which-layer', "module.exports = 'node-lib';")])).LayerVersionArn as string;
    await createFunction('fn-node-stem', [NODE_REPORT], { Layers: [lib] });
    await stemCellsReady(2);
    const report = (await invoke('fn-node-stem', { write: true })) as NodeReport;
    assert.equal(report.which, 'node-lib');
    if (sandboxed()) {
      assert.equal(report.fromStem, true, 'the environment grew from a stem cell');
      assert.deepEqual(report.opt, ['nodejs']);
      assert.equal(report.wrote, 'EROFS');
    }
  });

  test('a function without layers sees an empty /opt, and none of another function’s layers', async () => {
    await createFunction('fn-no-layers', [NODE_REPORT], {});
    await stemCellsReady(2);
    const report = (await invoke('fn-no-layers', { write: true })) as NodeReport;
    assert.equal(report.which, 'missing: MODULE_NOT_FOUND');
    if (sandboxed()) {
      assert.equal(report.fromStem, true);
      assert.deepEqual(report.opt, []);
      assert.equal(report.wrote, 'EROFS');
    }
  });

  test('a Python function imports modules that live only in a layer (/opt/python and its site-packages)', async () => {
    const lib = (
      await publish('py-lib', [
        { name: 'python/layermod.py', content: "WHERE = 'python'\n" },
        // Every version's site-packages: the host's Python decides which one applies.
        ...['3.11', '3.12', '3.13'].map((v) => ({
          name: `python/lib/python${v}/site-packages/sitemod.py`,
          content: `WHERE = 'site-packages ${v}'\n`,
        })),
      ])
    ).LayerVersionArn as string;
    const handler = `
import os, sys, layermod, sitemod

def handler(event, context):
    with open('/proc/self/environ', 'rb') as f:
        from_stem = b'KUMO_STEM=1' in f.read().split(b'\\0')
    return {'layermod': layermod.WHERE, 'sitemod': sitemod.WHERE, 'version': '%d.%d' % sys.version_info[:2],
            'fromStem': from_stem, 'optVariable': os.environ.get('KUMO_OPT_DIR'), 'opt': sorted(os.listdir('/opt'))}
`;
    await createFunction('fn-python', [{ name: 'app.py', content: handler }], {
      Runtime: 'python3.12',
      Handler: 'app.handler',
      Layers: [lib],
    });
    await stemCellsReady(4); // both classes in use: Node.js 128 MB and Python
    const out = (await invoke('fn-python')) as Record<string, unknown>;
    assert.equal(out.layermod, 'python');
    assert.equal(out.sitemod, `site-packages ${String(out.version)}`);
    assert.equal(out.optVariable, null);
    if (sandboxed()) {
      assert.equal(out.fromStem, true);
      assert.deepEqual(out.opt, ['python']);
    }
  });

  test('a custom runtime whose bootstrap comes from a layer', async () => {
    const bootstrap = `#!/bin/sh
set -euo pipefail
source $LAMBDA_TASK_ROOT/"$(echo $_HANDLER | cut -d. -f1).sh"
while true
do
  HEADERS="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")
  curl -sS "http://\${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "$RESPONSE" > /dev/null
done
`;
    const runtime = (await publish('bash-runtime', [{ name: 'bootstrap', content: bootstrap, mode: 0o755 }])).LayerVersionArn as string;
    const fn = 'function handler () {\n  echo "{\\"bootstrap\\":\\"$0\\",\\"event\\":$1}"\n}\n';
    await createFunction('fn-custom', [{ name: 'function.sh', content: fn }], {
      Runtime: 'provided.al2023',
      Handler: 'function.handler',
      Layers: [runtime],
    });
    const out = (await invoke('fn-custom', { hello: 'layer' })) as { bootstrap: string; event: unknown };
    assert.deepEqual(out.event, { hello: 'layer' });
    if (sandboxed()) assert.equal(out.bootstrap, '/opt/bootstrap');
  });
});

describe('the AWS CLI', { skip: AWS_CLI_MISSING }, () => {
  let dir: string;
  const aws = awsCli(k, 'lambda');
  const ok = aws.json;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-layers-cli-'));
    fs.writeFileSync(path.join(dir, 'layer.zip'), await zipEntries([nodeModule('which-layer', "module.exports = 'cli';")]));
    fs.writeFileSync(path.join(dir, 'fn.zip'), await zipEntries([NODE_REPORT]));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('publish-layer-version --zip-file, get/list/delete, layer permissions and create-function --layers', async () => {
    const published = await ok(
      'publish-layer-version',
      '--layer-name',
      'cli-layer',
      '--description',
      'from the CLI',
      '--zip-file',
      `fileb://${path.join(dir, 'layer.zip')}`,
      '--compatible-runtimes',
      'nodejs20.x',
      'nodejs22.x',
      '--compatible-architectures',
      'x86_64',
      '--license-info',
      'MIT',
    );
    const arn = `arn:aws:lambda:${REGION_ACCOUNT}:layer:cli-layer:1`;
    assert.equal(published.LayerVersionArn, arn);
    assert.equal(published.Version, 1);
    assert.deepEqual(published.CompatibleRuntimes, ['nodejs20.x', 'nodejs22.x']);
    assert.equal((await ok('get-layer-version', '--layer-name', 'cli-layer', '--version-number', '1')).Description, 'from the CLI');
    assert.equal((await ok('get-layer-version-by-arn', '--arn', arn)).LicenseInfo, 'MIT');
    const layers = (await ok('list-layers', '--compatible-runtime', 'nodejs22.x')).Layers as Array<{ LayerName: string }>;
    assert.ok(layers.some((l) => l.LayerName === 'cli-layer'));
    const versions = (await ok('list-layer-versions', '--layer-name', 'cli-layer')).LayerVersions as Array<{ LayerVersionArn: string }>;
    assert.deepEqual(
      versions.map((v) => v.LayerVersionArn),
      [arn],
    );

    const added = await ok(
      'add-layer-version-permission',
      '--layer-name',
      'cli-layer',
      '--version-number',
      '1',
      '--statement-id',
      'everyone',
      '--action',
      'lambda:GetLayerVersion',
      '--principal',
      '*',
    );
    const policy = await ok('get-layer-version-policy', '--layer-name', 'cli-layer', '--version-number', '1');
    assert.equal(policy.RevisionId, added.RevisionId);
    assert.deepEqual((JSON.parse(policy.Policy as string) as { Statement: unknown[] }).Statement, [JSON.parse(added.Statement as string)]);
    const stale = await aws(
      'add-layer-version-permission',
      '--layer-name',
      'cli-layer',
      '--version-number',
      '1',
      '--statement-id',
      'again',
      '--action',
      'lambda:GetLayerVersion',
      '--principal',
      '*',
      '--revision-id',
      'not-the-revision',
    );
    assert.equal(stale.code, 254);
    assert.match(stale.stderr, /PreconditionFailedException/);
    await ok('remove-layer-version-permission', '--layer-name', 'cli-layer', '--version-number', '1', '--statement-id', 'everyone');

    const fn = await ok(...createNodeFunctionArgs('cli-with-layer', path.join(dir, 'fn.zip')), '--layers', arn);
    assert.deepEqual(
      (fn.Layers as Array<{ Arn: string }>).map((l) => l.Arn),
      [arn],
    );
    assert.equal(((await invoke('cli-with-layer')) as NodeReport).which, 'cli');
    const six = await aws(
      'update-function-configuration',
      '--function-name',
      'cli-with-layer',
      '--layers',
      ...Array.from({ length: 6 }, () => arn),
    );
    assert.equal(six.code, 254);
    assert.match(six.stderr, /InvalidParameterValueException.*Cannot reference more than 5 layers\./);

    await ok('delete-layer-version', '--layer-name', 'cli-layer', '--version-number', '1');
    await ok('delete-layer-version', '--layer-name', 'cli-layer', '--version-number', '1');
    const gone = await aws('get-layer-version', '--layer-name', 'cli-layer', '--version-number', '1');
    assert.equal(gone.code, 254);
    assert.match(gone.stderr, /ResourceNotFoundException/);
  });
});

describe('kumo deploy --layer', () => {
  test('creates a function with its layers in order, and replaces them on update', async () => {
    const first = (await publish('deploy-a', [nodeModule('which-layer', "module.exports = 'deploy-a';")])).LayerVersionArn as string;
    const second = (await publish('deploy-b', [nodeModule('which-layer', "module.exports = 'deploy-b';")])).LayerVersionArn as string;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-layers-deploy-'));
    try {
      fs.writeFileSync(path.join(dir, NODE_REPORT.name), NODE_REPORT.content);
      const kumo = (...args: string[]): Promise<CliResult> =>
        new Promise((resolve) => {
          execFile(process.execPath, [repoPath('bin', 'kumo.js'), '--endpoint', k.url, ...args], (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
          );
        });
      const base = ['deploy', dir, '--name', 'deployed-with-layers'];
      const created = await kumo(...base, '--runtime', 'nodejs20.x', '--handler', 'index.handler', '--layer', second, '--layer', first);
      assert.equal(created.code, 0, created.stderr);
      const fn = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'deployed-with-layers' }));
      assert.deepEqual(
        fn.Layers?.map((l) => l.Arn),
        [second, first],
      );
      assert.equal(((await invoke('deployed-with-layers')) as NodeReport).which, 'deploy-a');
      const updated = await kumo(...base, '--layer', second);
      assert.equal(updated.code, 0, updated.stderr);
      assert.equal(((await invoke('deployed-with-layers')) as NodeReport).which, 'deploy-b');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('after a restart', () => {
  test('layers, their policies and the functions that use them are all still there', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-layers-restart-'));
    let first: TestKumo | undefined = await startKumo({ dataDir });
    let second: TestKumo | undefined;
    try {
      const zip = await zipEntries([nodeModule('which-layer', "module.exports = 'kept';")]);
      const layer = await first.lambda.send(new PublishLayerVersionCommand({ LayerName: 'kept', Content: { ZipFile: zip } }));
      await first.lambda.send(
        new AddLayerVersionPermissionCommand({
          LayerName: 'kept',
          VersionNumber: 1,
          StatementId: 'all',
          Action: 'lambda:GetLayerVersion',
          Principal: '*',
        }),
      );
      await createNodeFunction(first.lambda, 'kept-fn', await zipEntries([NODE_REPORT]), { Layers: [layer.LayerVersionArn as string] });
      await first.close({ keepData: true });
      first = undefined;

      second = await startKumo({ dataDir });
      const again = await second.lambda.send(new GetLayerVersionCommand({ LayerName: 'kept', VersionNumber: 1 }));
      assert.equal(again.Content?.CodeSha256, layer.Content?.CodeSha256);
      const policy = await second.lambda.send(new GetLayerVersionPolicyCommand({ LayerName: 'kept', VersionNumber: 1 }));
      assert.match(policy.Policy ?? '', /"Sid":"all"/);
      assert.equal((await second.lambda.send(new PublishLayerVersionCommand({ LayerName: 'kept', Content: { ZipFile: zip } }))).Version, 2);
      const out = await second.lambda.send(new InvokeCommand({ FunctionName: 'kept-fn', Payload: Buffer.from('{}') }));
      assert.equal((JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8')) as NodeReport).which, 'kept');
    } finally {
      await first?.close();
      await second?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
