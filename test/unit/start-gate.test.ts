import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StartGate } from '../../src/engine/start-gate.js';

test('StartGate: at most `limit` starts inside; a leaving start hands its place to the first waiting', async () => {
  const gate = new StartGate(2, 60_000);
  const a = await gate.enter();
  const b = await gate.enter();
  const order: string[] = [];
  const c = gate.enter().then((leave) => (order.push('c'), leave));
  const d = gate.enter().then((leave) => (order.push('d'), leave));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'both wait while two are inside');
  assert.equal(gate.waiting, 2);
  a();
  a(); // leaving twice gives up one place only
  const leaveC = await c;
  assert.deepEqual(order, ['c']);
  assert.equal(gate.waiting, 1);
  b();
  const leaveD = await d;
  assert.deepEqual(order, ['c', 'd']);
  leaveC();
  leaveD();
  const e = await gate.enter(); // free again: no wait
  e();
});

test('StartGate: a start that holds its place past holdMs gives it up', async () => {
  const gate = new StartGate(1, 30);
  // The gate's own timer does not keep a process alive (a server is kept alive by its sockets).
  const keepAlive = setTimeout(() => undefined, 10_000);
  await gate.enter(); // never left: the hold time frees the place
  const next = await gate.enter();
  next();
  clearTimeout(keepAlive);
});
