import type Database from 'better-sqlite3';
import type { ProvisionedConcurrencyRecord, ProvisionedConcurrencyRepo } from '../types.js';

interface ProvisionedRow {
  name: string;
  qualifier: string;
  requested: number;
  last_modified: number;
}

function toRecord(r: ProvisionedRow): ProvisionedConcurrencyRecord {
  return { functionName: r.name, qualifier: r.qualifier, requested: r.requested, lastModified: r.last_modified };
}

/** Provisioned concurrency configs in `provisioned_concurrency` (migration 9). Single statements: each is atomic on its own. */
export function sqliteProvisionedRepo(db: Database.Database): ProvisionedConcurrencyRepo {
  const s = {
    all: db.prepare<[], ProvisionedRow>('SELECT * FROM provisioned_concurrency ORDER BY name, qualifier'),
    of: db.prepare<[string], ProvisionedRow>('SELECT * FROM provisioned_concurrency WHERE name = ? ORDER BY qualifier'),
    put: db.prepare<[ProvisionedRow]>(
      `INSERT INTO provisioned_concurrency (name, qualifier, requested, last_modified) VALUES (@name, @qualifier, @requested, @last_modified)
       ON CONFLICT (name, qualifier) DO UPDATE SET requested = excluded.requested, last_modified = excluded.last_modified`,
    ),
    delete: db.prepare<[string, string]>('DELETE FROM provisioned_concurrency WHERE name = ? AND qualifier = ?'),
  };
  return {
    list: (functionName) => Promise.resolve((functionName === undefined ? s.all.all() : s.of.all(functionName)).map(toRecord)),
    put: (r) => {
      s.put.run({ name: r.functionName, qualifier: r.qualifier, requested: r.requested, last_modified: r.lastModified });
      return Promise.resolve();
    },
    delete: (name, qualifier) => Promise.resolve(s.delete.run(name, qualifier).changes > 0),
  };
}
