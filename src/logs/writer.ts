import type { LogEvent, LogRepo } from '../store/index.js';

/**
 * Buffers log events and writes them to the store in batches, off the invoke path: at most every
 * `flushMs` (one SQLite transaction per batch rather than per line), or at once when a batch
 * reaches `maxBatch`.
 */
export class LogWriter {
  private buffer: LogEvent[] = [];
  private scheduled = false;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(events: readonly LogEvent[]) => void>();

  constructor(
    private readonly repo: LogRepo,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly maxBatch = 2000,
    private readonly flushMs = 20,
  ) {}

  write(group: string, stream: string, message: string, timestamp = Date.now()): void {
    this.buffer.push({ group, stream, timestamp, message });
    if (this.buffer.length >= this.maxBatch) this.flushNow();
    else if (!this.scheduled) {
      this.scheduled = true;
      setTimeout(() => this.flushNow(), this.flushMs).unref();
    }
  }

  /** Called with every batch once it is stored (for followers). */
  subscribe(fn: (events: readonly LogEvent[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves when everything written so far is in the store. */
  async flush(): Promise<void> {
    this.flushNow();
    await this.inFlight;
  }

  private flushNow(): void {
    this.scheduled = false;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.inFlight = this.inFlight
      .then(() => this.repo.append(batch))
      .then(
        () => {
          for (const fn of this.listeners) fn(batch);
        },
        (err: unknown) => this.onError(err),
      );
  }
}
