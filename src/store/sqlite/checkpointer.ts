import { Worker } from 'node:worker_threads';

/** Checkpoints the WAL of `file` from a worker thread every `intervalMs` (connections then set `wal_autocheckpoint = 0`). */
export class Checkpointer {
  private constructor(private readonly worker: Worker) {}

  static start(file: string, intervalMs = 200, restartPages = 16_384): Checkpointer {
    const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { file, intervalMs, restartPages } });
    worker.unref();
    return new Checkpointer(worker);
  }

  private closing: Promise<void> | undefined;

  /** Runs a last checkpoint and ends the worker. Later calls share the first one's promise. */
  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
      this.worker.once('error', () => resolve());
    });
    this.worker.postMessage('close');
    await closed;
    await this.worker.terminate();
  }
}
