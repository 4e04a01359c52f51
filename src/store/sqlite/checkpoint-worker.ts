/**
 * Runs in a worker thread (see checkpointer.ts): checkpoints kumo.db's WAL into the database file
 * off the event loop. A checkpoint copies pages and fsyncs the database file, which takes
 * milliseconds; on the event loop that stalled every request behind it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, intervalMs, restartPages } = workerData as { file: string; intervalMs: number; restartPages: number };
const db = new Database(file);
db.pragma('busy_timeout = 0');
db.pragma('wal_autocheckpoint = 0');

function checkpoint(mode: 'PASSIVE' | 'RESTART'): { busy: number; log: number; checkpointed: number } | undefined {
  try {
    return (db.pragma(`wal_checkpoint(${mode})`) as Array<{ busy: number; log: number; checkpointed: number }>)[0];
  } catch {
    return undefined; // SQLITE_BUSY: another checkpoint or a writer holds the lock; try next time
  }
}

const timer = setInterval(() => {
  const done = checkpoint('PASSIVE');
  // Under steady writes the WAL may never be wholly copied at the moment a writer starts, so it
  // would keep growing; once it is large and fully copied, restart it (writers wait a moment).
  if (done && done.log > restartPages && done.checkpointed === done.log) {
    db.pragma('busy_timeout = 100');
    checkpoint('RESTART');
    db.pragma('busy_timeout = 0');
  }
}, intervalMs);

parentPort?.on('message', (message: unknown) => {
  if (message !== 'close') return;
  clearInterval(timer);
  checkpoint('PASSIVE');
  db.close();
  parentPort?.postMessage('closed');
});
