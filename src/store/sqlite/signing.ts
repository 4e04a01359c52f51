import type Database from 'better-sqlite3';
import { isSealed, sealInPlace, type SecretBox } from './secrets.js';
import { writeTransaction } from './tx.js';
import type { CodeSigningConfigRecord, SigningProfileRecord, SigningRepo } from '../types.js';

/**
 * SQLite persistence of code signing (tables of migration 5): signing profiles, configurations,
 * links. A profile's private key is sealed with the data directory's secrets key (secrets.ts), with
 * the profile's name as its context; keys stored in plaintext by an older Kumo are sealed at start.
 */

interface ProfileRow {
  name: string;
  version: string;
  public_key: string;
  private_key: string;
  status: string;
  created_at: number;
  revoked_at: number | null;
}

interface ConfigRow {
  id: string;
  description: string;
  allowed_publishers: string;
  untrusted_action: string;
  last_modified: number;
}

/** The additional authenticated data of a profile's sealed private key. */
function keyContext(name: string): string {
  return `signing-profile:${name}`;
}

function toProfile(r: ProfileRow, box: SecretBox): SigningProfileRecord {
  return {
    name: r.name,
    version: r.version,
    publicKeyPem: r.public_key,
    privateKeyPem: isSealed(r.private_key) ? box.open(r.private_key, keyContext(r.name)) : r.private_key,
    status: r.status === 'Revoked' ? 'Revoked' : 'Active',
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

function toConfig(r: ConfigRow): CodeSigningConfigRecord {
  return {
    id: r.id,
    description: r.description,
    allowedPublishers: JSON.parse(r.allowed_publishers) as string[],
    untrustedArtifactOnDeployment: r.untrusted_action === 'Enforce' ? 'Enforce' : 'Warn',
    lastModified: r.last_modified,
  };
}

/**
 * Seals the private keys an older Kumo stored in plaintext (see `sealInPlace`). Run at open, before
 * anything else uses the database (the WAL checkpoint must not find a checkpointer at work).
 */
export function sealPlaintextSigningKeys(db: Database.Database, box: SecretBox): number {
  const plaintext = db
    .prepare<[], { name: string; private_key: string }>('SELECT name, private_key FROM signing_profiles')
    .all()
    .filter((row) => !isSealed(row.private_key));
  const sealKey = db.prepare<[string, string]>('UPDATE signing_profiles SET private_key = ? WHERE name = ?');
  return sealInPlace(db, plaintext, (row) => sealKey.run(box.seal(row.private_key, keyContext(row.name)), row.name));
}

export function sqliteSigningRepo(db: Database.Database, box: SecretBox): SigningRepo {
  const s = {
    profile: db.prepare<[string], ProfileRow>('SELECT * FROM signing_profiles WHERE name = ?'),
    profiles: db.prepare<[], ProfileRow>('SELECT * FROM signing_profiles ORDER BY name'),
    createProfile: db.prepare<[ProfileRow]>(
      `INSERT OR IGNORE INTO signing_profiles (name, version, public_key, private_key, status, created_at, revoked_at)
       VALUES (@name, @version, @public_key, @private_key, @status, @created_at, @revoked_at)`,
    ),
    revoke: db.prepare<[number, string]>("UPDATE signing_profiles SET status = 'Revoked', revoked_at = ? WHERE name = ?"),
    config: db.prepare<[string], ConfigRow>('SELECT * FROM code_signing_configs WHERE id = ?'),
    configs: db.prepare<[string, number], ConfigRow>('SELECT * FROM code_signing_configs WHERE id > ? ORDER BY id LIMIT ?'),
    putConfig: db.prepare<[ConfigRow]>(
      `INSERT INTO code_signing_configs (id, description, allowed_publishers, untrusted_action, last_modified)
       VALUES (@id, @description, @allowed_publishers, @untrusted_action, @last_modified)
       ON CONFLICT (id) DO UPDATE SET description = excluded.description, allowed_publishers = excluded.allowed_publishers,
         untrusted_action = excluded.untrusted_action, last_modified = excluded.last_modified`,
    ),
    using: db.prepare<[string], { name: string }>('SELECT name FROM function_code_signing WHERE config_id = ? ORDER BY name'),
    deleteConfig: db.prepare<[string]>('DELETE FROM code_signing_configs WHERE id = ?'),
    functionConfig: db.prepare<[string], { config_id: string }>('SELECT config_id FROM function_code_signing WHERE name = ?'),
    setFunctionConfig: db.prepare<[string, string]>(
      `INSERT INTO function_code_signing (name, config_id) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET config_id = excluded.config_id`,
    ),
    unsetFunctionConfig: db.prepare<[string]>('DELETE FROM function_code_signing WHERE name = ?'),
  };
  const deleteConfig = writeTransaction(db, (id: string): boolean => {
    if (s.using.get(id)) return false;
    s.deleteConfig.run(id);
    return true;
  });
  return {
    profile: (name) => {
      const row = s.profile.get(name);
      return Promise.resolve(row ? toProfile(row, box) : undefined);
    },
    profiles: () => Promise.resolve(s.profiles.all().map((r) => toProfile(r, box))),
    createProfile: (p) =>
      Promise.resolve(
        s.createProfile.run({
          name: p.name,
          version: p.version,
          public_key: p.publicKeyPem,
          private_key: box.seal(p.privateKeyPem, keyContext(p.name)),
          status: p.status,
          created_at: p.createdAt,
          revoked_at: p.revokedAt,
        }).changes === 1,
      ),
    revokeProfile: (name, at) => {
      s.revoke.run(at, name);
      return Promise.resolve();
    },
    config: (id) => {
      const row = s.config.get(id);
      return Promise.resolve(row ? toConfig(row) : undefined);
    },
    configs: (afterId, limit) => Promise.resolve(s.configs.all(afterId ?? '', limit).map(toConfig)),
    putConfig: (c) => {
      s.putConfig.run({
        id: c.id,
        description: c.description,
        allowed_publishers: JSON.stringify(c.allowedPublishers),
        untrusted_action: c.untrustedArtifactOnDeployment,
        last_modified: c.lastModified,
      });
      return Promise.resolve();
    },
    deleteConfig: (id) => Promise.resolve(deleteConfig(id)),
    functionConfig: (name) => Promise.resolve(s.functionConfig.get(name)?.config_id),
    setFunctionConfig: (name, id) => {
      if (id === undefined) s.unsetFunctionConfig.run(name);
      else s.setFunctionConfig.run(name, id);
      return Promise.resolve();
    },
    functionsUsing: (id) => Promise.resolve(s.using.all(id).map((r) => r.name)),
  };
}
