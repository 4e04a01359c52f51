import type Database from 'better-sqlite3';
import type { AliasRecord, AliasRepo } from '../types.js';

interface AliasRow {
  name: string;
  alias: string;
  function_version: string;
  description: string;
  weights: string;
  revision_id: string;
}

function toRecord(row: AliasRow): AliasRecord {
  return {
    functionName: row.name,
    name: row.alias,
    functionVersion: row.function_version,
    description: row.description,
    additionalVersionWeights: JSON.parse(row.weights) as Record<string, number>,
    revisionId: row.revision_id,
  };
}

function toRow(r: AliasRecord): AliasRow {
  return {
    name: r.functionName,
    alias: r.name,
    function_version: r.functionVersion,
    description: r.description,
    weights: JSON.stringify(r.additionalVersionWeights),
    revision_id: r.revisionId,
  };
}

/** Function aliases in `function_aliases` (migration 6). Single statements: each is atomic on its own. */
export function sqliteAliasRepo(db: Database.Database): AliasRepo {
  const s = {
    get: db.prepare<[string, string], AliasRow>('SELECT * FROM function_aliases WHERE name = ? AND alias = ?'),
    list: db.prepare<[string], AliasRow>('SELECT * FROM function_aliases WHERE name = ? ORDER BY alias'),
    create: db.prepare<[AliasRow]>(
      `INSERT INTO function_aliases (name, alias, function_version, description, weights, revision_id)
       VALUES (@name, @alias, @function_version, @description, @weights, @revision_id) ON CONFLICT DO NOTHING`,
    ),
    replace: db.prepare<[AliasRow & { expected: string }]>(
      `UPDATE function_aliases SET function_version = @function_version, description = @description, weights = @weights,
         revision_id = @revision_id WHERE name = @name AND alias = @alias AND revision_id = @expected`,
    ),
    delete: db.prepare<[string, string]>('DELETE FROM function_aliases WHERE name = ? AND alias = ?'),
  };
  return {
    get: (functionName, name) => {
      const row = s.get.get(functionName, name);
      return Promise.resolve(row ? toRecord(row) : undefined);
    },
    list: (functionName) => Promise.resolve(s.list.all(functionName).map(toRecord)),
    create: (record) => Promise.resolve(s.create.run(toRow(record)).changes === 1),
    replace: (record, expected) => Promise.resolve(s.replace.run({ ...toRow(record), expected }).changes === 1),
    delete: (functionName, name) => Promise.resolve(s.delete.run(functionName, name).changes === 1),
  };
}
