import fs from 'node:fs';
import path from 'node:path';

/**
 * Visits the tree below `root` breadth first, so parents before their children: `visit` gets every
 * entry (directories, files and whatever else a directory holds) with its path relative to `root`,
 * '/'-separated. Directories are descended into, symbolic links are not followed. Stops as soon as
 * `visit` returns false, and returns false then (true when it saw the whole tree).
 *
 * Code trees' listings (which grow from a stem cell) and layers' merges into /opt both walk this way.
 */
export function walkTree(root: string, visit: (rel: string, entry: fs.Dirent) => boolean | void): boolean {
  const pending = [''];
  for (let i = 0; i < pending.length; i++) {
    const rel = pending[i] ?? '';
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (visit(child, entry) === false) return false;
      if (entry.isDirectory()) pending.push(child);
    }
  }
  return true;
}
