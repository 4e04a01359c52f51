import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';

test('the async event queue: appends in one turn share a commit; update, remove, payload and pending', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-async-store-'));
  try {
    const store = openStore(dir);
    const event = (n: number) => ({
      requestId: `r-${n}`,
      functionName: 'f',
      qualifier: '$LATEST',
      payload: Buffer.from(`{"n":${n}}`),
      receivedAt: 1000 + n,
    });
    const ids = await Promise.all([1, 2, 3].map((n) => store.asyncEvents.append(event(n))));
    assert.deepEqual(
      ids.map((id) => id - (ids[0] ?? 0)),
      [0, 1, 2],
    );
    // Committed: another connection sees them.
    const other = new Database(path.join(dir, 'kumo.db'), { readonly: true });
    assert.equal((other.prepare('SELECT COUNT(*) AS n FROM async_events').get() as { n: number }).n, 3);
    other.close();

    const [a, b] = ids as [number, number, number];
    await store.asyncEvents.update(a, { invokeCount: 1, functionErrors: 1, throttles: 0, nextAttemptAt: 5000, lastResponse: '{"x":1}' });
    await store.asyncEvents.remove(b);
    assert.deepEqual(await store.asyncEvents.payload(a), Buffer.from('{"n":1}'));
    assert.equal(await store.asyncEvents.payload(b), undefined);
    const pending = await store.asyncEvents.pending();
    assert.deepEqual(
      pending.map((e) => [e.requestId, e.invokeCount, e.functionErrors, e.nextAttemptAt, e.lastResponse]),
      [
        ['r-1', 1, 1, 5000, '{"x":1}'],
        ['r-3', 0, 0, 1003, null],
      ],
    );
    await store.close();

    // A new store on the same directory finds them.
    const again = openStore(dir);
    assert.equal((await again.asyncEvents.pending()).length, 2);
    await again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
