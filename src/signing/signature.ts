import crypto from 'node:crypto';
import type { ZipEntryDigest } from '../code/index.js';

/**
 * How a signature travels with a zip: as a small JSON file at a reserved path inside the archive,
 * `.kumo-signature.json`, signed over a manifest of every *other* entry (name, kind, permission
 * bits, sha256 of the content), so adding the file does not change what it signs, and changing,
 * adding or removing any other entry does.
 */
export const SIGNATURE_PATH = '.kumo-signature.json';

export const SIGNATURE_FORMAT = 'kumo-signature-1';

/** The content of `.kumo-signature.json`. */
export interface SignatureDocument {
  format: typeof SIGNATURE_FORMAT;
  /** The signing profile version that signed (Kumo's stand-in for an AWS Signer profile version). */
  profileVersionArn: string;
  /** ISO 8601. */
  signedAt: string;
  /** sha256 (hex) of the manifest of the archive's other entries. */
  digest: string;
  /** Ed25519 signature (base64) of `signedPayload(...)`. */
  signature: string;
}

/** sha256 of the manifest: one line per entry but the signature, sorted by name. */
export function manifestDigest(entries: readonly ZipEntryDigest[]): string {
  const lines = entries
    .filter((e) => e.name !== SIGNATURE_PATH)
    .map((e) => `${e.kind} ${(e.unixMode & 0o7777).toString(8)} ${e.sha256Hex} ${e.name}\n`)
    .sort();
  return crypto.createHash('sha256').update(lines.join('')).digest('hex');
}

/** The bytes a profile signs: everything in the document but the signature itself. */
export function signedPayload(doc: Pick<SignatureDocument, 'profileVersionArn' | 'signedAt' | 'digest'>): Buffer {
  return Buffer.from(`${SIGNATURE_FORMAT}\n${doc.profileVersionArn}\n${doc.signedAt}\n${doc.digest}\n`);
}

/** Parses a signature file; undefined when it is not one. */
export function parseSignature(raw: Buffer): SignatureDocument | undefined {
  try {
    const doc = JSON.parse(raw.toString('utf8')) as Partial<SignatureDocument>;
    if (
      doc.format === SIGNATURE_FORMAT &&
      typeof doc.profileVersionArn === 'string' &&
      typeof doc.signedAt === 'string' &&
      typeof doc.digest === 'string' &&
      typeof doc.signature === 'string'
    ) {
      return doc as SignatureDocument;
    }
  } catch {
    // not JSON: not a signature
  }
  return undefined;
}
