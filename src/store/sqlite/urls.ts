import type Database from 'better-sqlite3';
import type { FunctionUrlRecord, UrlCors, UrlRepo } from '../types.js';

interface UrlRow {
  url_id: string;
  name: string;
  qualifier: string;
  auth_type: string;
  invoke_mode: string;
  cors: string | null;
  created_at: number;
  last_modified: number;
}

function toRecord(row: UrlRow): FunctionUrlRecord {
  return {
    urlId: row.url_id,
    functionName: row.name,
    qualifier: row.qualifier,
    authType: row.auth_type === 'AWS_IAM' ? 'AWS_IAM' : 'NONE',
    invokeMode: row.invoke_mode === 'RESPONSE_STREAM' ? 'RESPONSE_STREAM' : 'BUFFERED',
    cors: row.cors === null ? undefined : (JSON.parse(row.cors) as UrlCors),
    createdAt: row.created_at,
    lastModified: row.last_modified,
  };
}

function toRow(r: FunctionUrlRecord): UrlRow {
  return {
    url_id: r.urlId,
    name: r.functionName,
    qualifier: r.qualifier,
    auth_type: r.authType,
    invoke_mode: r.invokeMode,
    cors: r.cors === undefined ? null : JSON.stringify(r.cors),
    created_at: r.createdAt,
    last_modified: r.lastModified,
  };
}

/**
 * Function URLs in `function_urls` (migration 8). Single statements, each atomic on its own: a
 * create checks in the same statement that the function and the alias still exist, so a URL is
 * never stored for something a concurrent delete has just removed (the delete triggers remove
 * URLs of what they delete).
 */
export function sqliteUrlRepo(db: Database.Database): UrlRepo {
  const s = {
    byId: db.prepare<[string], UrlRow>('SELECT * FROM function_urls WHERE url_id = ?'),
    get: db.prepare<[string, string], UrlRow>('SELECT * FROM function_urls WHERE name = ? AND qualifier = ?'),
    list: db.prepare<[string], UrlRow>('SELECT * FROM function_urls WHERE name = ? ORDER BY created_at, url_id'),
    create: db.prepare<[UrlRow]>(
      `INSERT INTO function_urls (url_id, name, qualifier, auth_type, invoke_mode, cors, created_at, last_modified)
       SELECT @url_id, @name, @qualifier, @auth_type, @invoke_mode, @cors, @created_at, @last_modified
       WHERE EXISTS (SELECT 1 FROM function_versions WHERE name = @name AND version = '$LATEST')
         AND (@qualifier = '$LATEST' OR EXISTS (SELECT 1 FROM function_aliases WHERE name = @name AND alias = @qualifier))
       ON CONFLICT DO NOTHING`,
    ),
    update: db.prepare<[UrlRow]>(
      `UPDATE function_urls SET auth_type = @auth_type, invoke_mode = @invoke_mode, cors = @cors, last_modified = @last_modified
       WHERE url_id = @url_id`,
    ),
    delete: db.prepare<[string, string]>('DELETE FROM function_urls WHERE name = ? AND qualifier = ?'),
  };
  return {
    byId: (urlId) => {
      const row = s.byId.get(urlId);
      return Promise.resolve(row ? toRecord(row) : undefined);
    },
    get: (name, qualifier) => {
      const row = s.get.get(name, qualifier);
      return Promise.resolve(row ? toRecord(row) : undefined);
    },
    list: (name) => Promise.resolve(s.list.all(name).map(toRecord)),
    create: (record) => Promise.resolve(s.create.run(toRow(record)).changes === 1),
    update: (record) => Promise.resolve(s.update.run(toRow(record)).changes === 1),
    delete: (name, qualifier) => Promise.resolve(s.delete.run(name, qualifier).changes === 1),
  };
}
