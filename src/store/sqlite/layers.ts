import type Database from 'better-sqlite3';
import type { LayerRepo, LayerVersionRecord } from '../types.js';
import { writeTransaction } from './tx.js';

interface LayerVersionRow {
  name: string;
  version: number;
  description: string;
  runtimes: string | null;
  architectures: string | null;
  license_info: string | null;
  code_sha256: string;
  code_size: number;
  code_unzipped: number;
  created_at: number;
}

function toRecord(row: LayerVersionRow): LayerVersionRecord {
  return {
    layerName: row.name,
    version: row.version,
    description: row.description,
    compatibleRuntimes: row.runtimes === null ? undefined : (JSON.parse(row.runtimes) as string[]),
    compatibleArchitectures: row.architectures === null ? undefined : (JSON.parse(row.architectures) as string[]),
    licenseInfo: row.license_info ?? undefined,
    codeSha256Hex: row.code_sha256,
    codeSize: row.code_size,
    codeUnzippedSize: row.code_unzipped,
    createdAt: row.created_at,
  };
}

function statements(db: Database.Database) {
  return {
    nextVersion: db.prepare<[string], { last_version: number }>(
      `INSERT INTO layers (name, last_version) VALUES (?, 1)
       ON CONFLICT (name) DO UPDATE SET last_version = last_version + 1 RETURNING last_version`,
    ),
    insert: db.prepare<[LayerVersionRow]>(
      `INSERT INTO layer_versions (name, version, description, runtimes, architectures, license_info, code_sha256, code_size, code_unzipped, created_at)
       VALUES (@name, @version, @description, @runtimes, @architectures, @license_info, @code_sha256, @code_size, @code_unzipped, @created_at)`,
    ),
    get: db.prepare<[string, number], LayerVersionRow>('SELECT * FROM layer_versions WHERE name = ? AND version = ?'),
    versions: db.prepare<[string], LayerVersionRow>('SELECT * FROM layer_versions WHERE name = ? ORDER BY version DESC'),
    names: db.prepare<[], { name: string }>('SELECT DISTINCT name FROM layer_versions ORDER BY name'),
    delete: db.prepare<[string, number]>('DELETE FROM layer_versions WHERE name = ? AND version = ?'),
    policy: db.prepare<[string, number], { statements: string; revision_id: string }>(
      'SELECT statements, revision_id FROM layer_policies WHERE name = ? AND version = ?',
    ),
    putPolicy: db.prepare<[string, number, string, string]>(
      `INSERT INTO layer_policies (name, version, statements, revision_id) VALUES (?, ?, ?, ?)
       ON CONFLICT (name, version) DO UPDATE SET statements = excluded.statements, revision_id = excluded.revision_id`,
    ),
    deletePolicy: db.prepare<[string, number]>('DELETE FROM layer_policies WHERE name = ? AND version = ?'),
  };
}

/** Layers in `layers`, `layer_versions` and `layer_policies` (migration 7). */
export function sqliteLayerRepo(db: Database.Database): LayerRepo {
  const s = statements(db);
  const publish = writeTransaction(db, (record: Omit<LayerVersionRecord, 'version'>): LayerVersionRecord => {
    const version = s.nextVersion.get(record.layerName)?.last_version ?? 1;
    s.insert.run({
      name: record.layerName,
      version,
      description: record.description,
      runtimes: record.compatibleRuntimes === undefined ? null : JSON.stringify(record.compatibleRuntimes),
      architectures: record.compatibleArchitectures === undefined ? null : JSON.stringify(record.compatibleArchitectures),
      license_info: record.licenseInfo ?? null,
      code_sha256: record.codeSha256Hex,
      code_size: record.codeSize,
      code_unzipped: record.codeUnzippedSize,
      created_at: record.createdAt,
    });
    return { ...record, version };
  });
  const putPolicy = writeTransaction(
    db,
    (name: string, version: number, list: ReadonlyArray<Record<string, unknown>>, expected: string | undefined, next: string): boolean => {
      if (!s.get.get(name, version)) return false;
      if (s.policy.get(name, version)?.revision_id !== expected) return false;
      if (list.length === 0) s.deletePolicy.run(name, version);
      else s.putPolicy.run(name, version, JSON.stringify(list), next);
      return true;
    },
  );
  return {
    publish: (record) => Promise.resolve(publish(record)),
    get: (name, version) => {
      const row = s.get.get(name, version);
      return Promise.resolve(row ? toRecord(row) : undefined);
    },
    versions: (name) => Promise.resolve(s.versions.all(name).map(toRecord)),
    names: () => Promise.resolve(s.names.all().map((r) => r.name)),
    delete: (name, version) => Promise.resolve(s.delete.run(name, version).changes > 0),
    policy: (name, version) => {
      const row = s.policy.get(name, version);
      return Promise.resolve(
        row ? { statements: JSON.parse(row.statements) as Array<Record<string, unknown>>, revisionId: row.revision_id } : undefined,
      );
    },
    putPolicy: (name, version, list, expected, next) => Promise.resolve(putPolicy(name, version, list, expected, next)),
  };
}
