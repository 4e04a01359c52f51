import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { OptionsError, compileOptions, optionsFromEnv } from '../../src/config/index.js';

test('defaults: loopback, port 9001, ./.kumo, us-east-1, account 000000000000', () => {
  const o = compileOptions();
  assert.equal(o.host, '127.0.0.1');
  assert.equal(o.port, 9001);
  assert.equal(o.dataDir, path.resolve('.kumo'));
  assert.equal(o.region, 'us-east-1');
  assert.equal(o.accountId, '000000000000');
  assert.ok(Object.isFrozen(o));
});

test('KUMO_* environment variables set the same options', () => {
  const o = compileOptions(
    optionsFromEnv({
      KUMO_PORT: '9100',
      KUMO_HOST: '0.0.0.0',
      KUMO_DATA_DIR: '/tmp/x',
      KUMO_REGION: 'eu-west-1',
      KUMO_ACCOUNT_ID: '123456789012',
    }),
  );
  assert.deepEqual([o.port, o.host, o.dataDir, o.region, o.accountId], [9100, '0.0.0.0', '/tmp/x', 'eu-west-1', '123456789012']);
});

test('bad values are refused at start', () => {
  assert.throws(() => compileOptions({ port: 70000 }), OptionsError);
  assert.throws(() => compileOptions({ accountId: '12' }), OptionsError);
  assert.throws(() => compileOptions({ region: 'nowhere' }), OptionsError);
});
