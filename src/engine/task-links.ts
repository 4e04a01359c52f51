import fs from 'node:fs';
import path from 'node:path';
import { walkTree } from './walk-tree.js';

/**
 * Puts a function's unpacked code into a stem cell's task root, which was bound at /var/task when
 * the stem cell's sandbox was made, before anyone knew which code would run there: every directory
 * is made again and every file hard-linked (no data is copied; the links share the read-only inodes
 * of the code store's tree, and the sandbox sees them through a read-only bind).
 */

/** Trees with more entries than this are not worth linking on the invoke path: such functions start cold. */
export const MAX_LINKED_ENTRIES = 2000;

interface Manifest {
  /** Directories below the root, parents first. */
  dirs: string[];
  files: string[];
}

/** Code trees never change (they are keyed by their sha256), so their listing is read once. */
const manifests = new Map<string, Manifest | 'too-large'>();

function manifestOf(codeDir: string): Manifest | 'too-large' {
  let m = manifests.get(codeDir);
  if (m) return m;
  m = walk(codeDir);
  if (manifests.size > 1000) manifests.clear();
  manifests.set(codeDir, m);
  return m;
}

/**
 * Lists a tree, parents first, giving up as soon as it has more than MAX_LINKED_ENTRIES entries: a
 * large tree (a node_modules of thousands of files) costs no more to refuse than a small one to list.
 */
function walk(root: string): Manifest | 'too-large' {
  const dirs: string[] = [];
  const files: string[] = [];
  const whole = walkTree(root, (rel, entry) => {
    if (dirs.length + files.length >= MAX_LINKED_ENTRIES) return false;
    if (entry.isDirectory()) dirs.push(rel);
    else if (entry.isFile()) files.push(rel);
    return true;
  });
  return whole ? { dirs, files } : 'too-large';
}

/** Whether a code tree is small enough to be linked into a stem cell. */
export function linkable(codeDir: string): boolean {
  return manifestOf(codeDir) !== 'too-large';
}

/** Links `codeDir`'s tree into `taskDir` (an empty directory). Throws on failure (another file system, say). */
export function linkTree(codeDir: string, taskDir: string): void {
  const m = manifestOf(codeDir);
  if (m === 'too-large') throw new Error(`${codeDir} has more than ${MAX_LINKED_ENTRIES} entries`);
  for (const dir of m.dirs) fs.mkdirSync(path.join(taskDir, dir), { mode: 0o755 });
  for (const file of m.files) fs.linkSync(path.join(codeDir, file), path.join(taskDir, file));
}
