/**
 * Secrets at rest against a real Kumo: environment variables are sealed (AES-256-GCM) in kumo.db with
 * a key Kumo keeps in its data directory; the raw database and WAL bytes never hold a value; rows
 * from before encryption still read and are sealed at start; KMSKeyArn is kept and returned, with
 * the SDK and the AWS CLI. Signing profiles' private keys are sealed the same way.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { signedPayload, type SignatureDocument } from '../../src/signing/index.js';
import { AWS_CLI_MISSING, awsCli } from '../helpers/aws-cli.js';
import { rejectsWith } from '../helpers/errors.js';
import { createNodeFunction } from '../helpers/functions.js';
import { startKumo, type TestKumo } from '../helpers/server.js';

const KMS = 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const HANDLER = 'exports.handler = async () => ({ token: process.env.SECRET_TOKEN ?? null });';

let k: TestKumo;

/** A value no test writes anywhere else, so finding it in a file means it leaked there. */
function secret(label: string): string {
  return `${label}-${crypto.randomBytes(12).toString('hex')}`;
}

/** Every byte Kumo's database keeps on disk: the main file, its WAL and the shared-memory index. */
function rawDatabase(dataDir: string): Buffer {
  const files = ['kumo.db', 'kumo.db-wal', 'kumo.db-shm'].map((f) => path.join(dataDir, f)).filter((f) => fs.existsSync(f));
  assert.ok(files.length >= 1);
  return Buffer.concat(files.map((f) => fs.readFileSync(f)));
}

async function createWith(name: string, variables: Record<string, string>, kms?: string): Promise<void> {
  await createNodeFunction(k.lambda, name, await zipEntries([{ name: 'index.js', content: HANDLER }]), {
    Environment: { Variables: variables },
    KMSKeyArn: kms,
  });
}

async function tokenSeenBy(name: string, qualifier?: string): Promise<unknown> {
  const out = await k.lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: qualifier, Payload: Buffer.from('{}') }));
  return (JSON.parse(Buffer.from(out.Payload ?? []).toString()) as { token: unknown }).token;
}

before(async () => {
  k = await startKumo({ stemCells: 0 });
});
after(async () => {
  await k?.close();
});

describe('environment variables at rest', () => {
  test('the key is created in the data directory, 32 bytes, readable by its owner only', () => {
    const stat = fs.statSync(path.join(k.dataDir, 'secrets.key'));
    assert.equal(stat.size, 32);
    assert.equal(stat.mode & 0o777, 0o600);
  });

  test("no variable's value is in the database file or its WAL; the API and the function see them", async () => {
    const first = secret('first');
    const second = secret('second');
    await createWith('sec-env', { SECRET_TOKEN: first });
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'sec-env' }));
    await k.lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'sec-env', Environment: { Variables: { SECRET_TOKEN: second } } }),
    );
    assert.equal(await tokenSeenBy('sec-env', '1'), first);
    assert.equal(await tokenSeenBy('sec-env'), second);
    const config = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'sec-env' }));
    assert.deepEqual(config.Environment?.Variables, { SECRET_TOKEN: second });

    const raw = rawDatabase(k.dataDir);
    assert.ok(raw.includes('sec-env'), 'the function is in those bytes (they are the right files)');
    for (const value of [first, second]) {
      assert.equal(raw.includes(value), false, `${value} is stored in plaintext`);
      assert.equal(raw.includes(Buffer.from(value, 'utf16le')), false);
    }
    assert.ok(raw.includes('SECRET_TOKEN') === false, 'the names are sealed too');
  });

  test('rows written before encryption still read, and are sealed at the next start', async () => {
    await createWith('sec-legacy', { SECRET_TOKEN: secret('ignored') });
    const legacy = secret('legacy');
    const dataDir = k.dataDir;
    await k.close({ keepData: true });
    // An older Kumo kept variables in plaintext JSON: write one such row.
    const db = new Database(path.join(dataDir, 'kumo.db'));
    const row = db.prepare<[], { config: string }>("SELECT config FROM function_versions WHERE name = 'sec-legacy'").get();
    const config = JSON.parse(row?.config ?? '{}') as Record<string, unknown>;
    db.prepare("UPDATE function_versions SET config = ? WHERE name = 'sec-legacy'").run(
      JSON.stringify({ ...config, environment: { SECRET_TOKEN: legacy } }),
    );
    db.close();
    assert.ok(rawDatabase(dataDir).includes(legacy), 'the old row is plaintext on disk');

    k = await startKumo({ dataDir, stemCells: 0 });
    const got = await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'sec-legacy' }));
    assert.deepEqual(got.Environment?.Variables, { SECRET_TOKEN: legacy });
    assert.equal(await tokenSeenBy('sec-legacy'), legacy);
    assert.equal(rawDatabase(dataDir).includes(legacy), false, 'sealed at start, with no plaintext left behind');
  });
});

describe('KMSKeyArn', () => {
  test('is kept and returned when set, absent when not, removed with an empty string; a malformed one is refused', async () => {
    await createWith('sec-kms', { SECRET_TOKEN: secret('kms') }, KMS);
    assert.equal((await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'sec-kms' }))).KMSKeyArn, KMS);
    await createWith('sec-nokms', {});
    assert.equal((await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'sec-nokms' }))).KMSKeyArn, undefined);
    await rejectsWith(
      k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'sec-kms', KMSKeyArn: 'not-an-arn' })),
      'ValidationException',
      "1 validation error detected: Value 'not-an-arn' at 'kMSKeyArn' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()",
    );
    assert.equal(
      (await k.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'sec-kms' }))).KMSKeyArn,
      KMS,
      'a refused update changes nothing',
    );
    const cleared = await k.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'sec-kms', KMSKeyArn: '' }));
    assert.equal(cleared.KMSKeyArn, undefined);
  });

  test('AWS CLI: update-function-configuration --kms-key-arn, get-function-configuration', { skip: AWS_CLI_MISSING }, async () => {
    await createWith('sec-cli', { SECRET_TOKEN: secret('cli') });
    const cli = awsCli(k, 'lambda');
    const updated = await cli('update-function-configuration', '--function-name', 'sec-cli', '--kms-key-arn', KMS);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal((JSON.parse(updated.stdout) as { KMSKeyArn?: string }).KMSKeyArn, KMS);
    const got = await cli('get-function-configuration', '--function-name', 'sec-cli');
    assert.equal((JSON.parse(got.stdout) as { KMSKeyArn?: string }).KMSKeyArn, KMS);
    const bad = await cli('update-function-configuration', '--function-name', 'sec-cli', '--kms-key-arn', 'nope');
    assert.equal(bad.code, 254);
    assert.match(bad.stderr, /ValidationException/);
  });
});

describe("signing profiles' private keys at rest", () => {
  async function signWith(name: string): Promise<SignatureDocument> {
    const res = await fetch(`${k.url}/_kumo/signing-profiles/${name}/sign`, { method: 'POST', body: JSON.stringify({ digest: 'ab'.repeat(32) }) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as SignatureDocument;
  }

  test('a new profile keeps its private key sealed on disk, and signs with it', async () => {
    const res = await fetch(`${k.url}/_kumo/signing-profiles`, { method: 'POST', body: JSON.stringify({ profileName: 'sealed_profile' }) });
    assert.equal(res.status, 201, await res.clone().text());
    const raw = rawDatabase(k.dataDir);
    assert.ok(raw.includes('sealed_profile') && raw.includes('BEGIN PUBLIC KEY'), 'the profile is in those bytes');
    assert.equal(raw.includes('PRIVATE KEY'), false, 'a private key is stored in plaintext');
    assert.match((await signWith('sealed_profile')).signature, /^[A-Za-z0-9+/]+=*$/);
  });

  test('a private key stored in plaintext by an older Kumo still signs, and is sealed at the next start', async () => {
    const res = await fetch(`${k.url}/_kumo/signing-profiles`, { method: 'POST', body: JSON.stringify({ profileName: 'legacy_profile' }) });
    assert.equal(res.status, 201);
    const dataDir = k.dataDir;
    await k.close({ keepData: true });
    // An older Kumo kept the PEM as it is: replace the profile's keys with a pair this test knows.
    const pair = crypto.generateKeyPairSync('ed25519');
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const db = new Database(path.join(dataDir, 'kumo.db'));
    db.prepare("UPDATE signing_profiles SET public_key = ?, private_key = ? WHERE name = 'legacy_profile'").run(
      pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      privatePem,
    );
    db.close();
    assert.ok(rawDatabase(dataDir).includes('PRIVATE KEY'), 'the old row is plaintext on disk');

    k = await startKumo({ dataDir, stemCells: 0 });
    assert.equal(rawDatabase(dataDir).includes('PRIVATE KEY'), false, 'sealed at start, with no plaintext left behind');
    const { signature, ...fields } = await signWith('legacy_profile');
    assert.ok(crypto.verify(null, signedPayload(fields), pair.publicKey, Buffer.from(signature, 'base64')), 'signed with the stored key');
  });
});
