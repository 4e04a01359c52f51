import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CodeStore, zipEntries } from '../../../src/code/index.js';
import { KumoError } from '../../../src/errors/index.js';
import { rejectsWith, tempDir, tempStore } from './support.js';

/** The store directory's entries, leaving out the package.json it keeps to shield CommonJS code. */
async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name !== 'package.json');
}

const HANDLER = 'export const handler = async () => "hi";\n';
const BOOTSTRAP = '#!/bin/sh\necho hi\n';

async function sampleZip(): Promise<Buffer> {
  return zipEntries([
    { name: 'index.mjs', content: HANDLER },
    { name: 'bootstrap', content: BOOTSTRAP, mode: 0o755 },
    { name: 'lib/', content: '' },
    { name: 'lib/util.js', content: 'module.exports = 1;\n' },
    { name: 'empty/', content: '' },
  ]);
}

void test('put stores the zip under its SHA-256 and reports Lambda-style hashes and sizes', async (t) => {
  const { store } = await tempStore(t);
  const zip = await sampleZip();
  const artifact = await store.put(zip);

  const digest = createHash('sha256').update(zip).digest();
  assert.deepEqual(artifact, {
    sha256Hex: digest.toString('hex'),
    sha256Base64: digest.toString('base64'),
    size: zip.length,
    unzippedSize: Buffer.byteLength(HANDLER) + Buffer.byteLength(BOOTSTRAP) + Buffer.byteLength('module.exports = 1;\n'),
  });
  assert.equal(store.has(artifact.sha256Hex), true);
  assert.deepEqual(await readFile(store.zipPath(artifact.sha256Hex)), zip);
});

void test('extracted() unpacks a read-only tree with file contents and the executable bit kept', async (t) => {
  const { store } = await tempStore(t);
  const { sha256Hex } = await store.put(await sampleZip());
  const root = await store.extracted(sha256Hex);

  assert.equal(await readFile(path.join(root, 'index.mjs'), 'utf8'), HANDLER);
  assert.equal(await readFile(path.join(root, 'bootstrap'), 'utf8'), BOOTSTRAP);
  assert.equal(await readFile(path.join(root, 'lib/util.js'), 'utf8'), 'module.exports = 1;\n');
  const mode = async (rel: string): Promise<number> => (await stat(path.join(root, rel))).mode & 0o7777;
  assert.equal(await mode('index.mjs'), 0o444);
  assert.equal(await mode('lib/util.js'), 0o444);
  assert.equal(await mode('bootstrap'), 0o555);
  assert.equal(await mode('.'), 0o555);
  assert.equal(await mode('lib'), 0o555);
  assert.equal(await mode('empty'), 0o555);
  assert.deepEqual(await readdir(path.join(root, 'empty')), []);
});

void test('putting the same bytes twice gives the same artifact and does not rewrite the archive', async (t) => {
  const { store, dir } = await tempStore(t);
  const zip = await sampleZip();
  const first = await store.put(zip);
  const before = await stat(store.zipPath(first.sha256Hex));
  const second = await store.put(Buffer.from(zip));
  const after = await stat(store.zipPath(first.sha256Hex));

  assert.deepEqual(second, first);
  assert.equal(after.ino, before.ino);
  assert.deepEqual(await listing(dir), [`${first.sha256Hex}.zip`]);
});

void test('concurrent extracted() calls for one sha share a single extraction', async (t) => {
  const { store, dir } = await tempStore(t);
  const { sha256Hex } = await store.put(await sampleZip());

  const calls = Array.from({ length: 8 }, () => store.extracted(sha256Hex));
  assert.ok(
    calls.every((call) => call === calls[0]),
    'every caller gets the same promise',
  );
  const roots = await Promise.all(calls);

  assert.ok(roots.every((root) => root === path.join(dir, sha256Hex)));
  assert.deepEqual((await listing(dir)).sort(), [sha256Hex, `${sha256Hex}.zip`].sort(), 'no temporary directories left');
  assert.equal(await readFile(path.join(dir, sha256Hex, 'index.mjs'), 'utf8'), HANDLER);
});

void test('extracted() reuses a tree already on disk, e.g. after a restart', async (t) => {
  const { store, dir } = await tempStore(t);
  const { sha256Hex } = await store.put(await sampleZip());
  const root = await store.extracted(sha256Hex);
  const inode = (await stat(root)).ino;

  const reopened = await CodeStore.create(dir);
  assert.equal(await reopened.extracted(sha256Hex), root);
  assert.equal((await stat(root)).ino, inode);
});

void test('extracted() refuses a stored archive whose bytes no longer match its sha', async (t) => {
  const { store } = await tempStore(t);
  const { sha256Hex } = await store.put(await sampleZip());
  const zipPath = store.zipPath(sha256Hex);
  await chmod(zipPath, 0o644);
  await writeFile(zipPath, await zipEntries([{ name: 'other.js', content: 'x' }]));

  await rejectsWith(store.extracted(sha256Hex), 'InvalidZipFileException', /Could not unpack the function's code/);
});

void test('prune removes archives and read-only extracted trees not in keep, and keeps the rest', async (t) => {
  const { store, dir } = await tempStore(t);
  const gone = await store.put(await sampleZip());
  const kept = await store.put(await zipEntries([{ name: 'index.mjs', content: 'export const handler = () => 2;' }]));
  await store.extracted(gone.sha256Hex);
  await store.extracted(kept.sha256Hex);

  assert.equal(await store.prune(new Set([kept.sha256Hex])), 1);

  assert.equal(store.has(gone.sha256Hex), false);
  assert.equal(store.has(kept.sha256Hex), true);
  assert.deepEqual((await listing(dir)).sort(), [kept.sha256Hex, `${kept.sha256Hex}.zip`].sort());
  // A pruned sha that is put again extracts afresh rather than from a stale cache entry.
  const again = await store.put(await sampleZip());
  assert.equal(await readFile(path.join(await store.extracted(again.sha256Hex), 'index.mjs'), 'utf8'), HANDLER);
});

void test('close() refuses new extractions; a tree extracted before it is still given', async (t) => {
  const { store, dir } = await tempStore(t);
  const done = await store.put(await sampleZip());
  const late = await store.put(await zipEntries([{ name: 'index.mjs', content: 'export const handler = () => 2;' }]));
  const root = await store.extracted(done.sha256Hex);

  await store.close();

  assert.equal(await store.extracted(done.sha256Hex), root);
  await assert.rejects(store.extracted(late.sha256Hex), (err: Error) => !(err instanceof KumoError) && /the code store is closed/.test(err.message));
  assert.deepEqual((await listing(dir)).sort(), [done.sha256Hex, `${done.sha256Hex}.zip`, `${late.sha256Hex}.zip`].sort());
});

void test('close() waits for an extraction that prune has taken over, and nothing is written after it', async (t) => {
  const { store, dir } = await tempStore(t);
  const many = Array.from({ length: 300 }, (_, i) => ({ name: `lib/m${i}.js`, content: `module.exports = ${i};\n` }));
  const { sha256Hex } = await store.put(await zipEntries(many));
  let settled = false;
  const extraction = store.extracted(sha256Hex).finally(() => (settled = true));
  // prune drops the extraction from the store's map before it waits for it.
  const pruning = store.prune(new Set());

  await store.close();

  assert.equal(settled, true, 'close() resolved before the extraction settled');
  await extraction;
  await pruning;
  assert.deepEqual(await listing(dir), []);
});

void test('create() makes the directory and clears temporaries a crash left behind', async (t) => {
  const dir = path.join(await tempDir(t), 'data', 'code');
  // A half-extracted tree, already partly read-only.
  await mkdir(path.join(dir, '.tmp-123-abc', 'sub'), { recursive: true });
  await writeFile(path.join(dir, '.tmp-123-abc', 'sub', 'index.js'), 'x');
  await chmod(path.join(dir, '.tmp-123-abc', 'sub'), 0o555);
  await writeFile(path.join(dir, '.tmp-123-def.zip'), 'partial');

  await CodeStore.create(dir);
  assert.deepEqual(await listing(dir), []);
});

void test('zipPath() refuses anything but a lowercase hex sha, so a sha can never become a path', async (t) => {
  const { store } = await tempStore(t);
  assert.throws(() => store.zipPath('../../etc/passwd'), /not a lowercase hex SHA-256/);
  assert.throws(() => store.zipPath('A'.repeat(64)), /not a lowercase hex SHA-256/);
  assert.equal(store.has('../x'), false);
});
