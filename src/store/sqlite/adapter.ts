import fs from 'node:fs';
import { writeTransaction } from './tx.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FunctionConfig, FunctionRecord, FunctionRepo, LogEvent, LogQuery, LogRepo, LogStreamInfo, Store } from '../types.js';
import { Checkpointer } from './checkpointer.js';
import { deleteEventInvokeConfigsStatement, eventInvokeConfigRepo, openAsyncEvents } from './async-events.js';
import { MIGRATIONS } from './migrations.js';
import { sqlitePolicyRepo, sqliteTagRepo } from './policy.js';
import { sqliteQueueRepo } from './queues.js';
import { sqliteAliasRepo } from './aliases.js';
import { sealPlaintextSigningKeys, sqliteSigningRepo } from './signing.js';
import { sqliteUrlRepo } from './urls.js';
import { sqliteProvisionedRepo } from './provisioned.js';
import { SecretBox, isSealed, sealPlaintextRows } from './secrets.js';
import { sqliteLayerRepo } from './layers.js';
import { sqliteSettingsRepo } from './settings.js';

interface FunctionRow {
  name: string;
  version: string;
  config: string;
  code_sha256: string;
  code_size: number;
  code_unzipped: number;
  revision_id: string;
  created_at: number;
  last_modified: number;
}

interface LogEventRow {
  id: number;
  log_group: string;
  stream: string;
  ts: number;
  ingested: number;
  message: string;
}

interface LogStreamRow {
  log_group: string;
  stream: string;
  created_at: number;
  first_event_at: number | null;
  last_event_at: number | null;
  stored_bytes: number;
}

/**
 * Opens (creating if needed) the SQLite database at `file` (':memory:' for tests) and migrates it.
 * `secrets` seals functions' environment variables (an in-memory store gets a key of its own).
 */
export function openSqliteStore(file: string, secrets: SecretBox = SecretBox.ephemeral()): Store {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  sealPlaintextRows(db, (config, name, version) => sealConfig(openConfig(config, name, version, secrets), name, version, secrets));
  sealPlaintextSigningKeys(db, secrets);
  // WAL checkpoints run in a worker thread, not at commit time on the event loop.
  const checkpointer = file === ':memory:' ? undefined : Checkpointer.start(file);
  if (checkpointer) db.pragma('wal_autocheckpoint = 0');
  const functions = functionRepo(db, secrets);
  const logs = logRepo(db);
  const asyncEvents = openAsyncEvents(file, db);
  const queues = sqliteQueueRepo(db);
  return {
    functions,
    aliases: sqliteAliasRepo(db),
    logs,
    queues,
    policies: sqlitePolicyRepo(db),
    tags: sqliteTagRepo(db),
    signing: sqliteSigningRepo(db, secrets),
    urls: sqliteUrlRepo(db),
    provisioned: sqliteProvisionedRepo(db),
    layers: sqliteLayerRepo(db),
    settings: sqliteSettingsRepo(db),
    asyncEvents,
    eventInvokeConfigs: eventInvokeConfigRepo(db),
    close: async () => {
      asyncEvents.close();
      await checkpointer?.close();
      db.close();
    },
  };
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Sorts `$LATEST` first, then published versions by number (as Lambda lists them). */
const VERSION_ORDER = "(CASE version WHEN '$LATEST' THEN 0 ELSE CAST(version AS INTEGER) END)";

function versionOrder(version: string): number {
  return version === '$LATEST' ? 0 : Number(version);
}

/** A function version's configuration as stored: its environment variables sealed (see secrets.ts). */
type StoredConfig = Omit<FunctionConfig, 'environment'> & { environment: string | Record<string, string> };

/** The row a sealed value belongs to (its additional authenticated data). */
function secretContext(name: string, version: string): string {
  return `function_versions:${name}:${version}:environment`;
}

/** Reads a stored configuration; rows from before encryption hold their variables in plaintext, and still read. */
function openConfig(json: string, name: string, version: string, box: SecretBox): FunctionConfig {
  const stored = JSON.parse(json) as StoredConfig;
  const environment = isSealed(stored.environment)
    ? (JSON.parse(box.open(stored.environment, secretContext(name, version))) as Record<string, string>)
    : typeof stored.environment === 'object'
      ? stored.environment
      : {};
  return { ...stored, environment };
}

function sealConfig(config: FunctionConfig, name: string, version: string, box: SecretBox): string {
  const stored: StoredConfig = { ...config, environment: box.seal(JSON.stringify(config.environment), secretContext(name, version)) };
  return JSON.stringify(stored);
}

function rowToRecord(row: FunctionRow, box: SecretBox): FunctionRecord {
  return {
    name: row.name,
    version: row.version,
    config: openConfig(row.config, row.name, row.version, box),
    codeSha256Hex: row.code_sha256,
    codeSize: row.code_size,
    codeUnzippedSize: row.code_unzipped,
    revisionId: row.revision_id,
    createdAt: row.created_at,
    lastModified: row.last_modified,
  };
}

function recordToRow(r: FunctionRecord, box: SecretBox): FunctionRow {
  return {
    name: r.name,
    version: r.version,
    config: sealConfig(r.config, r.name, r.version, box),
    code_sha256: r.codeSha256Hex,
    code_size: r.codeSize,
    code_unzipped: r.codeUnzippedSize,
    revision_id: r.revisionId,
    created_at: r.createdAt,
    last_modified: r.lastModified,
  };
}

function functionRepo(db: Database.Database, box: SecretBox): FunctionRepo {
  const toRecord = (row: FunctionRow): FunctionRecord => rowToRecord(row, box);
  const toRow = (r: FunctionRecord): FunctionRow => recordToRow(r, box);
  const s = {
    get: db.prepare<[string, string], FunctionRow>('SELECT * FROM function_versions WHERE name = ? AND version = ?'),
    list: db.prepare<[string, number], FunctionRow>(
      "SELECT * FROM function_versions WHERE version = '$LATEST' AND name > ? ORDER BY name LIMIT ?",
    ),
    exists: db.prepare<[string], { n: number }>('SELECT 1 AS n FROM function_versions WHERE name = ? LIMIT 1'),
    insert: db.prepare<[FunctionRow]>(
      `INSERT INTO function_versions (name, version, config, code_sha256, code_size, code_unzipped, revision_id, created_at, last_modified)
       VALUES (@name, @version, @config, @code_sha256, @code_size, @code_unzipped, @revision_id, @created_at, @last_modified)`,
    ),
    replace: db.prepare<[FunctionRow & { expected: string }]>(
      `UPDATE function_versions SET config = @config, code_sha256 = @code_sha256, code_size = @code_size,
         code_unzipped = @code_unzipped, revision_id = @revision_id, last_modified = @last_modified
       WHERE name = @name AND version = @version AND revision_id = @expected`,
    ),
    delete: db.prepare<[string]>('DELETE FROM function_versions WHERE name = ?'),
    deleteVersion: db.prepare<[string, string]>("DELETE FROM function_versions WHERE name = ? AND version = ? AND version <> '$LATEST'"),
    versions: db.prepare<[string], FunctionRow>(`SELECT * FROM function_versions WHERE name = ? ORDER BY ${VERSION_ORDER}`),
    listAll: db.prepare<[{ name: string; order: number; limit: number }], FunctionRow>(
      `SELECT * FROM function_versions WHERE name > @name OR (name = @name AND ${VERSION_ORDER} > @order)
       ORDER BY name, ${VERSION_ORDER} LIMIT @limit`,
    ),
    nextVersion: db.prepare<[string], { last_version: number }>(
      `INSERT INTO function_settings (name, last_version) VALUES (?, 1)
       ON CONFLICT (name) DO UPDATE SET last_version = last_version + 1 RETURNING last_version`,
    ),
    latestRevision: db.prepare<[string], { revision_id: string }>(
      "SELECT revision_id FROM function_versions WHERE name = ? AND version = '$LATEST'",
    ),
    stats: db.prepare<[], { n: number; size: number | null }>(
      'SELECT COUNT(DISTINCT name) AS n, SUM(code_size) AS size FROM function_versions',
    ),
    // A function's layers keep their code after the layer version is deleted (as on Lambda).
    shas: db.prepare<[], { code_sha256: string }>(
      `SELECT code_sha256 FROM function_versions
       UNION SELECT json_extract(l.value, '$.codeSha256Hex') FROM function_versions, json_each(config, '$.layers') AS l
       UNION SELECT code_sha256 FROM layer_versions`,
    ),
    reserved: db.prepare<[], { name: string; reserved_concurrency: number }>(
      'SELECT name, reserved_concurrency FROM function_settings WHERE reserved_concurrency IS NOT NULL',
    ),
    setReserved: db.prepare<[string, number | null]>(
      `INSERT INTO function_settings (name, reserved_concurrency) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET reserved_concurrency = excluded.reserved_concurrency`,
    ),
    deleteSettings: db.prepare<[string]>('DELETE FROM function_settings WHERE name = ?'),
    deleteEventInvokeConfigs: deleteEventInvokeConfigsStatement(db),
  };
  const remove = writeTransaction(db, (name: string): boolean => {
    s.deleteSettings.run(name);
    s.deleteEventInvokeConfigs.run(name);
    return s.delete.run(name).changes > 0;
  });
  const insert = writeTransaction(db, (row: FunctionRow): boolean => {
    if (s.exists.get(row.name)) return false;
    s.insert.run(row);
    return true;
  });
  const publish = writeTransaction(db, (record: Omit<FunctionRecord, 'version'>, expected: string): FunctionRecord | undefined => {
    if (s.latestRevision.get(record.name)?.revision_id !== expected) return undefined;
    const version = String(s.nextVersion.get(record.name)?.last_version ?? 1);
    const stored: FunctionRecord = { ...record, version };
    s.insert.run(toRow(stored));
    return stored;
  });
  return {
    get: (name, version = '$LATEST') => {
      const row = s.get.get(name, version);
      return Promise.resolve(row ? toRecord(row) : undefined);
    },
    list: (afterName, limit) => Promise.resolve(s.list.all(afterName ?? '', limit).map(toRecord)),
    insert: (record) => Promise.resolve(insert(toRow(record))),
    replace: (record, expected) => Promise.resolve(s.replace.run({ ...toRow(record), expected }).changes === 1),
    delete: (name) => Promise.resolve(remove(name)),
    deleteVersion: (name, version) => Promise.resolve(s.deleteVersion.run(name, version).changes > 0),
    versions: (name) => Promise.resolve(s.versions.all(name).map(toRecord)),
    listAll: (after, limit) =>
      Promise.resolve(s.listAll.all({ name: after?.name ?? '', order: after ? versionOrder(after.version) : -1, limit }).map(toRecord)),
    publish: (record, expected) => Promise.resolve(publish(record, expected)),
    stats: () => {
      const row = s.stats.get();
      return Promise.resolve({ functionCount: row?.n ?? 0, totalCodeSize: row?.size ?? 0 });
    },
    referencedCode: () => Promise.resolve(new Set(s.shas.all().map((r) => r.code_sha256))),
    reservedConcurrency: () => Promise.resolve(new Map(s.reserved.all().map((r) => [r.name, r.reserved_concurrency]))),
    setReservedConcurrency: (name, value) => {
      s.setReserved.run(name, value ?? null);
      return Promise.resolve();
    },
  };
}

function logRepo(db: Database.Database): LogRepo {
  const s = {
    insertEvent: db.prepare<[string, string, number, number, string]>(
      'INSERT INTO log_events (log_group, stream, ts, ingested, message) VALUES (?, ?, ?, ?, ?)',
    ),
    upsertStream: db.prepare<[string, string, number, number, number, number]>(
      `INSERT INTO log_streams (log_group, stream, created_at, first_event_at, last_event_at, stored_bytes)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (log_group, stream) DO UPDATE SET
         first_event_at = MIN(COALESCE(first_event_at, excluded.first_event_at), excluded.first_event_at),
         last_event_at = MAX(COALESCE(last_event_at, excluded.last_event_at), excluded.last_event_at),
         stored_bytes = stored_bytes + excluded.stored_bytes`,
    ),
    groups: db.prepare<[{ p: string }], { log_group: string; created_at: number; stored_bytes: number }>(
      `SELECT log_group, MIN(created_at) AS created_at, SUM(stored_bytes) AS stored_bytes FROM log_streams
       WHERE log_group >= @p AND substr(log_group, 1, length(@p)) = @p GROUP BY log_group ORDER BY log_group`,
    ),
    streams: db.prepare<[{ g: string; p: string }], LogStreamRow>(
      `SELECT * FROM log_streams WHERE log_group = @g AND substr(stream, 1, length(@p)) = @p ORDER BY stream`,
    ),
    deleteEvents: db.prepare<[string]>('DELETE FROM log_events WHERE log_group = ?'),
    deleteStreams: db.prepare<[string]>('DELETE FROM log_streams WHERE log_group = ?'),
  };
  const append = writeTransaction(db, (events: readonly LogEvent[]) => {
    const now = Date.now();
    const perStream = new Map<string, { group: string; stream: string; first: number; last: number; bytes: number }>();
    for (const e of events) {
      s.insertEvent.run(e.group, e.stream, e.timestamp, e.ingestionTime ?? now, e.message);
      const key = `${e.group}\u0000${e.stream}`;
      const agg = perStream.get(key);
      const bytes = Buffer.byteLength(e.message) + 26;
      if (agg) {
        agg.first = Math.min(agg.first, e.timestamp);
        agg.last = Math.max(agg.last, e.timestamp);
        agg.bytes += bytes;
      } else perStream.set(key, { group: e.group, stream: e.stream, first: e.timestamp, last: e.timestamp, bytes });
    }
    for (const a of perStream.values()) s.upsertStream.run(a.group, a.stream, now, a.first, a.last, a.bytes);
  });
  const deleteGroup = writeTransaction(db, (group: string) => {
    s.deleteEvents.run(group);
    s.deleteStreams.run(group);
  });
  return {
    append: (events) => {
      if (events.length > 0) append(events);
      return Promise.resolve();
    },
    query: (q: LogQuery) => {
      const where = ['log_group = @group'];
      const params: Record<string, string | number> = { group: q.group, limit: q.limit };
      if (q.streams && q.streams.length > 0) {
        const names = q.streams.map((name, i) => {
          params[`s${i}`] = name;
          return `@s${i}`;
        });
        where.push(`stream IN (${names.join(', ')})`);
      }
      if (q.streamPrefix) {
        where.push('substr(stream, 1, length(@prefix)) = @prefix');
        params.prefix = q.streamPrefix;
      }
      if (q.startTime !== undefined) {
        where.push('ts >= @start');
        params.start = q.startTime;
      }
      if (q.endTime !== undefined) {
        where.push('ts <= @end');
        params.end = q.endTime;
      }
      if (q.afterId !== undefined) {
        where.push(q.descending ? 'id < @after' : 'id > @after');
        params.after = q.afterId;
      }
      if (q.contains) {
        where.push('instr(message, @contains) > 0');
        params.contains = q.contains;
      }
      const sql = `SELECT * FROM log_events WHERE ${where.join(' AND ')} ORDER BY id ${q.descending ? 'DESC' : 'ASC'} LIMIT @limit`;
      const rows = db.prepare<[Record<string, string | number>], LogEventRow>(sql).all(params);
      return Promise.resolve(
        rows.map((r) => ({
          id: r.id,
          group: r.log_group,
          stream: r.stream,
          timestamp: r.ts,
          ingestionTime: r.ingested,
          message: r.message,
        })),
      );
    },
    groups: (prefix = '') =>
      Promise.resolve(
        s.groups.all({ p: prefix }).map((r) => ({ group: r.log_group, createdAt: r.created_at, storedBytes: r.stored_bytes })),
      ),
    streams: (group, prefix = ''): Promise<LogStreamInfo[]> =>
      Promise.resolve(
        s.streams.all({ g: group, p: prefix }).map((r) => ({
          group: r.log_group,
          stream: r.stream,
          createdAt: r.created_at,
          firstEventAt: r.first_event_at,
          lastEventAt: r.last_event_at,
          storedBytes: r.stored_bytes,
        })),
      ),
    deleteGroup: (group) => {
      deleteGroup(group);
      return Promise.resolve();
    },
  };
}
