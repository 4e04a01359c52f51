import type Database from 'better-sqlite3';
import { writeTransaction } from './tx.js';
import type { PolicyRepo, RevisionChange, TagRepo } from '../types.js';

/**
 * SQLite persistence of functions' resource-based policies and tags (tables of migration 5). Lambda
 * gives a function version (or alias) a new RevisionId when its policy or tags change, so each
 * write moves that revision in the same transaction, and only from the revision the caller saw.
 */

function statements(db: Database.Database) {
  return {
    revise: db.prepare<{ name: string; version: string; expected: string; next: string }>(
      'UPDATE function_versions SET revision_id = @next WHERE name = @name AND version = @version AND revision_id = @expected',
    ),
    reviseAlias: db.prepare<{ name: string; version: string; expected: string; next: string }>(
      'UPDATE function_aliases SET revision_id = @next WHERE name = @name AND alias = @version AND revision_id = @expected',
    ),
    getPolicy: db.prepare<[string, string], { statements: string }>(
      'SELECT statements FROM function_policies WHERE name = ? AND qualifier = ?',
    ),
    putPolicy: db.prepare<[string, string, string]>(
      `INSERT INTO function_policies (name, qualifier, statements) VALUES (?, ?, ?)
       ON CONFLICT (name, qualifier) DO UPDATE SET statements = excluded.statements`,
    ),
    deletePolicy: db.prepare<[string, string]>('DELETE FROM function_policies WHERE name = ? AND qualifier = ?'),
    getTags: db.prepare<[string], { tag_key: string; tag_value: string }>(
      'SELECT tag_key, tag_value FROM function_tags WHERE name = ? ORDER BY tag_key',
    ),
    deleteTags: db.prepare<[string]>('DELETE FROM function_tags WHERE name = ?'),
    putTag: db.prepare<[string, string, string]>('INSERT INTO function_tags (name, tag_key, tag_value) VALUES (?, ?, ?)'),
  };
}

export function sqlitePolicyRepo(db: Database.Database): PolicyRepo {
  const s = statements(db);
  const put = writeTransaction(
    db,
    (
      name: string,
      qualifier: string,
      list: ReadonlyArray<Record<string, unknown>>,
      revision: RevisionChange,
      holder: 'version' | 'alias',
    ): boolean => {
      const revise = holder === 'alias' ? s.reviseAlias : s.revise;
      if (revise.run({ name, version: qualifier, ...revision }).changes !== 1) return false;
      if (list.length === 0) s.deletePolicy.run(name, qualifier);
      else s.putPolicy.run(name, qualifier, JSON.stringify(list));
      return true;
    },
  );
  return {
    get: (name, qualifier) => {
      const row = s.getPolicy.get(name, qualifier);
      return Promise.resolve(row ? (JSON.parse(row.statements) as Array<Record<string, unknown>>) : undefined);
    },
    put: (name, qualifier, list, revision, holder) => Promise.resolve(put(name, qualifier, list, revision, holder)),
  };
}

export function sqliteTagRepo(db: Database.Database): TagRepo {
  const s = statements(db);
  const set = writeTransaction(db, (name: string, tags: Record<string, string>, revision: RevisionChange | undefined): boolean => {
    if (revision && s.revise.run({ name, version: '$LATEST', ...revision }).changes !== 1) return false;
    s.deleteTags.run(name);
    for (const [key, value] of Object.entries(tags)) s.putTag.run(name, key, value);
    return true;
  });
  return {
    get: (name) => Promise.resolve(Object.fromEntries(s.getTags.all(name).map((r) => [r.tag_key, r.tag_value]))),
    set: (name, tags, revision) => Promise.resolve(set(name, tags, revision)),
  };
}
