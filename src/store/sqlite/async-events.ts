import fs from 'node:fs';
import { writeTransaction } from './tx.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import type {
  AsyncEventHeader,
  AsyncEventProgress,
  AsyncEventRepo,
  EventInvokeConfigRecord,
  EventInvokeConfigRepo,
  NewAsyncEvent,
} from '../types.js';

interface AsyncEventRow {
  id: number;
  request_id: string;
  function_name: string;
  qualifier: string;
  received_at: number;
  invoke_count: number;
  function_errors: number;
  throttles: number;
  next_attempt_at: number;
  last_response: string | null;
}

interface ConfigRow {
  function_name: string;
  qualifier: string;
  max_retry: number | null;
  max_age: number | null;
  on_success: string | null;
  on_failure: string | null;
  last_modified: number;
}

type Op =
  | { kind: 'append'; event: NewAsyncEvent; resolve: (id: number) => void; reject: (err: unknown) => void }
  | { kind: 'update'; id: number; progress: AsyncEventProgress; resolve: () => void; reject: (err: unknown) => void }
  | { kind: 'remove'; id: number; resolve: () => void; reject: (err: unknown) => void };

export interface DurableAsyncEvents extends AsyncEventRepo {
  /** Commits what is batched and closes the dedicated connection. */
  close(): void;
}

/**
 * The async event queue's SQLite side, on its own connection to kumo.db. Every operation of one
 * event-loop turn goes into one transaction (group commit), and its promises settle only once
 * that transaction is on disk, so an event is durable before its 202 goes out.
 *
 * Durability without blocking the event loop: SQLite's `synchronous = FULL` would fsync the WAL
 * inside the commit, on this thread (a third of the server's time under load). Instead the
 * connection commits with `synchronous = OFF` (the frames reach the WAL file with write(2)) and
 * Kumo then calls fdatasync(2) on the WAL file through libuv's thread pool; the batch's promises
 * resolve when that returns. A commit's frames are written before its fdatasync starts, so the
 * result is what FULL gives, while the next batch is already being committed. (A WAL restart
 * needs the log fully checkpointed, and the checkpointer's connection syncs the database file
 * first; the directory is synced once at open so the WAL file itself survives a power loss.)
 * SQLite's busy handler never waits here: both connections live on this thread and each
 * transaction runs to completion synchronously.
 */
export function openAsyncEvents(file: string, shared: Database.Database): DurableAsyncEvents {
  const own = file !== ':memory:';
  const db = own ? new Database(file) : shared;
  let walFd: number | undefined;
  if (own) {
    db.pragma('synchronous = OFF');
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('busy_timeout = 5000');
    db.prepare('SELECT COUNT(*) FROM async_events').get(); // opens the WAL
    walFd = fs.openSync(`${file}-wal`, 'r');
    const dir = fs.openSync(path.dirname(file), 'r');
    fs.fsyncSync(walFd);
    fs.fsyncSync(dir);
    fs.closeSync(dir);
  }
  const s = {
    insert: db.prepare<[string, string, string, Buffer, number, number]>(
      `INSERT INTO async_events (request_id, function_name, qualifier, payload, received_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    update: db.prepare<[number, number, number, number, string | null, number]>(
      `UPDATE async_events SET invoke_count = ?, function_errors = ?, throttles = ?, next_attempt_at = ?, last_response = ?
       WHERE id = ?`,
    ),
    remove: db.prepare<[number]>('DELETE FROM async_events WHERE id = ?'),
    payload: db.prepare<[number], { payload: Buffer }>('SELECT payload FROM async_events WHERE id = ?'),
    pending: db.prepare<[], AsyncEventRow>(
      `SELECT id, request_id, function_name, qualifier, received_at, invoke_count, function_errors, throttles,
              next_attempt_at, last_response FROM async_events ORDER BY id`,
    ),
  };
  const apply = writeTransaction(db, (batch: Op[]): Array<number | undefined> =>
    batch.map((op) => {
      if (op.kind === 'append') {
        const e = op.event;
        return Number(s.insert.run(e.requestId, e.functionName, e.qualifier, e.payload, e.receivedAt, e.receivedAt).lastInsertRowid);
      }
      if (op.kind === 'update') {
        const p = op.progress;
        s.update.run(p.invokeCount, p.functionErrors, p.throttles, p.nextAttemptAt, p.lastResponse, op.id);
      } else s.remove.run(op.id);
      return undefined;
    }),
  );

  let ops: Op[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const batch = ops;
    ops = [];
    if (batch.length === 0) return;
    let results: Array<number | undefined>;
    try {
      results = apply(batch);
    } catch (err) {
      for (const op of batch) op.reject(err);
      return;
    }
    const settle = (err: Error | null): void =>
      batch.forEach((op, i) => {
        if (err) op.reject(err);
        else if (op.kind === 'append') op.resolve(results[i] ?? 0);
        else op.resolve();
      });
    if (walFd === undefined) settle(null);
    else fs.fdatasync(walFd, settle);
  };
  const push = (op: Op): void => {
    ops.push(op);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  return {
    append: (event) => new Promise<number>((resolve, reject) => push({ kind: 'append', event, resolve, reject })),
    update: (id, progress) => new Promise<void>((resolve, reject) => push({ kind: 'update', id, progress, resolve, reject })),
    remove: (id) => new Promise<void>((resolve, reject) => push({ kind: 'remove', id, resolve, reject })),
    payload: (id) => Promise.resolve(s.payload.get(id)?.payload),
    pending: () =>
      Promise.resolve(
        s.pending.all().map((r): AsyncEventHeader => ({
          id: r.id,
          requestId: r.request_id,
          functionName: r.function_name,
          qualifier: r.qualifier,
          receivedAt: r.received_at,
          invokeCount: r.invoke_count,
          functionErrors: r.function_errors,
          throttles: r.throttles,
          nextAttemptAt: r.next_attempt_at,
          lastResponse: r.last_response,
        })),
      ),
    close: () => {
      flush();
      if (walFd !== undefined) {
        fs.fdatasyncSync(walFd);
        fs.closeSync(walFd);
      }
      if (own) db.close();
    },
  };
}

export function eventInvokeConfigRepo(db: Database.Database): EventInvokeConfigRepo {
  const s = {
    get: db.prepare<[string, string], ConfigRow>('SELECT * FROM event_invoke_configs WHERE function_name = ? AND qualifier = ?'),
    put: db.prepare<[ConfigRow]>(
      `INSERT OR REPLACE INTO event_invoke_configs (function_name, qualifier, max_retry, max_age, on_success, on_failure, last_modified)
       VALUES (@function_name, @qualifier, @max_retry, @max_age, @on_success, @on_failure, @last_modified)`,
    ),
    delete: db.prepare<[string, string]>('DELETE FROM event_invoke_configs WHERE function_name = ? AND qualifier = ?'),
    list: db.prepare<[string], ConfigRow>('SELECT * FROM event_invoke_configs WHERE function_name = ? ORDER BY qualifier'),
  };
  const toRecord = (r: ConfigRow): EventInvokeConfigRecord => ({
    functionName: r.function_name,
    qualifier: r.qualifier,
    maximumRetryAttempts: r.max_retry ?? undefined,
    maximumEventAgeInSeconds: r.max_age ?? undefined,
    onSuccess: r.on_success ?? undefined,
    onFailure: r.on_failure ?? undefined,
    lastModified: r.last_modified,
  });
  return {
    get: (name, qualifier) => {
      const row = s.get.get(name, qualifier);
      return Promise.resolve(row ? toRecord(row) : undefined);
    },
    put: (r) => {
      s.put.run({
        function_name: r.functionName,
        qualifier: r.qualifier,
        max_retry: r.maximumRetryAttempts ?? null,
        max_age: r.maximumEventAgeInSeconds ?? null,
        on_success: r.onSuccess ?? null,
        on_failure: r.onFailure ?? null,
        last_modified: r.lastModified,
      });
      return Promise.resolve();
    },
    delete: (name, qualifier) => Promise.resolve(s.delete.run(name, qualifier).changes > 0),
    list: (name) => Promise.resolve(s.list.all(name).map(toRecord)),
  };
}

/** Statements the function repository runs when a function is deleted. */
export function deleteEventInvokeConfigsStatement(db: Database.Database): Database.Statement<[string]> {
  return db.prepare<[string]>('DELETE FROM event_invoke_configs WHERE function_name = ?');
}
