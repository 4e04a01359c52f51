/**
 * Data directories from earlier versions open with today's schema. One kind needs care: those made
 * while migration 3 (the queue tables) was an empty placeholder, which are past user_version 3
 * without the queue tables.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/adapter.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-migrations-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a database made while migration 3 was an empty placeholder gets the queue tables and opens', async () => {
  const file = path.join(dir, 'placeholder.db');
  const old = new Database(file);
  old.pragma('journal_mode = WAL');
  for (const [i, sql] of MIGRATIONS.slice(0, 4).entries()) old.exec(i === 2 ? '' : sql);
  old.pragma('user_version = 4');
  old.close();

  const store = openSqliteStore(file);
  try {
    const db = new Database(file, { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'sqs_%' ORDER BY name").all();
    assert.deepEqual(tables, [{ name: 'sqs_dedup' }, { name: 'sqs_messages' }, { name: 'sqs_queues' }]);
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    db.close();
  } finally {
    await store.close();
  }
});

test('a new database runs every migration, the repeated queue tables included, without error', async () => {
  const store = openSqliteStore(path.join(dir, 'new.db'));
  await store.close();
});

test('migration 11 keeps what a version-10 database holds: a reservation stays, the new settings start unset', async () => {
  const file = path.join(dir, 'v10.db');
  const old = new Database(file);
  old.pragma('journal_mode = WAL');
  for (const sql of MIGRATIONS.slice(0, 10)) old.exec(sql);
  old.pragma('user_version = 10');
  old.prepare("INSERT INTO function_settings (name, reserved_concurrency, last_version) VALUES ('f', 7, 2)").run();
  old.close();

  const store = openSqliteStore(file);
  try {
    assert.deepEqual([...(await store.functions.reservedConcurrency())], [['f', 7]]);
    assert.equal(await store.settings.recursiveLoop('f'), undefined);
    assert.equal(await store.settings.runtimeManagement('f', '$LATEST'), undefined);
    // No function 'f' exists (only its settings row): the settings' writes refuse to store for it.
    assert.equal(await store.settings.setRecursiveLoop('f', 'Allow'), false);
    assert.equal(
      await store.settings.setRuntimeManagement('f', '$LATEST', { updateRuntimeOn: 'Auto', runtimeVersionArn: undefined }),
      false,
    );
  } finally {
    await store.close();
  }
});
