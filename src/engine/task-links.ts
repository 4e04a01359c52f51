import fs from 'node:fs';
import path from 'node:path';

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
  const entries = fs.readdirSync(codeDir, { recursive: true, withFileTypes: true });
  if (entries.length > MAX_LINKED_ENTRIES) m = 'too-large';
  else {
    const dirs: string[] = [];
    const files: string[] = [];
    for (const e of entries) {
      const rel = path.relative(codeDir, path.join(e.parentPath, e.name));
      if (e.isDirectory()) dirs.push(rel);
      else if (e.isFile()) files.push(rel);
    }
    dirs.sort((a, b) => a.length - b.length);
    m = { dirs, files };
  }
  if (manifests.size > 1000) manifests.clear();
  manifests.set(codeDir, m);
  return m;
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
