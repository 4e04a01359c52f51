/**
 * Which code trees grow from stem cells: up to MAX_LINKED_ENTRIES entries (directories and files)
 * are linked into a stem cell's /var/task, parents before children; larger trees start a new process.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { MAX_LINKED_ENTRIES, linkTree, linkable } from '../../src/engine/task-links.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-task-links-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A tree of `entries` entries: one directory `lib`, one nested `lib/deep`, the rest files spread over them. */
function tree(name: string, entries: number): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'lib', 'deep'), { recursive: true });
  for (let i = 0; i < entries - 2; i++) fs.writeFileSync(path.join(dir, ['', 'lib', 'lib/deep'][i % 3] ?? '', `f${i}.js`), `${i}`);
  return dir;
}

test('a tree of exactly the limit is linkable, and linking it reproduces it (directories first)', () => {
  const code = tree('at-limit', MAX_LINKED_ENTRIES);
  assert.equal(linkable(code), true);
  const task = path.join(root, 'task');
  fs.mkdirSync(task);
  linkTree(code, task);
  assert.equal(fs.readFileSync(path.join(task, 'lib/deep/f2.js'), 'utf8'), '2');
  assert.equal(
    fs.statSync(path.join(task, 'lib/deep/f2.js')).ino,
    fs.statSync(path.join(code, 'lib/deep/f2.js')).ino,
    'hard-linked, not copied',
  );
  assert.equal(fs.readdirSync(task, { recursive: true }).length, MAX_LINKED_ENTRIES);
});

test('a tree of one entry more is not linkable', () => {
  assert.equal(linkable(tree('over-limit', MAX_LINKED_ENTRIES + 1)), false);
});
