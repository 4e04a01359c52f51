import type Database from 'better-sqlite3';

/** A statement function's shape, as better-sqlite3 types transactions. */
type TransactionFn = Parameters<Database.Database['transaction']>[0];

/**
 * A transaction that takes SQLite's write lock when it begins (BEGIN IMMEDIATE), waiting for it
 * under the connection's busy timeout. Kumo's database has more than one connection (the async
 * event queue writes through its own, and WAL checkpoints run in a worker thread), and a deferred
 * transaction that reads and then writes cannot wait: if the log moved on since its read, SQLite
 * answers SQLITE_BUSY at once. Every transaction that writes goes through here.
 */
export function writeTransaction<F extends TransactionFn>(db: Database.Database, fn: F): Database.Transaction<F>['immediate'] {
  const tx = db.transaction(fn);
  return (...args) => tx.immediate(...args);
}
