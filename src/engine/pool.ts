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

  constructor(
    readonly key: string,
    readonly functionName: string,
    readonly codeSha256Hex: string,
  ) {}

  /** Takes the most recently used idle environment, if any. */
  take(): Environment | undefined {
    for (;;) {
      const env = this.idle.pop();
      if (!env) return undefined;
      if (env.state === 'idle') return env;
    }
  }

  add(env: Environment): void {
    this.all.add(env);
    env.onDeath(() => {
      this.all.delete(env);
      const i = this.idle.indexOf(env);
      if (i >= 0) this.idle.splice(i, 1);
    });
  }

  /** Returns an environment after an invocation: kept warm, or ended if it cannot serve again. */
  release(env: Environment, maxLifetimeMs: number, now = Date.now()): void {
    if (this.retired || env.state !== 'idle' || env.failedInit || now - env.createdAt > maxLifetimeMs) {
      env.kill();
      return;
    }
    this.idle.push(env);
  }

  /** Ends environments idle for longer than `idleMs` or older than `maxLifetimeMs`. */
  reclaim(idleMs: number, maxLifetimeMs: number, now = Date.now()): void {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const env = this.idle[i];
      if (env && (now - env.idleSince > idleMs || now - env.createdAt > maxLifetimeMs)) {
        this.idle.splice(i, 1);
        env.kill();
      }
    }
  }

  /** No new work: idle environments end now, busy ones when they finish. */
  retire(): void {
    this.retired = true;
    for (const env of this.idle.splice(0)) env.kill();
  }

  get size(): number {
    return this.all.size + this.starting;
  }

  get idleCount(): number {
    return this.idle.length;
  }
}
