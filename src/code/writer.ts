import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import yazl from 'yazl';
import { S_IFDIR, S_IFMT, S_IFREG } from './entry-name.js';

/**
 * The timestamp of every entry Kumo writes, so the same tree always zips to the same bytes.
 * yazl encodes DOS time from the Date's *local* fields, so building it from local fields gives
 * the same bytes in every time zone; `forceDosTimestamp` leaves out the UTC extended-timestamp
 * field that would otherwise differ. Noon rather than midnight keeps clear of odd DST rules.
 */
const FIXED_MTIME = new Date(1980, 0, 1, 12, 0, 0);
const ENTRY_OPTIONS = { mtime: FIXED_MTIME, forceDosTimestamp: true } as const;

export interface ZipDirectoryOptions {
  /**
   * Called with each path relative to the directory, '/'-separated, directories without a
   * trailing slash. Returning true leaves the path out (for a directory, everything below it).
   */
  ignore?: (relPath: string) => boolean;
}

/**
 * Zips a directory for `kumo deploy` and tests. Entries are sorted, timestamps fixed and modes
 * normalized to 0o755 (files with any x bit) / 0o644 / directories 0o755, so the same tree gives
 * the same bytes whoever zips it, while the executable bit survives. Every directory gets its own
 * entry, empty ones included. Symbolic links are followed and stored as what they point to (as
 * `zip` does by default), since Kumo refuses symlink entries; a broken link, a cycle, or anything
 * that is neither a file nor a directory is an error rather than silently skipped.
 */
export async function zipDirectory(dir: string, options: ZipDirectoryOptions = {}): Promise<Buffer> {
  const root = path.resolve(dir);
  if (!(await stat(root)).isDirectory()) throw new Error(`not a directory: ${root}`);
  const items: Array<{ relPath: string; absPath: string; kind: 'file' | 'directory'; mode: number }> = [];

  const walk = async (absDir: string, relDir: string, ancestors: ReadonlySet<string>): Promise<void> => {
    for (const name of await readdir(absDir)) {
      const relPath = relDir === '' ? name : `${relDir}/${name}`;
      if (options.ignore?.(relPath)) continue;
      const absPath = path.join(absDir, name);
      let stats;
      try {
        stats = await stat(absPath);
      } catch (err) {
        throw new Error(`cannot zip '${relPath}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      if (stats.isDirectory()) {
        const real = await realpath(absPath);
        if (ancestors.has(real)) throw new Error(`cannot zip '${relPath}': symbolic link cycle`);
        items.push({ relPath, absPath, kind: 'directory', mode: 0o755 });
        await walk(absPath, relPath, new Set([...ancestors, real]));
      } else if (stats.isFile()) {
        items.push({ relPath, absPath, kind: 'file', mode: (stats.mode & 0o111) !== 0 ? 0o755 : 0o644 });
      } else {
        throw new Error(`cannot zip '${relPath}': not a regular file or directory`);
      }
    }
  };
  await walk(root, '', new Set([await realpath(root)]));

  // Plain code-unit order: the same on every machine, unlike localeCompare.
  items.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  const zip = new yazl.ZipFile();
  for (const item of items) {
    if (item.kind === 'directory') zip.addEmptyDirectory(item.relPath, { ...ENTRY_OPTIONS, mode: S_IFDIR | item.mode });
    else zip.addFile(item.absPath, item.relPath, { ...ENTRY_OPTIONS, mode: S_IFREG | item.mode });
  }
  return finish(zip);
}

export interface ZipEntrySpec {
  /** '/'-separated; a trailing '/' makes a directory entry. */
  name: string;
  content: string | Buffer;
  /**
   * Unix mode. Permission bits alone (0o755) get the regular-file (or directory) type added; a
   * mode that carries type bits is stored as given. @default 0o644, directories 0o755
   */
  mode?: number;
}

/** Builds a zip from in-memory entries, in the order given, with the same fixed timestamps as zipDirectory. */
export async function zipEntries(entries: ReadonlyArray<ZipEntrySpec>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    if (entry.name.endsWith('/')) {
      zip.addEmptyDirectory(entry.name, { ...ENTRY_OPTIONS, mode: withType(entry.mode ?? 0o755, S_IFDIR) });
    } else {
      const content = typeof entry.content === 'string' ? Buffer.from(entry.content) : entry.content;
      zip.addBuffer(content, entry.name, { ...ENTRY_OPTIONS, mode: withType(entry.mode ?? 0o644, S_IFREG) });
    }
  }
  return finish(zip);
}

function withType(mode: number, type: number): number {
  return (mode & S_IFMT) === 0 ? type | mode : mode;
}

function finish(zip: yazl.ZipFile): Promise<Buffer> {
  const output = buffer(zip.outputStream);
  const failed = new Promise<never>((_, reject) => zip.once('error', reject));
  zip.end();
  return Promise.race([output, failed]);
}
