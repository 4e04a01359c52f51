import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { errorResponse } from '../../src/api/errors.js';
import { ERROR_CATALOG, KumoError, type ErrorCode } from '../../src/errors/index.js';
import { repoPath } from '../helpers/server.js';

test('every error type in the catalog is documented in docs/errors.md', () => {
  const doc = fs.readFileSync(repoPath('docs/errors.md'), 'utf8');
  for (const code of Object.keys(ERROR_CATALOG)) {
    assert.match(
      doc,
      new RegExp(`\\| \`${code}\` \\| ${ERROR_CATALOG[code as ErrorCode].status} \\|`),
      `${code} missing from docs/errors.md`,
    );
  }
});

test('REST errors carry X-Amzn-ErrorType and the body member case Lambda uses', () => {
  const notFound = errorResponse(new KumoError('ResourceNotFoundException', 'Function not found: x'), 'rest-json', () => undefined);
  assert.equal(notFound.status, 404);
  assert.equal(notFound.headers?.['X-Amzn-ErrorType'], 'ResourceNotFoundException');
  assert.deepEqual(notFound.body, { Type: 'User', Message: 'Function not found: x' });

  const invalid = errorResponse(new KumoError('InvalidParameterValueException', 'bad'), 'rest-json', () => undefined);
  assert.deepEqual(invalid.body, { Type: 'User', message: 'bad' });

  const validation = errorResponse(new KumoError('ValidationException', '1 validation error detected'), 'rest-json', () => undefined);
  assert.deepEqual(validation.body, { message: '1 validation error detected' });
});

test('throttles carry Reason and Retry-After', () => {
  const r = errorResponse(
    new KumoError('TooManyRequestsException', 'Rate Exceeded.', {
      fields: { Reason: 'ConcurrentInvocationLimitExceeded' },
      headers: { 'Retry-After': '1' },
    }),
    'rest-json',
    () => undefined,
  );
  assert.equal(r.status, 429);
  assert.equal(r.headers?.['Retry-After'], '1');
  assert.deepEqual(r.body, { Type: 'User', message: 'Rate Exceeded.', Reason: 'ConcurrentInvocationLimitExceeded' });
});

test('JSON-protocol errors use __type', () => {
  const r = errorResponse(new KumoError('ResourceNotFoundException', 'The specified log group does not exist.'), 'json', () => undefined);
  assert.deepEqual(r.body, { __type: 'ResourceNotFoundException', message: 'The specified log group does not exist.' });
});

test('an unexpected error is logged and becomes a 500 ServiceException without internals', () => {
  const logged: unknown[] = [];
  const r = errorResponse(new Error('secret internals'), 'rest-json', (e) => logged.push(e));
  assert.equal(r.status, 500);
  assert.equal(r.headers?.['X-Amzn-ErrorType'], 'ServiceException');
  assert.equal((r.body as { Type: string }).Type, 'Service');
  assert.doesNotMatch(JSON.stringify(r.body), /secret internals/);
  assert.equal(logged.length, 1);
});
