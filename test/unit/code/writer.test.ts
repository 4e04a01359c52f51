import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import yauzl from 'yauzl';
import { zipDirectory, zipEntries } from '../../../src/code/index.js';
import { tempDir, tempStore } from './support.js';

/** Names and unix modes of a zip's entries, in archive order. */
async function listEntries(zip: Buffer): Promise<Array<{ name: string; mode: number }>> {
  const zipfile = await yauzl.fromBufferPromise(zip, { lazyEntries: true });
  const out: Array<{ name: string; mode: number }> = [];
  for await (const entry of zipfile.eachEntry()) out.push({ name: entry.fileName, mode: entry.externalFileAttributes >>> 16 });
  return out;
}

async function sampleTree(t: TestContext): Promise<string> {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'src/lib'), { recursive: true });
  await mkdir(path.join(dir, 'empty'));
  await mkdir(path.join(dir, 'node_modules/dep'), { recursive: true });
  await writeFile(path.join(dir, 'index.mjs'), 'export const handler = async () => 1;\n');
  await writeFile(path.join(dir, 'src/lib/b.js'), 'b');
  await writeFile(path.join(dir, 'src/a.js'), 'a');
  await writeFile(path.join(dir, 'node_modules/dep/index.js'), 'dep');
  await writeFile(path.join(dir, 'bootstrap'), '#!/bin/sh\n');
  await chmod(path.join(dir, 'bootstrap'), 0o700);
  return dir;
}

void test('zipDirectory gives the same bytes for the same tree, whatever the mtimes', async (t) => {
  const dir = await sampleTree(t);
  const first = await zipDirectory(dir);
  await utimes(path.join(dir, 'src/a.js'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
  await utimes(path.join(dir, 'src'), new Date('2011-02-03T04:05:06Z'), new Date('2011-02-03T04:05:06Z'));
  const second = await zipDirectory(dir);
  assert.deepEqual(second, first);
});

void test('zipDirectory writes every entry, directories included, in sorted order with normalized modes', async (t) => {
  const dir = await sampleTree(t);
  assert.deepEqual(await listEntries(await zipDirectory(dir)), [
    { name: 'bootstrap', mode: 0o100755 },
    { name: 'empty/', mode: 0o040755 },
    { name: 'index.mjs', mode: 0o100644 },
    { name: 'node_modules/', mode: 0o040755 },
    { name: 'node_modules/dep/', mode: 0o040755 },
    { name: 'node_modules/dep/index.js', mode: 0o100644 },
    { name: 'src/', mode: 0o040755 },
    { name: 'src/a.js', mode: 0o100644 },
    { name: 'src/lib/', mode: 0o040755 },
    { name: 'src/lib/b.js', mode: 0o100644 },
  ]);
});

void test('zipDirectory leaves out what ignore() says, a directory with everything below it', async (t) => {
  const dir = await sampleTree(t);
  const seen: string[] = [];
  const zip = await zipDirectory(dir, {
    ignore: (rel) => {
      seen.push(rel);
      return rel === 'node_modules' || rel === 'src/a.js';
    },
  });
  assert.deepEqual(
    (await listEntries(zip)).map((e) => e.name),
    ['bootstrap', 'empty/', 'index.mjs', 'src/', 'src/lib/', 'src/lib/b.js'],
  );
  assert.ok(!seen.includes('node_modules/dep'), 'ignore is not asked about paths below an ignored directory');
});

void test('zipDirectory stores what a symlink points to, and refuses a broken one', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'real.js'), 'real');
  await symlink('real.js', path.join(dir, 'alias.js'));
  const entries = await listEntries(await zipDirectory(dir));
  assert.deepEqual(entries, [
    { name: 'alias.js', mode: 0o100644 },
    { name: 'real.js', mode: 0o100644 },
  ]);

  await symlink('missing.js', path.join(dir, 'broken.js'));
  await assert.rejects(zipDirectory(dir), /cannot zip 'broken.js'/);
});

void test('a zipped directory round-trips through the store with its executable bit', async (t) => {
  const dir = await sampleTree(t);
  const { store } = await tempStore(t);
  const root = await store.extracted((await store.put(await zipDirectory(dir))).sha256Hex);
  assert.equal((await stat(path.join(root, 'bootstrap'))).mode & 0o777, 0o555);
  assert.equal((await stat(path.join(root, 'index.mjs'))).mode & 0o777, 0o444);
  assert.equal(await readFile(path.join(root, 'src/lib/b.js'), 'utf8'), 'b');
});

void test('zipEntries keeps the given order and modes, and is deterministic', async () => {
  const entries = [
    { name: 'z.js', content: 'z' },
    { name: 'bin/', content: '' },
    { name: 'bin/run', content: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
  ];
  const zip = await zipEntries(entries);
  assert.deepEqual(await zipEntries(entries), zip);
  assert.deepEqual(await listEntries(zip), [
    { name: 'z.js', mode: 0o100644 },
    { name: 'bin/', mode: 0o040755 },
    { name: 'bin/run', mode: 0o100755 },
  ]);
});
