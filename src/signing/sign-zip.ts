import { digestZip, zipEntries } from '../code/index.js';
import { SIGNATURE_PATH, manifestDigest, type SignatureDocument } from './signature.js';

/**
 * Signs a zip: computes the manifest digest of its entries (any earlier signature left out), has
 * `sign` sign it (the server holds the keys), and returns the same entries plus the signature
 * file. The entries keep their names, contents and modes, so the digest still matches.
 */
export async function signZip(zip: Buffer, sign: (digest: string) => Promise<SignatureDocument>): Promise<Buffer> {
  const { entries, kept } = await digestZip(zip, () => true);
  const others = entries.filter((e) => e.name !== SIGNATURE_PATH);
  const doc = await sign(manifestDigest(others));
  return zipEntries([
    ...others.map((e) => ({
      name: e.kind === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name,
      content: kept.get(e.name) ?? Buffer.alloc(0),
      mode: e.unixMode,
    })),
    { name: SIGNATURE_PATH, content: `${JSON.stringify(doc, null, 2)}\n` },
  ]);
}
