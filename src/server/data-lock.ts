import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The lock file in a data directory: the pid of the Kumo using it, then a token of that instance. */
export const LOCK_FILE = 'kumo.lock';

/** A start refused because another Kumo (in this or another process) uses the data directory. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `the data directory ${dataDir} is in use by another Kumo (pid ${pid}${pid === process.pid ? ', this process' : ''}); ` +
        `stop it first, or delete ${path.join(dataDir, LOCK_FILE)} if no Kumo runs there`,
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * Takes the data directory for this Kumo instance: `<dataDir>/kumo.lock` holds its pid and a
 * token. A lock whose pid is not alive (the process crashed) is stale and taken over. Node has no
 * flock, and a pid is all that outlives a crash; a pid reused by an unrelated process keeps the
 * directory locked until the file is deleted (the error says so). Returns the release function,
 * which deletes the file only while it is still this instance's.
 *
 * @throws DataDirInUseError when a live process holds the lock (this process too: another
 * instance on the same directory).
 */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, LOCK_FILE);
  const mine = `${process.pid}\n${crypto.randomBytes(8).toString('hex')}\n`;
  // The file appears complete (by link), so a reader never sees it empty.
  const temp = `${file}.${crypto.randomBytes(6).toString('hex')}`;
  fs.writeFileSync(temp, mine, { mode: 0o600, flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        fs.linkSync(temp, file);
        return () => {
          if (readIfExists(file) === mine) fs.rmSync(file, { force: true });
        };
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
      const holder = readIfExists(file);
      if (holder === undefined) continue; // released meanwhile: try again
      const pid = pidOf(holder);
      if (pid !== undefined && isAlive(pid)) throw new DataDirInUseError(dataDir, pid);
      takeOverStale(file, holder, dataDir);
    }
    throw new Error(`cannot take the lock ${file}: it keeps changing`);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * Removes a stale lock, unless another starting Kumo replaced it meanwhile: it is moved aside
 * (only one mover wins) and checked; a live lock moved by mistake is put back.
 */
function takeOverStale(file: string, stale: string, dataDir: string): void {
  const aside = `${file}.stale-${crypto.randomBytes(6).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return; // another start moved it first
    throw err;
  }
  const moved = readIfExists(aside);
  try {
    if (moved === undefined || moved === stale) return;
    const pid = pidOf(moved);
    if (pid === undefined || !isAlive(pid)) return;
    try {
      fs.linkSync(aside, file);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    throw new DataDirInUseError(dataDir, pid);
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

function pidOf(content: string): number | undefined {
  const pid = Number(content.split('\n', 1)[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, under another user.
    return !isErrno(err, 'ESRCH');
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
