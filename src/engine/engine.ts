import path from 'node:path';
import type { CompiledOptions } from '../config/index.js';
import { KumoError } from '../errors/index.js';
import { newLogStreamName, type LogWriter } from '../logs/index.js';
import type { Isolation } from '../sandbox/index.js';
import type { FunctionRecord } from '../store/index.js';
import { Environment, type InvokeOutcome } from './environment.js';
import { ConcurrencyLimiter } from './concurrency.js';
import { EnvironmentPool } from './pool.js';
import { RUNTIMES, type RuntimeSpec } from './runtimes.js';

export interface EngineDeps {
  options: CompiledOptions;
  logs: LogWriter;
  /** Directory of the unpacked code for a code sha (extracting it if needed). */
  codeDir: (sha256Hex: string) => Promise<string>;
  /** How environments are isolated (sandbox or plain processes). */
  isolation: Isolation;
}

export interface EngineInvokeRequest {
  requestId: string;
  payload: Buffer;
  invokedFunctionArn: string;
  clientContext?: string | undefined;
  wantTail: boolean;
}

export interface EngineStats {
  /** Environments running an invocation or starting for one. */
  concurrentExecutions: number;
  environments: number;
  idleEnvironments: number;
}

/**
 * Runs invocations in execution environments: finds a warm one or starts one, enforces the
 * account's concurrency limit, reclaims idle environments and retires stale ones.
 */
export class Engine {
  private readonly pools = new Map<string, EnvironmentPool>();
  /** Retired pools whose busy environments have not finished yet. */
  private readonly retiring = new Set<EnvironmentPool>();
  private readonly concurrency: ConcurrencyLimiter;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly deps: EngineDeps) {
    this.concurrency = new ConcurrencyLimiter(deps.options.concurrencyLimit);
    const period = Math.max(50, Math.min(10_000, Math.floor(deps.options.idleTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), period);
    this.sweeper.unref();
  }

  async invoke(fn: FunctionRecord, req: EngineInvokeRequest): Promise<InvokeOutcome> {
    if (this.closed) throw new KumoError('ServiceException', 'Kumo is shutting down');
    const { options } = this.deps;
    this.concurrency.acquire(fn.name);
    try {
      const pool = this.poolFor(fn);
      const env = (await pool.acquire()) ?? (await this.startEnvironment(pool, fn));
      try {
        return await env.invoke(req);
      } finally {
        pool.release(env, options.maxEnvironmentLifetimeMs);
      }
    } finally {
      this.concurrency.release(fn.name);
    }
  }

  /** Reserved concurrency of a function (`undefined`: it shares the unreserved pool). */
  setReservedConcurrency(functionName: string, value: number | undefined): void {
    this.concurrency.setReserved(functionName, value);
  }

  reservedConcurrency(functionName: string): number | undefined {
    return this.concurrency.reservedFor(functionName);
  }

  /** The account limit less every reservation. */
  get unreservedConcurrency(): number {
    return this.concurrency.unreservedLimit;
  }

  /** Stops routing to a function's environments (after an update or delete). */
  retire(functionName: string): void {
    for (const [key, pool] of this.pools) {
      if (pool.functionName === functionName) {
        pool.retire();
        this.pools.delete(key);
        if (pool.size > 0) this.retiring.add(pool);
      }
    }
  }

  /** Code archives that live environments run from (they must not be garbage-collected). */
  codeInUse(): Set<string> {
    const shas = new Set<string>();
    for (const pool of this.pools.values()) if (pool.size > 0) shas.add(pool.codeSha256Hex);
    for (const pool of this.retiring) if (pool.size > 0) shas.add(pool.codeSha256Hex);
    return shas;
  }

  stats(): EngineStats {
    let environments = 0;
    let idle = 0;
    for (const pool of this.pools.values()) {
      environments += pool.size;
      idle += pool.idleCount;
    }
    return { concurrentExecutions: this.concurrency.inFlight, environments, idleEnvironments: idle };
  }

  /** Ends every environment and waits for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const all: Environment[] = [];
    for (const pool of [...this.pools.values(), ...this.retiring]) {
      pool.retire();
      all.push(...pool.all);
    }
    this.retiring.clear();
    this.pools.clear();
    await Promise.all(
      all.map(
        (env) =>
          new Promise<void>((resolve) => {
            env.onDeath(() => resolve());
            env.kill();
          }),
      ),
    );
  }

  private poolFor(fn: FunctionRecord): EnvironmentPool {
    const key = `${fn.name}\u0000${fn.version}\u0000${fn.revisionId}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new EnvironmentPool(key, fn.name, fn.codeSha256Hex);
      this.pools.set(key, pool);
    }
    return pool;
  }

  private async startEnvironment(pool: EnvironmentPool, fn: FunctionRecord): Promise<Environment> {
    const runtime = RUNTIMES.get(fn.config.runtime);
    if (!runtime) throw new KumoError('InvalidRuntimeException', `The runtime parameter of ${fn.config.runtime} is not supported by Kumo.`);
    pool.starting++;
    try {
      return await this.spawnInto(pool, fn, runtime);
    } finally {
      pool.starting--;
    }
  }

  private async spawnInto(pool: EnvironmentPool, fn: FunctionRecord, runtime: RuntimeSpec): Promise<Environment> {
    const { options, logs } = this.deps;
    const taskRoot = await this.deps.codeDir(fn.codeSha256Hex);
    const logStream = newLogStreamName(fn.version);
    const env = await Environment.start(
      {
        functionName: fn.name,
        version: fn.version,
        runtime,
        handler: fn.config.handler,
        memorySize: fn.config.memorySize,
        timeoutSeconds: fn.config.timeout,
        taskRoot,
        variables: fn.config.environment,
        region: options.region,
        accessKeyId: options.accessKeyId,
        secretAccessKey: options.secretAccessKey,
        logGroup: fn.config.logGroup,
        logStream,
        scratchDir: path.join(options.dataDir, 'environments', `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`),
        ephemeralStorage: fn.config.ephemeralStorage,
        initializationType: 'on-demand',
      },
      logs,
      this.deps.isolation,
    );
    pool.add(env);
    return env;
  }

  private sweep(): void {
    const { idleTimeoutMs, maxEnvironmentLifetimeMs } = this.deps.options;
    const now = Date.now();
    for (const [key, pool] of this.pools) {
      pool.reclaim(idleTimeoutMs, maxEnvironmentLifetimeMs, now);
      if (pool.size === 0) this.pools.delete(key);
    }
    for (const pool of this.retiring) if (pool.size === 0) this.retiring.delete(pool);
  }
}
