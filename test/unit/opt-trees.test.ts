/**
 * How layers merge into /opt: extracted in order, a later layer's file or directory replacing
 * whatever an earlier one had at that path.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { OptTrees, mergeTrees } from '../../src/engine/opt-trees.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-opt-merge-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A layer's unpacked tree from `{ relPath: content }` ('/'-ending keys are directories). */
function tree(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  for (const [rel, content] of Object.entries(files)) {
    const target = path.join(dir, rel);
    if (rel.endsWith('/')) fs.mkdirSync(target, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
  }
  return dir;
}

function shape(merged: ReturnType<typeof mergeTrees>, roots: Record<string, string>): Record<string, string> {
  const names = new Map(Object.entries(roots).map(([n, d]) => [d, n]));
  const out: Record<string, string> = {};
  for (const [rel, entry] of merged) {
    out[rel] = entry === 'dir' ? 'dir' : `${names.get(entry.file.slice(0, entry.file.length - rel.length - 1)) ?? '?'}`;
  }
  return out;
}

test('a later layer wins at the same path, a file replaces a directory and its contents, and a directory a file', () => {
  const a = tree('a', { 'bin/tool': 'a', 'lib/x/deep.so': 'a', conf: 'a', 'keep.txt': 'a' });
  const b = tree('b', { 'bin/tool': 'b', 'lib/x': 'b', 'conf/inside.txt': 'b', 'new/': '' });
  const merged = mergeTrees([a, b]);
  assert.deepEqual(shape(merged, { a, b }), {
    bin: 'dir',
    lib: 'dir',
    conf: 'dir',
    'keep.txt': 'a',
    new: 'dir',
    'bin/tool': 'b',
    'lib/x': 'b',
    'conf/inside.txt': 'b',
  });
  // Parents before children, so the tree can be made in this order.
  const seen = new Set<string>();
  for (const rel of merged.keys()) {
    const parent = path.dirname(rel);
    assert.ok(parent === '.' || seen.has(parent), `${rel} comes after ${parent}`);
    seen.add(rel);
  }
});

test('the order of the layers decides', () => {
  const a = tree('order-a', { 'nodejs/node_modules/m/index.js': 'a' });
  const b = tree('order-b', { 'nodejs/node_modules/m/index.js': 'b' });
  assert.equal(shape(mergeTrees([a, b]), { a, b })['nodejs/node_modules/m/index.js'], 'b');
  assert.equal(shape(mergeTrees([b, a]), { a, b })['nodejs/node_modules/m/index.js'], 'a');
});

test('a tree swept and acquired again at once is whole (the sweep moves it out of the way before removing it)', async () => {
  const layer = tree('swept', Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`nodejs/node_modules/p${i}/index.js`, `${i}`])));
  const trees = new OptTrees(path.join(root, 'opt'), () => Promise.resolve(layer));
  const layers = [{ arn: 'arn:aws:lambda:us-east-1:000000000000:layer:swept:1', codeSha256Hex: 'ab'.repeat(32), codeSize: 1, codeUnzippedSize: 1 }];
  try {
    for (let round = 0; round < 20; round++) {
      const held = await trees.acquire(layers);
      held.release();
      trees.sweep(0, Date.now() + 1);
      const again = await trees.acquire(layers);
      assert.equal(fs.readdirSync(path.join(again.dir, 'nodejs/node_modules')).length, 200, `round ${round}`);
      assert.equal(fs.readFileSync(path.join(again.dir, 'nodejs/node_modules/p199/index.js'), 'utf8'), '199');
      again.release();
    }
  } finally {
    await trees.close();
  }
});
