import { createWriteStream } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { entryEscapesRoot } from './messages.js';
import { readZip, type ZipContents, type ZipLimits } from './reader.js';

/** Mode of an extracted file: read-only for everyone, executable when the archive said any x bit. */
export function extractedFileMode(unixMode: number): number {
  return (unixMode & 0o111) !== 0 ? 0o555 : 0o444;
}
export const EXTRACTED_DIR_MODE = 0o555;

/**
 * Extracts `zip` into `root`, an empty directory the caller made, and leaves a read-only tree:
 * files 0o444 or 0o555, directories (root included) 0o555.
 *
 * Every path is re-resolved and checked to stay below `root` before anything is written, on top
 * of the name checks `readZip` already made. Files are created with O_EXCL inside a directory
 * nobody else writes to, and symlink entries are refused, so no write can follow a link out.
 * On failure `root` is left half-filled; the caller removes it.
 */
export async function extractZip(zip: Buffer, root: string, limits: ZipLimits): Promise<ZipContents> {
  const base = path.resolve(root);
  const directories = new Set<string>([base]);

  const ensureDirectory = async (dir: string): Promise<void> => {
    if (directories.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Record every level, so all of them are made read-only at the end.
    for (let d = dir; d !== base && !directories.has(d); d = path.dirname(d)) directories.add(d);
  };

  const contents = await readZip(zip, limits, async (entry, data) => {
    const target = resolveBelow(base, entry.segments, entry.name);
    await ensureDirectory(path.dirname(target));
    await pipeline(data, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
    await chmod(target, extractedFileMode(entry.unixMode));
  });

  for (const entry of contents.entries) {
    if (entry.kind === 'directory') await ensureDirectory(resolveBelow(base, entry.segments, entry.name, true));
  }
  // Deepest first, so a directory is still writable while its children are changed.
  const deepestFirst = [...directories].sort((a, b) => b.length - a.length);
  for (const dir of deepestFirst) await chmod(dir, EXTRACTED_DIR_MODE);
  return contents;
}

function resolveBelow(base: string, segments: readonly string[], name: string, allowRoot = false): string {
  const target = path.resolve(base, ...segments);
  const relative = path.relative(base, target);
  const escapes = relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  if (escapes || (relative === '' && !allowRoot)) throw entryEscapesRoot(name);
  return target;
}
