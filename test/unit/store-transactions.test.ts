/**
 * Kumo's database has several connections (the async event queue's, the checkpoint worker's), so a
 * transaction that writes must take the write lock when it begins: a deferred one that reads first
 * gets SQLITE_BUSY at its first write, without waiting, whenever another connection wrote since its
 * read (the queue service answered ReceiveMessage with 500s under load that way).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { writeTransaction } from '../../src/store/sqlite/tx.js';

function open(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 0');
  return db;
}

test('writeTransaction holds the write lock from its first statement (BEGIN IMMEDIATE)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-tx-'));
  const file = path.join(dir, 'db');
  const a = open(file);
  const b = open(file);
  try {
    a.exec('CREATE TABLE t (n INTEGER)');
    const readThenWrite = (db: Database.Database) => () => {
      const before = (db.prepare('SELECT COUNT(*) AS c FROM t').get() as { c: number }).c;
      // Another connection writes between this transaction's read and its write.
      let other: unknown;
      try {
        b.prepare('INSERT INTO t VALUES (1)').run();
      } catch (err) {
        other = err;
      }
      db.prepare('INSERT INTO t VALUES (?)').run(before + 100);
      return other;
    };
    // Deferred (better-sqlite3's default): the other write gets in, and this one then fails at once.
    assert.throws(() => a.transaction(readThenWrite(a))(), /database is locked/);
    // writeTransaction: the other connection is the one told to wait; this one commits.
    const other = writeTransaction(a, readThenWrite(a))();
    assert.match(String(other), /database is locked/);
    assert.equal((a.prepare('SELECT COUNT(*) AS c FROM t WHERE n >= 100').get() as { c: number }).c, 1);
  } finally {
    a.close();
    b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
