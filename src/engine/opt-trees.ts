import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { LayerAttachment } from '../store/index.js';
import { linkTree } from './task-links.js';
import { walkTree } from './walk-tree.js';

/** Ready copies (spares) kept per tree for stem cells' /opt. */
const SPARES = 2;
/** How long after a spare is taken its replacement is made (not in the middle of the cold start). */
const REFILL_DELAY_MS = 25;

interface Tree {
  dir: Promise<string>;
  /** What the tree holds, once built: the spares are made from it. */
  entries: Map<string, 'dir' | { file: string }> | undefined;
  refs: number;
  idleSince: number;
  /** Ready copies of the tree (host directories), each to be moved into one stem cell's /opt. */
  spares: string[];
  refilling: boolean;
  removed: boolean;
}

/**
 * The /opt of a function configuration: its layers extracted in order into one tree, a later layer's
 * file replacing an earlier one's at the same path (as Lambda extracts them). Built on the host once
 * per list of layers, from hard links into the code store's unpacked layer trees (no data copied),
 * bound read-only at /opt, or linked into a stem cell's /opt as its /var/task is.
 *
 * Trees are named by the hash of their layers' code, so configurations with the same layers share
 * one, and a tree never changes once built. Environments hold a reference to their tree; a tree
 * nobody has held for a while is removed by `sweep`.
 *
 * A stem cell's /opt is a directory of its own, bound when it started; on a host where making a
 * directory costs milliseconds, linking a tree of many directories into it would be most of a cold
 * start. So each tree keeps spare copies, made in the background, and a cold start moves one spare's
 * top-level entries into the stem cell's /opt: a rename or two, whatever the size of the tree.
 */
export class OptTrees {
  private readonly trees = new Map<string, Tree>();
  /** Builds and refills under way (`close` waits for them: nothing is written after it). */
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;
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
    const tree = this.treeOf(layers);
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

  /** Builds the tree of `layers` and its spares ahead of a cold start (when a function is created or changed). */
  warm(layers: readonly LayerAttachment[] | undefined, onError: (err: unknown) => void): void {
    if (!layers || layers.length === 0) return;
    const tree = this.treeOf(layers);
    tree.dir.then(() => this.refill(tree), onError);
  }

  /**
   * Puts the tree `dir` (from `acquire`) into `target`, a stem cell's empty /opt: a spare's entries
   * moved in when one is ready, else the tree hard-linked. Synchronous: it is on the cold path.
   */
  fill(dir: string, target: string): void {
    if (dir === this.empty) return;
    const tree = this.trees.get(path.basename(dir));
    const spare = tree?.spares.shift();
    if (tree) setTimeout(() => this.refill(tree), REFILL_DELAY_MS).unref();
    if (spare !== undefined) {
      try {
        for (const name of fs.readdirSync(spare)) fs.renameSync(path.join(spare, name), path.join(target, name));
        fs.rmdirSync(spare);
        return;
      } catch {
        // Another file system, or a spare removed under us: link instead (into what is still empty).
        fs.rmSync(spare, { recursive: true, force: true });
        for (const name of fs.readdirSync(target)) fs.rmSync(path.join(target, name), { recursive: true, force: true });
      }
    }
    linkTree(dir, target);
  }

  /** Removes trees (and their spares) no environment has held for `idleMs`. */
  sweep(idleMs: number, now = Date.now()): void {
    for (const [key, tree] of this.trees) {
      // A tree still being built is left for a later sweep (its build owns its path until then).
      if (tree.refs > 0 || now - tree.idleSince <= idleMs || !tree.entries) continue;
      this.trees.delete(key);
      tree.removed = true;
      for (const spare of tree.spares.splice(0)) fs.rm(spare, { recursive: true, force: true }, () => undefined);
      // Moved out of its path at once, then removed: a build of the same layers that starts meanwhile
      // must find the path free, not half deleted.
      const trash = this.temp(key);
      try {
        fs.renameSync(path.join(this.root, key), trash);
      } catch {
        continue; // already gone
      }
      fs.rm(trash, { recursive: true, force: true }, () => undefined);
    }
  }

  private treeOf(layers: readonly LayerAttachment[]): Tree {
    const key = crypto
      .createHash('sha256')
      .update(layers.map((l) => l.codeSha256Hex).join(','))
      .digest('hex');
    let tree = this.trees.get(key);
    if (!tree) {
      if (this.closed) throw new Error('the engine is closed');
      const made: Tree = {
        dir: Promise.resolve(''),
        entries: undefined,
        refs: 0,
        idleSince: Date.now(),
        spares: [],
        refilling: false,
        removed: false,
      };
      made.dir = this.build(key, layers, made);
      const building = made.dir.catch(() => undefined).finally(() => this.pending.delete(building));
      this.pending.add(building);
      this.trees.set(key, made);
      // A failed build is not kept: the next cold start tries again.
      made.dir.catch(() => {
        if (this.trees.get(key) === made) this.trees.delete(key);
      });
      tree = made;
    }
    return tree;
  }

  private async build(key: string, layers: readonly LayerAttachment[], tree: Tree): Promise<string> {
    const sources: string[] = [];
    for (const layer of layers) sources.push(await this.codeDir(layer.codeSha256Hex));
    const entries = mergeTrees(sources);
    const target = path.join(this.root, key);
    await materialize(entries, this.temp(key), target);
    tree.entries = entries;
    return target;
  }

  /** Makes spare copies of a built tree, one at a time, without blocking the event loop. */
  private refill(tree: Tree): void {
    if (this.closed || tree.refilling || tree.removed || !tree.entries || tree.spares.length >= SPARES) return;
    const entries = tree.entries;
    tree.refilling = true;
    const work = tree.dir
      .then(async (dir) => {
        const spare = `${dir}.spare-${crypto.randomBytes(4).toString('hex')}`;
        await materialize(entries, this.temp(path.basename(dir)), spare);
        if (tree.removed) fs.rmSync(spare, { recursive: true, force: true });
        else tree.spares.push(spare);
      })
      .catch(() => undefined) // no spare: cold starts link the tree instead
      .finally(() => {
        tree.refilling = false;
        this.pending.delete(work);
        if (!tree.removed && tree.spares.length < SPARES) setTimeout(() => this.refill(tree), 0).unref();
      });
    this.pending.add(work);
  }

  /** Stops making spares and waits for the work under way. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private temp(key: string): string {
    return path.join(this.root, `.tmp-${key}-${crypto.randomBytes(4).toString('hex')}`);
  }
}

/** Makes the tree `entries` describes at `target`, by way of `temp` (renamed into place when complete). */
async function materialize(entries: Map<string, 'dir' | { file: string }>, temp: string, target: string): Promise<void> {
  await fs.promises.mkdir(temp, { mode: 0o755 });
  try {
    for (const [rel, entry] of entries) {
      const to = path.join(temp, rel);
      if (entry === 'dir') await fs.promises.mkdir(to, { mode: 0o755 });
      else await linkOrCopy(entry.file, to);
    }
    await fs.promises.rename(temp, target);
  } catch (err) {
    await fs.promises.rm(temp, { recursive: true, force: true });
    // Made meanwhile by someone else: trees are named by their content, so it is as good as ours.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && fs.existsSync(target)) return;
    throw err;
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
    // Parents first (walkTree's order), so that a replaced directory's children never outlive it.
    walkTree(root, (rel, entry) => {
      const previous = out.get(rel);
      if (entry.isDirectory()) {
        if (previous !== 'dir') out.set(rel, 'dir');
      } else if (entry.isFile()) {
        if (previous === 'dir') removeBelow(rel);
        out.delete(rel); // re-inserted last: a file comes after its directory
        out.set(rel, { file: path.join(root, rel) });
      }
    });
  }
  // Map order is insertion order; a directory re-created after its parent was replaced by a file
  // and back must still come before its children.
  return new Map([...out].sort(([a], [b]) => a.split('/').length - b.split('/').length));
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fs.promises.link(from, to);
  } catch (err) {
    // Another file system (the code store elsewhere): a copy does the same, slower.
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await fs.promises.copyFile(from, to);
    await fs.promises.chmod(to, (await fs.promises.stat(from)).mode & 0o777);
  }
}
