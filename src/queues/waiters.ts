import type { Clock } from '../clock/index.js';

interface Waiter {
  wakeAt: number;
  timer: { cancel(): void };
  resolve: () => void;
}

/**
 * Long-poll receivers waiting on queues, woken by events instead of polling. A receiver reads the
 * queue's version, looks for messages, and if there are none waits with that version: any signal
 * in between bumps the version and the wait returns at once, so no wake-up is lost.
 * `signal(queue, at)` says a message of the queue becomes visible at `at` (now when omitted):
 * waiters wake now or move their timer earlier.
 */
export class Waiters {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private readonly versions = new Map<string, number>();
  private closed = false;

  constructor(private readonly clock: Clock) {}

  version(queue: string): number {
    return this.versions.get(queue) ?? 0;
  }

  signal(queue: string, at?: number): void {
    this.versions.set(queue, this.version(queue) + 1);
    const set = this.waiting.get(queue);
    if (!set) return;
    const now = this.clock.now();
    for (const w of set) {
      if (at === undefined || at <= now) this.wake(queue, w);
      else if (at < w.wakeAt) {
        w.timer.cancel();
        w.wakeAt = at;
        w.timer = this.clock.setTimer(() => this.wake(queue, w), at - now);
      }
    }
  }

  /** Resolves at `until`, on a signal, at close or when `abort` fires; at once when the version moved on. */
  wait(queue: string, until: number, version: number, abort?: AbortSignal): Promise<void> {
    if (this.closed || abort?.aborted || this.version(queue) !== version) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = () => this.wake(queue, w);
      const w: Waiter = {
        wakeAt: until,
        resolve: () => {
          abort?.removeEventListener('abort', onAbort);
          resolve();
        },
        timer: { cancel: () => undefined },
      };
      w.timer = this.clock.setTimer(() => this.wake(queue, w), until - this.clock.now());
      abort?.addEventListener('abort', onAbort, { once: true });
      let set = this.waiting.get(queue);
      if (!set) this.waiting.set(queue, (set = new Set()));
      set.add(w);
    });
  }

  /** How many receivers are parked right now. */
  get count(): number {
    let n = 0;
    for (const set of this.waiting.values()) n += set.size;
    return n;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Wakes every waiter; later waits return at once. */
  close(): void {
    this.closed = true;
    for (const [queue, set] of this.waiting) for (const w of set) this.wake(queue, w);
  }

  private wake(queue: string, w: Waiter): void {
    w.timer.cancel();
    const set = this.waiting.get(queue);
    set?.delete(w);
    if (set?.size === 0) this.waiting.delete(queue);
    w.resolve();
  }
}
