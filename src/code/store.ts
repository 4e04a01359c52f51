import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KumoError, isKumoError } from '../errors/index.js';
import { extractZip } from './extract.js';
import { TEMP_PREFIX, isErrnoException, removeTree, tempName, unlinkIfExists, writeFileAtomic } from './files.js';
import { DEFAULT_LIMITS, readZip, type ZipLimits } from './reader.js';

/** A stored code archive, as Lambda describes one (`CodeSha256` is `sha256Base64`, `CodeSize` is `size`). */
export interface CodeArtifact {
  sha256Hex: string;
  sha256Base64: string;
  /** Bytes of the zip. */
  size: number;
  /** Sum of the extracted files' sizes. */
  unzippedSize: number;
}

/** Per-call limits for `put`; unset fields take Lambda's values (50 MB zipped, 250 MB unzipped, 100,000 entries). */
export interface PutLimits {
  maxZippedBytes?: number;
  maxUnzippedBytes?: number;
  /** Not a Lambda limit: a guard against archives of millions of empty entries. */
  maxEntries?: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A content-addressed store of function code archives under one directory:
 *
 *     <dir>/<sha256hex>.zip   the archive, exactly as uploaded (read-only)
 *     <dir>/<sha256hex>/      its extracted tree, read-only, made on first use
 *     <dir>/.tmp-*            work in progress; removed by `create()`
 *
 * Everything appears by rename, so a path that exists is complete. One CodeStore owns its
 * directory: `create()` deletes temporaries it finds there, which would break another process
 * writing to the same directory at that moment.
 */
export class CodeStore {
  /** Extractions in flight or done, so concurrent callers share one. */
  private readonly extractions = new Map<string, Promise<string>>();
  /** Archives being written by `put`; `prune` leaves them alone. */
  private readonly writing = new Map<string, number>();
  /** Extractions not settled yet, whether or not `extractions` still lists them (`prune` drops them); `close` waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(private readonly dir: string) {}

  /** Opens (creating if needed) the store in `dir`, usually `<dataDir>/code`. */
  static async create(dir: string): Promise<CodeStore> {
    const absolute = path.resolve(dir);
    await mkdir(absolute, { recursive: true });
    for (const name of await readdir(absolute)) {
      if (name.startsWith(TEMP_PREFIX)) await removeTree(path.join(absolute, name));
    }
    // Node.js decides whether a .js file is CommonJS or ESM from the nearest package.json above it.
    // On Lambda nothing sits above /var/task; here the code directory may live inside a project
    // with "type": "module" (the default ./.kumo in Kumo's own checkout), so shield it.
    await writeFile(path.join(absolute, 'package.json'), '{}\n');
    return new CodeStore(absolute);
  }

  /**
   * Validates `zip` (see readZip: size limits, structure, every entry's name and type, and every
   * byte inflated against its declared size and CRC) and stores it. Putting the same bytes again
   * validates them again (limits may differ) but does not rewrite the file.
   *
   * @throws KumoError when the archive is refused; nothing is left behind then.
   */
  async put(zip: Buffer, limits: PutLimits = {}): Promise<CodeArtifact> {
    const { unzippedSize } = await readZip(zip, compileLimits(limits));
    const digest = createHash('sha256').update(zip).digest();
    const sha256Hex = digest.toString('hex');
    const target = this.zipPath(sha256Hex);
    this.writing.set(sha256Hex, (this.writing.get(sha256Hex) ?? 0) + 1);
    try {
      if (!existsSync(target)) await writeFileAtomic(target, zip, 0o444);
    } finally {
      const left = (this.writing.get(sha256Hex) ?? 1) - 1;
      if (left === 0) this.writing.delete(sha256Hex);
      else this.writing.set(sha256Hex, left);
    }
    return { sha256Hex, sha256Base64: digest.toString('base64'), size: zip.length, unzippedSize };
  }

  zipPath(sha256Hex: string): string {
    return path.join(this.dir, `${checkSha(sha256Hex)}.zip`);
  }

  has(sha256Hex: string): boolean {
    return SHA256_HEX.test(sha256Hex) && existsSync(this.zipPath(sha256Hex));
  }

  /**
   * The directory holding the archive's extracted, read-only tree. The first call extracts (into
   * a temporary directory renamed into place); later and concurrent calls share that work.
   *
   * @throws KumoError `InvalidZipFileException` when the stored archive no longer matches its
   * hash or cannot be unpacked; a plain Error when there is no such archive, or when the store
   * is closed and the tree not extracted yet.
   */
  extracted(sha256Hex: string): Promise<string> {
    checkSha(sha256Hex);
    const existing = this.extractions.get(sha256Hex);
    if (existing) return existing;
    if (this.closed) return Promise.reject(new Error(`the code store is closed: cannot extract ${sha256Hex}`));
    const extraction = this.extract(sha256Hex);
    this.extractions.set(sha256Hex, extraction);
    const settled = extraction.catch(() => undefined).finally(() => this.inFlight.delete(settled));
    this.inFlight.add(settled);
    // A failed extraction is not cached: the next call tries again.
    void extraction.catch(() => {
      if (this.extractions.get(sha256Hex) === extraction) this.extractions.delete(sha256Hex);
    });
    return extraction;
  }

  /**
   * Deletes every archive, and extracted tree, whose sha is not in `keep`, except archives a
   * `put` in this process is writing right now. Returns how many shas were removed.
   *
   * The caller decides what is live, and must not run prune concurrently with a put whose sha
   * it has not yet recorded (a put of bytes already stored writes nothing, so only the caller
   * knows they are wanted again). `keep` must also cover code that running environments still
   * execute from: their tree is deleted too.
   */
  async prune(keep: ReadonlySet<string>): Promise<number> {
    const shas = new Set<string>();
    for (const name of await readdir(this.dir)) {
      const sha = name.endsWith('.zip') ? name.slice(0, -'.zip'.length) : name;
      if (SHA256_HEX.test(sha)) shas.add(sha);
    }
    let removed = 0;
    for (const sha of shas) {
      if (keep.has(sha) || this.writing.has(sha)) continue;
      // Let an extraction in flight finish, so it does not rename a tree into place afterwards.
      const extraction = this.extractions.get(sha);
      if (extraction) {
        this.extractions.delete(sha);
        await extraction.catch(() => undefined);
        if (keep.has(sha) || this.writing.has(sha)) continue;
      }
      await unlinkIfExists(path.join(this.dir, `${sha}.zip`));
      await removeTree(path.join(this.dir, sha));
      removed++;
    }
    return removed;
  }

  /**
   * Refuses new extractions and waits until none is in flight, so none writes into the directory
   * after its owner has closed (a new CodeStore on the same directory deletes temporaries it
   * finds there).
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async extract(sha256Hex: string): Promise<string> {
    const target = path.join(this.dir, sha256Hex);
    if (await isDirectory(target)) return target;

    let zip: Buffer;
    try {
      zip = await readFile(this.zipPath(sha256Hex));
    } catch (err) {
      if (isErrnoException(err) && err.code === 'ENOENT') throw new Error(`code archive ${sha256Hex} is not in the store`, { cause: err });
      throw err;
    }
    // The bytes were validated when they were put, under whatever limits applied then. Checking
    // the hash proves these are those bytes, so extraction need not guess the limits again.
    if (createHash('sha256').update(zip).digest('hex') !== sha256Hex) {
      throw invalidZip(sha256Hex, new Error('the stored archive does not match its SHA-256'));
    }

    const temp = tempName(this.dir);
    await mkdir(temp, { mode: 0o700 });
    try {
      await extractZip(zip, temp, { maxZippedBytes: Infinity, maxUnzippedBytes: Infinity, maxEntries: Infinity });
      await rename(temp, target);
      return target;
    } catch (err) {
      await removeTree(temp);
      // Another process sharing the directory got there first; its tree is as good as ours.
      if (isErrnoException(err) && (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') && (await isDirectory(target))) return target;
      throw isKumoError(err) ? invalidZip(sha256Hex, err) : err;
    }
  }
}

function compileLimits(limits: PutLimits): ZipLimits {
  const compiled: ZipLimits = {
    maxZippedBytes: limits.maxZippedBytes ?? DEFAULT_LIMITS.maxZippedBytes,
    maxUnzippedBytes: limits.maxUnzippedBytes ?? DEFAULT_LIMITS.maxUnzippedBytes,
    maxEntries: limits.maxEntries ?? DEFAULT_LIMITS.maxEntries,
  };
  for (const [key, value] of Object.entries(compiled)) {
    if (!(value >= 0)) throw new RangeError(`code limit ${key} must be a non-negative number, got ${value}`);
  }
  return compiled;
}

function checkSha(sha256Hex: string): string {
  // The sha becomes a path: anything but 64 lowercase hex digits is a bug in the caller.
  if (!SHA256_HEX.test(sha256Hex)) throw new Error(`not a lowercase hex SHA-256: ${JSON.stringify(sha256Hex)}`);
  return sha256Hex;
}

/** Lambda's error when a function's stored code cannot be unpacked at invoke time. */
function invalidZip(sha256Hex: string, cause: unknown): KumoError {
  return new KumoError('InvalidZipFileException', `Could not unpack the function's code (CodeSha256 hex ${sha256Hex}).`, { cause });
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch (err) {
    if (isErrnoException(err) && err.code === 'ENOENT') return false;
    throw err;
  }
}
