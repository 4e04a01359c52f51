import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { isKumoError } from '../errors/index.js';
import { S_IFDIR, S_IFLNK, S_IFMT, entryPathSegments } from './entry-name.js';
import {
  displayName,
  entryConflicts,
  entryDuplicated,
  entryIsSymlink,
  entryNamesRoot,
  emptyZip,
  tooManyEntries,
  unsupportedEntry,
  unzipFailed,
  unzippedTooLarge,
  zippedTooLarge,
} from './messages.js';

/** Limits on an untrusted archive. */
export interface ZipLimits {
  /** Bytes of the zip itself. */
  maxZippedBytes: number;
  /** Sum of the entries' sizes, declared and actual. */
  maxUnzippedBytes: number;
  /** Entries in the central directory (directories included). */
  maxEntries: number;
}

/** Lambda's limits for a directly uploaded archive, plus a cap on entries against entry-count bombs. */
export const DEFAULT_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxZippedBytes: 52_428_800,
  maxUnzippedBytes: 262_144_000,
  maxEntries: 100_000,
});

/** One entry that passed the metadata checks. */
export interface ZipEntryInfo {
  /** The name as stored in the archive (decoded). */
  readonly name: string;
  /** Its path below the function's root; see `entryPathSegments`. */
  readonly segments: readonly string[];
  readonly kind: 'file' | 'directory';
  /** Unix mode from the external attributes; 0 when the archiver recorded none (e.g. on Windows). */
  readonly unixMode: number;
  /** Declared uncompressed size; the data is checked to match it exactly. */
  readonly size: number;
}

/**
 * Receives one file entry's data. `data` yields the inflated bytes and throws a KumoError when the
 * data is bad (corrupt, bigger than declared, CRC mismatch); the sink must consume all of it.
 */
export type FileSink = (entry: ZipEntryInfo, data: AsyncIterable<Buffer>) => Promise<void>;

export interface ZipContents {
  readonly entries: readonly ZipEntryInfo[];
  /** Bytes actually inflated (equal to the declared total, which was checked). */
  readonly unzippedSize: number;
}

/**
 * Reads an untrusted zip: checks sizes, the entry count and every entry's name and type against
 * the central directory first, and only then inflates the file entries one by one, in archive
 * order, handing each to `onFile` (or discarding the bytes, which still validates them).
 *
 * Every problem with the archive is a KumoError (see messages.ts); an error thrown by `onFile`
 * itself (say, a full disk) passes through unchanged. yauzl does the zip parsing; its
 * `validateEntrySizes` stays on, and the inflated bytes are counted here as well, so a header that
 * lies about sizes cannot get more bytes past us than the limit.
 */
export async function readZip(zip: Buffer, limits: ZipLimits, onFile?: FileSink): Promise<ZipContents> {
  if (zip.length > limits.maxZippedBytes) throw zippedTooLarge(limits.maxZippedBytes);

  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await yauzl.fromBufferPromise(zip, {
      lazyEntries: true,
      autoClose: false,
      validateEntrySizes: true,
      // Names are decoded below with yauzl's own decoder, but strictly (no `\` → `/` rewriting) and
      // checked by our rules, so a rejected entry gets a message that names it.
      decodeStrings: false,
      strictFileNames: true,
    });
  } catch (err) {
    throw unzipFailed(err);
  }

  try {
    // The count comes from the end-of-central-directory record and yauzl reads exactly that many
    // entries, so checking it before reading any bounds the work of the metadata pass.
    if (zipfile.entryCount === 0) throw emptyZip();
    if (zipfile.entryCount > limits.maxEntries) throw tooManyEntries(zipfile.entryCount, limits.maxEntries);
    const entries = await readCentralDirectory(zipfile, limits);

    const budget = { used: 0, max: limits.maxUnzippedBytes };
    for (const { raw, info } of entries) {
      if (info.kind !== 'file') continue;
      const data = inflate(zipfile, raw, info, budget);
      if (onFile) await onFile(info, data);
      else
        for await (const _ of data) {
          // Discard: inflating is the check.
        }
      if (!data.finished) throw new Error(`file sink returned before consuming zip entry '${displayName(info.name)}'`);
    }
    return { entries: entries.map((e) => e.info), unzippedSize: budget.used };
  } finally {
    zipfile.close();
  }
}

interface CheckedEntry {
  raw: yauzl.Entry;
  info: ZipEntryInfo;
}

async function readCentralDirectory(zipfile: yauzl.ZipFile, limits: ZipLimits): Promise<CheckedEntry[]> {
  const entries: CheckedEntry[] = [];
  // What each path is, and which entry made it so (a file's parent directories are implied).
  const seen = new Map<string, { kind: 'file' | 'directory'; name: string }>();
  let declared = 0;
  try {
    for await (const raw of zipfile.eachEntry()) {
      const info = checkEntry(raw);
      declared += info.size;
      if (declared > limits.maxUnzippedBytes) throw unzippedTooLarge(limits.maxUnzippedBytes);
      recordPath(seen, info);
      entries.push({ raw, info });
    }
  } catch (err) {
    // Our checks throw KumoErrors; anything else is yauzl refusing the archive's structure.
    throw isKumoError(err) ? err : unzipFailed(err);
  }
  return entries;
}

function checkEntry(raw: yauzl.Entry): ZipEntryInfo {
  const name = yauzl.getFileNameLowLevel(raw.generalPurposeBitFlag, raw.fileNameRaw, raw.extraFields, true);
  const segments = entryPathSegments(name);
  const unixMode = raw.externalFileAttributes >>> 16;
  const type = unixMode & S_IFMT;
  if (type === S_IFLNK) throw entryIsSymlink(name);
  const kind = name.endsWith('/') || type === S_IFDIR ? 'directory' : 'file';
  if (kind === 'file') {
    if (segments.length === 0) throw entryNamesRoot(name);
    if (raw.isEncrypted()) throw unsupportedEntry(name, 'entry is encrypted');
    if (raw.compressionMethod !== 0 && raw.compressionMethod !== 8) {
      throw unsupportedEntry(name, `unsupported compression method ${raw.compressionMethod}`);
    }
  }
  return { name, segments, kind, unixMode, size: raw.uncompressedSize };
}

/**
 * Refuses archives whose entries cannot all exist at once: a file that is also a directory (`a`
 * and `a/b`), or the same file twice (which copy would the function see?). Directories may repeat.
 */
function recordPath(seen: Map<string, { kind: 'file' | 'directory'; name: string }>, info: ZipEntryInfo): void {
  for (let i = 1; i < info.segments.length; i++) {
    const parent = info.segments.slice(0, i).join('/');
    const existing = seen.get(parent);
    if (existing === undefined) seen.set(parent, { kind: 'directory', name: info.name });
    else if (existing.kind === 'file') throw entryConflicts(info.name, existing.name);
  }
  if (info.segments.length === 0) return;
  const key = info.segments.join('/');
  const existing = seen.get(key);
  if (existing === undefined) seen.set(key, { kind: info.kind, name: info.name });
  else if (existing.kind !== info.kind) throw entryConflicts(info.name, existing.name);
  else if (info.kind === 'file') throw entryDuplicated(info.name);
}

/** An entry's inflated bytes, checked as they come: total budget, declared size, then CRC-32. */
interface EntryData extends AsyncIterable<Buffer> {
  /** True once every byte was yielded and the entry checked out. */
  readonly finished: boolean;
}

function inflate(zipfile: yauzl.ZipFile, raw: yauzl.Entry, info: ZipEntryInfo, budget: { used: number; max: number }): EntryData {
  let finished = false;
  const data = generate();
  return {
    get finished() {
      return finished;
    },
    [Symbol.asyncIterator]: () => data,
  };

  async function* generate(): AsyncGenerator<Buffer> {
    // A consumer that stops early calls return(), which runs `finally`s but never this `catch`:
    // only errors from yauzl/zlib and our own checks land there.
    try {
      const stream: Readable = await zipfile.openReadStreamPromise(raw);
      let bytes = 0;
      let crc = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        budget.used += chunk.length;
        if (budget.used > budget.max) throw unzippedTooLarge(budget.max);
        if (bytes > info.size)
          throw unzipFailed(new Error(`zip entry '${displayName(info.name)}' inflates past its declared size ${info.size}`));
        crc = crc32(chunk, crc);
        yield chunk;
      }
      if (bytes !== info.size)
        throw unzipFailed(new Error(`zip entry '${displayName(info.name)}' has ${bytes} bytes, declared ${info.size}`));
      if (crc >>> 0 !== raw.crc32 >>> 0) throw unzipFailed(new Error(`zip entry '${displayName(info.name)}' fails its CRC-32 check`));
      finished = true;
    } catch (err) {
      throw isKumoError(err) ? err : unzipFailed(err);
    }
  }
}
