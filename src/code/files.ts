import { randomBytes } from 'node:crypto';
import { chmod, lstat, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Prefix of every temporary file and directory the store makes inside its directory. */
export const TEMP_PREFIX = '.tmp-';

export function tempName(dir: string, suffix = ''): string {
  return path.join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}${suffix}`);
}

/**
 * Writes `data` to `target` so that readers see either nothing or the whole file: a temporary
 * file in the same directory, fsync, rename, then fsync of the directory so the rename survives
 * a crash.
 */
export async function writeFileAtomic(target: string, data: Buffer, mode: number): Promise<void> {
  const dir = path.dirname(target);
  const temp = tempName(dir, path.extname(target));
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(data);
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDirectory(dir);
}

export async function fsyncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

/**
 * Deletes a file or directory tree, including the read-only trees extraction leaves (a directory
 * without write permission cannot have entries removed, so each one is made writable first).
 * Never follows symbolic links. A missing path is not an error.
 */
export async function removeTree(target: string): Promise<void> {
  await makeWritable(target);
  await rm(target, { recursive: true, force: true });
}

async function makeWritable(target: string): Promise<void> {
  try {
    const stats = await lstat(target);
    if (!stats.isDirectory()) return;
    await chmod(target, 0o700);
    for (const entry of await readdir(target, { withFileTypes: true })) {
      if (entry.isDirectory()) await makeWritable(path.join(target, entry.name));
    }
  } catch (err) {
    // Gone meanwhile (renamed into place or removed by its writer): nothing left to remove here.
    if (isErrnoException(err) && err.code === 'ENOENT') return;
    throw err;
  }
}

/** Removes a file if it exists; reports whether it did. */
export async function unlinkIfExists(target: string): Promise<boolean> {
  try {
    await unlink(target);
    return true;
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return false;
    throw err;
  }
}

export function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}
