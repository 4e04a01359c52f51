import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { LayerAttachment } from '../store/index.js';

/**
 * The /opt of a function configuration: its layers extracted in order into one tree, a later layer's
 * file replacing an earlier one's at the same path (as Lambda extracts them). Built on the host once
 * per list of layers, from hard links into the code store's unpacked layer trees (no data copied),
 * bound read-only at /opt, or linked into a stem cell's /opt as its /var/task is.
 *
 * Trees are named by the hash of their layers' code, so configurations with the same layers share
 * one, and a tree never changes once built. Environments hold a reference to their tree; a tree
 * nobody has held for a while is removed by `sweep`.
 */
export class OptTrees {
  private readonly trees = new Map<string, { dir: Promise<string>; refs: number; idleSince: number }>();
  /** The /opt of functions without layers: an empty, read-only directory. */
  readonly empty: string;

  constructor(
    private readonly root: string,
    /** Directory of the unpacked code for a code sha (extracting it if needed). */
    private readonly codeDir: (sha256Hex: string) => Promise<string>,
  ) {
    // Trees are rebuilt on demand: what a previous run left is stale.
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true, mode: 0o755 });
    this.empty = path.join(root, 'empty');
    fs.mkdirSync(this.empty, { mode: 0o555 });
  }

  /**
   * The tree of `layers` (the empty directory when there are none), held until `release` is called.
   * Rejects when a layer's code cannot be unpacked.
   */
  async acquire(layers: readonly LayerAttachment[] | undefined): Promise<{ dir: string; release: () => void }> {
    if (!layers || layers.length === 0) return { dir: this.empty, release: () => undefined };
    const key = crypto
      .createHash('sha256')
      .update(layers.map((l) => l.codeSha256Hex).join(','))
      .digest('hex');
    let tree = this.trees.get(key);
    if (!tree) {
      const dir = this.build(key, layers);
      tree = { dir, refs: 0, idleSince: Date.now() };
      this.trees.set(key, tree);
      // A failed build is not kept: the next cold start tries again.
      dir.catch(() => {
        if (this.trees.get(key)?.dir === dir) this.trees.delete(key);
      });
    }
    tree.refs++;
    const held = tree;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      held.refs--;
      held.idleSince = Date.now();
    };
    try {
      return { dir: await held.dir, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Removes trees no environment has held for `idleMs`. */
  sweep(idleMs: number, now = Date.now()): void {
    for (const [key, tree] of this.trees) {
      if (tree.refs > 0 || now - tree.idleSince <= idleMs) continue;
      this.trees.delete(key);
      void tree.dir.then(
        (dir) => fs.rm(dir, { recursive: true, force: true }, () => undefined),
        () => undefined,
      );
    }
  }

  private async build(key: string, layers: readonly LayerAttachment[]): Promise<string> {
    const sources: string[] = [];
    for (const layer of layers) sources.push(await this.codeDir(layer.codeSha256Hex));
    const target = path.join(this.root, key);
    const temp = path.join(this.root, `.tmp-${key}-${crypto.randomBytes(4).toString('hex')}`);
    fs.mkdirSync(temp, { mode: 0o755 });
    try {
      const merged = mergeTrees(sources);
      for (const [rel, entry] of merged) {
        const to = path.join(temp, rel);
        if (entry === 'dir') fs.mkdirSync(to, { mode: 0o755 });
        else linkOrCopy(entry.file, to);
      }
      fs.renameSync(temp, target);
    } catch (err) {
      fs.rmSync(temp, { recursive: true, force: true });
      throw err;
    }
    return target;
  }
}

/**
 * What extracting `roots` one after the other into one directory leaves: relative path → 'dir', or
 * the file found there (a later root's file or directory replaces whatever an earlier one had there, with
 * everything below it). Parents come before their children.
 */
export function mergeTrees(roots: readonly string[]): Map<string, 'dir' | { file: string }> {
  const out = new Map<string, 'dir' | { file: string }>();
  const removeBelow = (rel: string): void => {
    const prefix = `${rel}/`;
    for (const key of out.keys()) if (key.startsWith(prefix)) out.delete(key);
  };
  for (const root of roots) {
    const entries = fs.readdirSync(root, { recursive: true, withFileTypes: true });
    // Parents first, so that a replaced directory's children never outlive it.
    const items = entries
      .map((e) => ({ rel: path.relative(root, path.join(e.parentPath, e.name)), dir: e.isDirectory(), file: e.isFile() }))
      .sort((a, b) => a.rel.split('/').length - b.rel.split('/').length);
    for (const item of items) {
      const previous = out.get(item.rel);
      if (item.dir) {
        if (previous !== 'dir') out.set(item.rel, 'dir');
      } else if (item.file) {
        if (previous === 'dir') removeBelow(item.rel);
        out.delete(item.rel); // re-inserted last: a file comes after its directory
        out.set(item.rel, { file: path.join(root, item.rel) });
      }
    }
  }
  // Map order is insertion order; a directory re-created after its parent was replaced by a file
  // and back must still come before its children.
  return new Map([...out].sort(([a], [b]) => a.split('/').length - b.split('/').length));
}

function linkOrCopy(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch (err) {
    // Another file system (the code store elsewhere): a copy does the same, slower.
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    fs.copyFileSync(from, to);
    fs.chmodSync(to, fs.statSync(from).mode & 0o777);
  }
}
