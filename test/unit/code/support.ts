import assert from 'node:assert/strict';
import { chmod, lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { CodeStore } from '../../../src/code/index.js';
import { KumoError, type ErrorCode } from '../../../src/errors/index.js';

/** A fresh directory, removed (read-only trees included) when the test ends. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kumo-code-'));
  t.after(async () => {
    await makeWritable(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

async function makeWritable(p: string): Promise<void> {
  const stats = await lstat(p);
  if (!stats.isDirectory()) return;
  await chmod(p, 0o700);
  for (const name of await readdir(p)) await makeWritable(path.join(p, name));
}

export async function tempStore(t: TestContext): Promise<{ store: CodeStore; dir: string }> {
  const dir = path.join(await tempDir(t), 'code');
  return { store: await CodeStore.create(dir), dir };
}

/** Asserts `promise` rejects with a KumoError of exactly this code and message. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message: string | RegExp): Promise<KumoError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof KumoError, `expected a KumoError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}
