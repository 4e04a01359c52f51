import crypto from 'node:crypto';
import { DEFAULT_LIMITS, readZip, type ZipLimits } from './reader.js';

/** One entry of an archive with the sha256 of its content (empty for a directory). */
export interface ZipEntryDigest {
  readonly name: string;
  readonly kind: 'file' | 'directory';
  readonly unixMode: number;
  readonly sha256Hex: string;
}

/**
 * Reads an untrusted zip once, as the code store does (same checks, same limits), hashing every
 * file's content as it streams by. The content of the entries `keep` selects is returned as well
 * (a signature file, or everything for a tool that rewrites the archive).
 */
export async function digestZip(
  zip: Buffer,
  keep: (name: string) => boolean = () => false,
  limits: ZipLimits = DEFAULT_LIMITS,
): Promise<{ entries: ZipEntryDigest[]; kept: Map<string, Buffer> }> {
  const hashes = new Map<string, string>();
  const kept = new Map<string, Buffer>();
  const contents = await readZip(zip, limits, async (entry, data) => {
    const hash = crypto.createHash('sha256');
    const chunks: Buffer[] | undefined = keep(entry.name) ? [] : undefined;
    for await (const chunk of data) {
      hash.update(chunk);
      chunks?.push(chunk);
    }
    hashes.set(entry.name, hash.digest('hex'));
    if (chunks) kept.set(entry.name, Buffer.concat(chunks));
  });
  const empty = crypto.createHash('sha256').digest('hex');
  const entries = contents.entries.map((e) => ({
    name: e.name,
    kind: e.kind,
    unixMode: e.unixMode,
    sha256Hex: hashes.get(e.name) ?? empty,
  }));
  return { entries, kept };
}
