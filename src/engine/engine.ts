import os from 'node:os';
import path from 'node:path';
import type { CompiledOptions } from '../config/index.js';
import { KumoError } from '../errors/index.js';
import { newLogStreamName, type LogWriter } from '../logs/index.js';
import type { Isolation } from '../sandbox/index.js';
import type { FunctionRecord } from '../store/index.js';
import { Environment, type EnvironmentSpec, type InvokeOutcome, type InvokeRequest } from './environment.js';
import { ConcurrencyLimiter } from './concurrency.js';
import { EnvironmentPool } from './pool.js';
import { OptTrees } from './opt-trees.js';
import { RUNTIMES, type RuntimeSpec } from './runtimes.js';
import { StartGate } from './start-gate.js';
import { StemCells, discardStem, stemKeyFor, type Stem, type StemKey } from './stems.js';
import { linkTree, linkable } from './task-links.js';
import { readAtStartup } from './variables.js';

/** Longest a start holds its place in the start gate (a slow init then lets others start). */
const START_HOLD_MS = 500;

/** What differs between the starts of an environment: for an invocation, or ahead of demand. */
interface StartMode {
  initializationType: EnvironmentSpec['initializationType'];
  /**
   * Provisioned concurrency: counted in the pool's `provisioning` while it starts (else in
   * `starting`), then kept warm in `provisioned`; a failed init is an error, not an outcome.
   */
  provisioned: boolean;
}

/** An invocation's cold start (AWS_LAMBDA_INITIALIZATION_TYPE=on-demand). */
const ON_DEMAND: StartMode = { initializationType: 'on-demand', provisioned: false };
/** A provisioned environment (AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency). */
const PROVISIONED: StartMode = { initializationType: 'provisioned-concurrency', provisioned: true };

export interface EngineDeps {
  options: CompiledOptions;
  logs: LogWriter;
  /** Directory of the unpacked code for a code sha (extracting it if needed). */
  codeDir: (sha256Hex: string) => Promise<string>;
  /** How environments are isolated (sandbox or plain processes). */
  isolation: Isolation;
  /** Where stem-cell failures to start are reported (the host's fault, not a function's). */
  onError?: (err: unknown, msg: string) => void;
}

/** An invocation as the engine takes it: what an environment takes (see InvokeRequest). */
export type EngineInvokeRequest = InvokeRequest;

export interface EngineStats {
  /** Environments running an invocation or starting for one. */
  concurrentExecutions: number;
  environments: number;
  idleEnvironments: number;
  /** Runtime processes started ahead of demand, waiting for a function. */
  readyStemCells: number;
  /** Environments kept initialised for provisioned concurrency. */
  provisionedEnvironments: number;
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
  private readonly stems: StemCells | undefined;
  /** The layers' merged /opt trees. */
  private readonly opt: OptTrees;
  /** At most 4 starts per CPU at once; the rest queue (see StartGate). */
  private readonly gate = new StartGate(Math.max(4, 4 * os.availableParallelism()), START_HOLD_MS);
  private closed = false;

  constructor(private readonly deps: EngineDeps) {
    this.concurrency = new ConcurrencyLimiter(deps.options.concurrencyLimit);
    this.opt = new OptTrees(path.join(deps.options.dataDir, 'opt'), deps.codeDir);
    if (deps.options.stemCells > 0) {
      this.stems = new StemCells({
        isolation: deps.isolation,
        dataDir: deps.options.dataDir,
        perKey: deps.options.stemCells,
        onError: (err) => deps.onError?.(err, 'cannot start a stem cell'),
      });
    }
    const period = Math.max(50, Math.min(10_000, Math.floor(deps.options.idleTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), period);
    this.sweeper.unref();
  }

  async invoke(fn: FunctionRecord, req: EngineInvokeRequest): Promise<InvokeOutcome> {
    if (this.closed) throw shuttingDown();
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

  /**
   * Provisioned concurrency: keeps `count` environments of this function version initialised and
   * warm (`AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`), replacing any that end.
   * Resolves once they are all ready; rejects when one fails its init. Fewer than before: the
   * surplus become ordinary environments, reclaimed when idle.
   */
  async provision(fn: FunctionRecord, count: number): Promise<void> {
    const pool = this.poolFor(fn);
    pool.provisionedTarget = count;
    for (const env of [...pool.provisioned].slice(count)) pool.provisioned.delete(env);
    const missing = Math.max(0, count - pool.provisionedCount);
    await Promise.all(Array.from({ length: missing }, () => this.startEnvironment(pool, fn, PROVISIONED)));
  }

  /** Provisioned environments of this function version that are initialised and ready. */
  provisionedReady(fn: FunctionRecord): number {
    return this.pools.get(poolKey(fn))?.provisioned.size ?? 0;
  }

  /** A function's provisioned concurrency, every version and alias summed: counted against the account like Lambda (see ConcurrencyLimiter). */
  setProvisionedConcurrency(functionName: string, total: number): void {
    this.concurrency.setProvisioned(functionName, total);
  }

  provisionedConcurrency(functionName: string): number {
    return this.concurrency.provisionedFor(functionName);
  }

  /** What a function holds of the account's concurrency outside the shared pool: its reservation, else its provisioned concurrency. */
  claimedConcurrency(functionName: string): number {
    return this.concurrency.claimedBy(functionName);
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

  /**
   * Readies what a function's cold start needs before its first invocation (stem cells of its
   * class, its layers' /opt), e.g. when it is created or its configuration changes.
   */
  prepare(fn: FunctionRecord): void {
    const key = this.stemKey(fn);
    if (key) {
      this.stems?.warm(key);
      // Whether its code can grow from a stem cell: its listing is read now, not at its cold start.
      this.deps.codeDir(fn.codeSha256Hex).then(linkable, () => undefined);
    }
    this.opt.warm(fn.config.layers, (err) => this.deps.onError?.(err, 'cannot build the /opt of a function'));
  }

  /** Stops routing to a function's environments, or only to one version's (after an update or delete). */
  retire(functionName: string, version?: string): void {
    const prefix = version === undefined ? undefined : `${functionName}\u0000${version}\u0000`;
    for (const [key, pool] of this.pools) {
      if (pool.functionName === functionName && (prefix === undefined || key.startsWith(prefix))) {
        pool.retire();
        this.pools.delete(key);
        if (pool.size > 0) this.retiring.add(pool);
      }
    }
  }

  /** Code archives (function code and layers) that live environments run from (they must not be garbage-collected). */
  codeInUse(): Set<string> {
    const shas = new Set<string>();
    for (const pool of [...this.pools.values(), ...this.retiring]) {
      if (pool.size === 0) continue;
      shas.add(pool.codeSha256Hex);
      for (const sha of pool.layerShas) shas.add(sha);
    }
    return shas;
  }

  stats(): EngineStats {
    let environments = 0;
    let idle = 0;
    for (const pool of this.pools.values()) {
      environments += pool.size;
      idle += pool.idleCount;
    }
    return {
      concurrentExecutions: this.concurrency.inFlight,
      environments,
      idleEnvironments: idle,
      readyStemCells: this.stems?.readyCount ?? 0,
      provisionedEnvironments: [...this.pools.values()].reduce((n, p) => n + p.provisioned.size, 0),
    };
  }

  /** Ends every environment and waits for them to exit. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    this.stems?.close();
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
    await this.opt.close();
  }

  private poolFor(fn: FunctionRecord): EnvironmentPool {
    const key = poolKey(fn);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new EnvironmentPool(
        key,
        fn.name,
        fn.codeSha256Hex,
        (fn.config.layers ?? []).map((l) => l.codeSha256Hex),
      );
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Every start of an environment, whatever it is for (`mode`): counted in the pool while under way, through the start gate. */
  private async startEnvironment(pool: EnvironmentPool, fn: FunctionRecord, mode: StartMode = ON_DEMAND): Promise<Environment> {
    const runtime = RUNTIMES.get(fn.config.runtime);
    if (!runtime) throw new KumoError('InvalidRuntimeException', `The runtime parameter of ${fn.config.runtime} is not supported by Kumo.`);
    const counter = mode.provisioned ? 'provisioning' : 'starting';
    pool[counter]++;
    let env: Environment;
    const leave = await this.gate.enter();
    try {
      env = await this.spawnInto(pool, fn, runtime, mode.initializationType);
    } finally {
      leave();
      pool[counter]--;
    }
    // In the same turn as the count above falls, so the pool's provisionedCount never dips meanwhile.
    if (mode.provisioned) this.keepProvisioned(pool, fn, env);
    return env;
  }

  /** A provisioned environment that has started: kept warm, and replaced when it ends. Throws when its init failed. */
  private keepProvisioned(pool: EnvironmentPool, fn: FunctionRecord, env: Environment): void {
    if (env.failedInit) {
      env.kill();
      throw new KumoError('ServiceException', `A provisioned environment of ${fn.name} failed its init.`);
    }
    pool.provisioned.add(env);
    env.onDeath(() => {
      pool.provisioned.delete(env);
      // Kept warm: a provisioned environment that ends is replaced.
      if (!this.closed && !pool.retired && pool.provisionedCount < pool.provisionedTarget) {
        this.startEnvironment(pool, fn, PROVISIONED).catch((err: unknown) => this.deps.onError?.(err, 'cannot replace a provisioned environment'));
      }
    });
    pool.release(env, this.deps.options.maxEnvironmentLifetimeMs);
  }

  private async spawnInto(
    pool: EnvironmentPool,
    fn: FunctionRecord,
    runtime: RuntimeSpec,
    initializationType: EnvironmentSpec['initializationType'],
  ): Promise<Environment> {
    const codeDir = await this.deps.codeDir(fn.codeSha256Hex);
    // close() may have run meanwhile: an environment started now would be in no list it ends.
    if (this.closed) throw shuttingDown();
    const opt = await this.opt.acquire(fn.config.layers);
    let env: Environment;
    try {
      if (this.closed) throw shuttingDown();
      const key = this.stemKey(fn);
      const stem = key && linkable(codeDir) && linkable(opt.dir) ? await this.stems?.take(key) : undefined;
      env =
        (stem && (await this.adopt(stem, fn, runtime, codeDir, opt.dir, initializationType))) ??
        (await this.launch(fn, runtime, codeDir, opt.dir, initializationType));
    } catch (err) {
      opt.release();
      throw err;
    }
    // The tree is kept while an environment of it lives (and a while after: see sweep).
    env.onDeath(opt.release);
    pool.add(env);
    return env;
  }

  /** The stem-cell class of a function, when its environments can grow from one. */
  private stemKey(fn: FunctionRecord): StemKey | undefined {
    const runtime = RUNTIMES.get(fn.config.runtime);
    if (!runtime || runtime.family === 'provided' || readAtStartup(fn.config.environment)) return undefined;
    return stemKeyFor(runtime, fn.config.memorySize, fn.config.ephemeralStorage);
  }

  private specFor(
    fn: FunctionRecord,
    runtime: RuntimeSpec,
    taskRoot: string,
    optDir: string,
    scratchDir: string,
    workDir: string,
    initializationType: EnvironmentSpec['initializationType'],
  ): EnvironmentSpec {
    const { options } = this.deps;
    return {
      functionName: fn.name,
      version: fn.version,
      runtime,
      handler: fn.config.handler,
      memorySize: fn.config.memorySize,
      timeoutSeconds: fn.config.timeout,
      taskRoot,
      optDir,
      variables: fn.config.environment,
      region: options.region,
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      logGroup: fn.config.logGroup,
      logStream: newLogStreamName(fn.version),
      scratchDir,
      workDir,
      ephemeralStorage: fn.config.ephemeralStorage,
      initializationType,
      freezeDelayMs: options.freezeDelayMs,
    };
  }

  /** A new process for the function. */
  private launch(
    fn: FunctionRecord,
    runtime: RuntimeSpec,
    codeDir: string,
    optDir: string,
    initializationType: EnvironmentSpec['initializationType'],
  ): Promise<Environment> {
    const scratchDir = path.join(
      this.deps.options.dataDir,
      'environments',
      `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
    );
    return Environment.start(
      this.specFor(fn, runtime, codeDir, optDir, scratchDir, scratchDir, initializationType),
      this.deps.logs,
      this.deps.isolation,
    );
  }

  /** A stem cell made the function's environment; undefined when the stem cell is unusable (a new process then). */
  private async adopt(
    stem: Stem,
    fn: FunctionRecord,
    runtime: RuntimeSpec,
    codeDir: string,
    optDir: string,
    initializationType: EnvironmentSpec['initializationType'],
  ): Promise<Environment | undefined> {
    const proc = stem.take();
    if (!proc) return undefined;
    try {
      linkTree(codeDir, proc.taskDir);
      // The layers go into the stem cell's /opt (bound read-only when it started, empty until now).
      this.opt.fill(optDir, proc.optDir);
      // Python's stem cells start under the largest memory limit; Node.js's were made for this size.
      proc.handle.setMemoryLimit(fn.config.memorySize);
    } catch (err) {
      // Not usable for this function: a new process is started instead.
      this.deps.onError?.(err, 'cannot give a stem cell to a function');
      discardStem(proc);
      return undefined;
    }
    return Environment.adopt(
      this.specFor(fn, runtime, proc.taskDir, proc.optDir, proc.scratchDir, proc.dir, initializationType),
      this.deps.logs,
      this.deps.isolation,
      proc,
    );
  }

  private sweep(): void {
    const { idleTimeoutMs, maxEnvironmentLifetimeMs } = this.deps.options;
    const now = Date.now();
    for (const [key, pool] of this.pools) {
      pool.reclaim(idleTimeoutMs, maxEnvironmentLifetimeMs, now);
      if (pool.size === 0) this.pools.delete(key);
    }
    for (const pool of this.retiring) if (pool.size === 0) this.retiring.delete(pool);
    this.stems?.sweep(idleTimeoutMs, now);
    this.opt.sweep(idleTimeoutMs, now);
  }
}

/**
 * The pool of a function version. `$LATEST` changes in place, so its pools are per revision (an
 * invocation that read the record before an update never lands in the new code's pool). A
 * published version's code and configuration never change, only its RevisionId (when its policy
 * does), so its pool, and its provisioned environments, outlive that.
 */
function poolKey(fn: FunctionRecord): string {
  return fn.version === '$LATEST' ? `${fn.name}\u0000${fn.version}\u0000${fn.revisionId}` : `${fn.name}\u0000${fn.version}\u0000`;
}

function shuttingDown(): KumoError {
  return new KumoError('ServiceException', 'Kumo is shutting down');
}
