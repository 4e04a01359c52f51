import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryPathSegments } from '../../../src/code/entry-name.js';
import { KumoError } from '../../../src/errors/index.js';

void test('harmless names normalize to their segments', () => {
  assert.deepEqual(entryPathSegments('index.js'), ['index.js']);
  assert.deepEqual(entryPathSegments('./lib//util.js'), ['lib', 'util.js']);
  assert.deepEqual(entryPathSegments('lib/'), ['lib']);
  assert.deepEqual(entryPathSegments('./'), []);
  assert.deepEqual(entryPathSegments('..foo/bar..'), ['..foo', 'bar..']);
  assert.deepEqual(entryPathSegments('ünïcödé/名前.js'), ['ünïcödé', '名前.js']);
});

void test('names that could leave the root, or cannot be files, are refused with a KumoError', () => {
  for (const name of ['', '..', '../x', 'a/../../x', 'a/..', '/x', '\\x', 'C:x', 'C:\\x', '..\\x', 'a\\b', 'a\0b', `${'x'.repeat(256)}`]) {
    assert.throws(
      () => entryPathSegments(name),
      (err: unknown) => err instanceof KumoError && err.code === 'InvalidParameterValueException',
      JSON.stringify(name),
    );
  }
});
