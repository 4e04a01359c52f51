import crypto from 'node:crypto';
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { writeTransaction } from './tx.js';

/** What a sealed value starts with: the scheme, so that another can follow. */
const PREFIX = 'kumo-aes-256-gcm-v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encryption of secrets at rest (functions' environment variables, signing profiles' private keys): AES-256-GCM with a random
 * nonce per value, and the row the value belongs to as additional authenticated data, so that a
 * value copied to another row does not open. The key is 32 random bytes in the data directory.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** The key in `file`, created (0600) on first use. */
  static fromKeyFile(file: string): SecretBox {
    try {
      fs.writeFileSync(file, crypto.randomBytes(32), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    fs.chmodSync(file, 0o600);
    const key = fs.readFileSync(file);
    if (key.length !== 32) throw new Error(`${file} is not a Kumo secrets key (32 bytes); it has ${key.length}`);
    return new SecretBox(key);
  }

  /** A key that lives as long as the process (an in-memory store). */
  static ephemeral(): SecretBox {
    return new SecretBox(crypto.randomBytes(32));
  }

  seal(plaintext: string, context: string): string {
    const nonce = crypto.randomBytes(NONCE_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64');
  }

  open(sealed: string, context: string): string {
    if (!isSealed(sealed)) throw new Error('not a sealed value');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

/**
 * Seals the environment variables of rows written before Kumo encrypted them (plaintext JSON
 * objects in `function_versions.config`). Returns how many rows it sealed (see `sealInPlace`).
 */
export function sealPlaintextRows(db: Database.Database, seal: (config: string, name: string, version: string) => string): number {
  const rows = db
    .prepare<[], { name: string; version: string; config: string }>(
      "SELECT name, version, config FROM function_versions WHERE json_type(config, '$.environment') = 'object'",
    )
    .all();
  const update = db.prepare<[string, string, string]>('UPDATE function_versions SET config = ? WHERE name = ? AND version = ?');
  return sealInPlace(db, rows, (row) => update.run(seal(row.config, row.name, row.version), row.name, row.version));
}

/**
 * Rewrites `rows` (plaintext secrets found at start) with `rewrite` in one transaction, then
 * overwrites what the plaintext left behind: freed space in the database file (secure_delete and
 * VACUUM) and the old pages in the WAL (a truncating checkpoint). Returns how many rows it rewrote.
 */
export function sealInPlace<Row>(db: Database.Database, rows: readonly Row[], rewrite: (row: Row) => void): number {
  if (rows.length === 0) return 0;
  db.pragma('secure_delete = ON');
  writeTransaction(db, () => {
    for (const row of rows) rewrite(row);
  })();
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
  return rows.length;
}
