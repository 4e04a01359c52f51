import type { Environment } from './environment.js';

/**
 * The warm environments of one function version (one configuration revision). Idle environments
 * are kept most-recently-used first so that, under falling load, the extra ones go idle long
 * enough to be reclaimed.
 */
export class EnvironmentPool {
  private readonly idle: Environment[] = [];
  readonly all = new Set<Environment>();
  /** Environments being started for this pool that are not in `all` yet. */
  starting = 0;
  retired = false;
  /**
   * Provisioned concurrency: environments initialised ahead of demand and kept warm. They serve
   * invocations like any other (an idle one is taken first or last by recency alike) but are never
   * reclaimed for being idle; one that ends (max lifetime, crash, timeout) is replaced.
   */
  readonly provisioned = new Set<Environment>();
  /** How many environments the pool keeps provisioned. */
  provisionedTarget = 0;
  /** Provisioned environments being started. */
  provisioning = 0;

  constructor(
    readonly key: string,
    readonly functionName: string,
    readonly codeSha256Hex: string,
    /** The code of its layers. */
    readonly layerShas: readonly string[] = [],
  ) {}

  /** Environments that finished an invocation and whose runtime has not polled for the next yet. */
  private readonly finishing = new Set<Environment>();
  /** Callers waiting for one of those. */
  private readonly waiters: Array<(env: Environment | undefined) => void> = [];

  /** Takes the most recently used idle environment, if any. */
  take(): Environment | undefined {
    for (;;) {
      const env = this.idle.pop();
      if (!env) return undefined;
      if (env.state === 'idle') return env;
    }
  }

  /**
   * An idle environment, or one about to be: when every environment has just finished and its
   * runtime is on its way back to `/invocation/next` (a millisecond or so), waiting for it beats a
   * cold start. Resolves `undefined` when there is none to wait for, or it died instead.
   */
  async acquire(): Promise<Environment | undefined> {
    const env = this.take();
    if (env || this.finishing.size <= this.waiters.length) return env;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  add(env: Environment): void {
    this.all.add(env);
    env.onDeath(() => {
      this.all.delete(env);
      // A finishing environment that died instead of polling: its waiter starts a new one.
      if (this.finishing.delete(env) && this.finishing.size < this.waiters.length) this.waiters.shift()?.(undefined);
      const i = this.idle.indexOf(env);
      if (i >= 0) this.idle.splice(i, 1);
    });
  }

  /** Returns an environment after an invocation: kept warm, or ended if it cannot serve again. */
  release(env: Environment, maxLifetimeMs: number, now = Date.now()): void {
    if (this.retired || env.failedInit || now - env.createdAt > maxLifetimeMs || (env.state !== 'idle' && env.state !== 'finishing')) {
      env.kill();
      return;
    }
    if (env.state === 'finishing') this.finishing.add(env);
    env.whenIdle(() => {
      this.finishing.delete(env);
      if (this.retired) env.kill();
      else {
        const waiter = this.waiters.shift();
        if (waiter) waiter(env);
        else this.idle.push(env);
      }
    });
  }

  /** Ends environments idle for longer than `idleMs` (provisioned ones excepted) or older than `maxLifetimeMs`. */
  reclaim(idleMs: number, maxLifetimeMs: number, now = Date.now()): void {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const env = this.idle[i];
      if (env && ((now - env.idleSince > idleMs && !this.provisioned.has(env)) || now - env.createdAt > maxLifetimeMs)) {
        this.idle.splice(i, 1);
        env.kill();
      }
    }
  }

  /** No new work: idle environments end now, busy ones when they finish. */
  retire(): void {
    this.retired = true;
    for (const env of this.idle.splice(0)) env.kill();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  get size(): number {
    return this.all.size + this.starting + this.provisioning;
  }

  /** Provisioned environments that are ready or on their way. */
  get provisionedCount(): number {
    return this.provisioned.size + this.provisioning;
  }

  get idleCount(): number {
    return this.idle.length;
  }
}
