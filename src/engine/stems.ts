import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Isolation, SandboxHandle, SandboxLayout } from '../sandbox/index.js';
import { RuntimeApiServer } from './runtime-api.js';
import { launchCommand, runtimeDir, type RuntimeSpec } from './runtimes.js';
import { stemVariables } from './variables.js';

/**
 * Stem cells: runtime processes started ahead of demand, each in its own sandbox, that become a
 * function's execution environment when one is needed. The interpreter has started and the
 * runtime's modules are loaded; what is left for a cold start is linking the code in, handing
 * over the function's variables and running the function's own init.
 *
 * A stem cell is made for a *class* of functions, its key: the runtime, the memory size where the
 * process's start depends on it (Node.js's heap limits are flags), and EphemeralStorage (the size of
 * its /tmp). Lifecycle: `starting` → `ready` (frozen, waiting on stdin) → `taken` | `dead`.
 */

export interface StemKey {
  runtime: RuntimeSpec;
  /** The cgroup's memory limit at start; Python's is lowered to the function's when it is taken. */
  memoryMb: number;
  ephemeralStorageMb: number;
}

/** Lambda's largest MemorySize: what a Python stem cell's cgroup allows until it is taken. */
const MAX_MEMORY_MB = 10_240;
const READY_LINE = 'KUMO_STEM_READY';

/** The key of the stem cells a function's environments can grow from. */
export function stemKeyFor(runtime: RuntimeSpec, memorySize: number, ephemeralStorage: number): StemKey {
  return { runtime, memoryMb: runtime.family === 'nodejs' ? memorySize : MAX_MEMORY_MB, ephemeralStorageMb: ephemeralStorage };
}

function keyString(k: StemKey): string {
  return `${k.runtime.id}/${k.memoryMb}/${k.ephemeralStorageMb}`;
}

/** What an environment takes over from a stem cell. */
export interface StemProcess {
  child: ChildProcess;
  api: RuntimeApiServer;
  handle: SandboxHandle;
  layout: SandboxLayout;
  /** The host directory bound at /var/task: link the function's code in before specialising. */
  taskDir: string;
  /** The host directory bound (read-only) at /opt, empty until the function's layers are linked in. */
  optDir: string;
  /** The host scratch directory (TMPDIR without a sandbox). */
  scratchDir: string;
  /** Everything of this stem cell on the host; remove it when the environment ends. */
  dir: string;
}

/** Ends a taken stem cell's process that will not become an environment after all, and cleans up after it. */
export function discardStem(proc: StemProcess): void {
  proc.api.close();
  proc.child.stdin?.destroy();
  void proc.handle.destroy();
  fs.rm(proc.dir, { recursive: true, force: true }, () => undefined);
}

export type StemState = 'starting' | 'ready' | 'taken' | 'dead';

export class Stem {
  state: StemState = 'starting';
  /** Resolves true once the runtime is waiting for its function, false if it died first. */
  readonly ready: Promise<boolean>;
  private resolveReady: (ok: boolean) => void = () => undefined;
  private readonly onOutput: (chunk: Buffer) => void;
  private readonly onClose: () => void;

  private constructor(
    readonly key: StemKey,
    private readonly proc: StemProcess,
  ) {
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    let seen = '';
    this.onOutput = (chunk) => {
      if (this.state !== 'starting') return;
      seen += chunk.toString('latin1');
      if (seen.includes(READY_LINE)) {
        this.state = 'ready';
        // Frozen while it waits: no CPU, whatever it is.
        void proc.handle.freeze();
        this.resolveReady(true);
      } else if (seen.length > 4096) seen = seen.slice(-64);
    };
    this.onClose = () => this.die();
    proc.child.stdout?.on('data', this.onOutput);
    proc.child.stderr?.resume(); // anything a stem cell says before it has a function is dropped
    proc.child.once('close', this.onClose);
  }

  /** Starts a stem cell. Throws `SandboxError` (or a spawn error) when the host cannot. */
  static async start(key: StemKey, isolation: Isolation, dataDir: string): Promise<Stem> {
    const id = crypto.randomBytes(8).toString('hex');
    const dir = path.join(dataDir, 'environments', `stem-${id}`);
    const taskDir = path.join(dir, 'task');
    const scratchDir = path.join(dir, 'tmp');
    const optDir = path.join(dir, 'opt');
    fs.mkdirSync(taskDir, { recursive: true, mode: 0o755 });
    fs.mkdirSync(optDir, { mode: 0o755 });
    fs.mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
    // Its sandbox (and so its cgroup) is the one the function ends up in; until it exists nobody may connect.
    let handle: SandboxHandle | undefined;
    const api = await RuntimeApiServer.listen({
      onNext: () => undefined,
      onResult: () => false,
      onInitError: () => undefined,
      authorize: async (ends) => handle !== undefined && (await isolation.verifyPeer(handle, ends, { stemCell: id })).ok,
    });
    try {
      const launch = isolation.command({
        envId: id,
        taskRoot: taskDir,
        runtimeDir: runtimeDir(key.runtime),
        optDir,
        scratchDir,
        command: launchCommand(key.runtime, taskDir, key.memoryMb),
        memoryMb: key.memoryMb,
        ephemeralStorageMb: key.ephemeralStorageMb,
        env: stemVariables(key.runtime, taskDir, scratchDir, optDir, api.address),
      });
      handle = launch.handle;
      // Starting counts as init: full CPU until the function's first event.
      launch.handle.setCpuLimit(undefined);
      const child = spawn(launch.file, launch.args, { cwd: launch.cwd, env: launch.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      launch.handle.attach(child.pid);
      child.once('error', () => undefined); // reported as 'close'
      child.stdin?.on('error', () => undefined); // a stem cell that died before reading its function
      return new Stem(key, { child, api, handle: launch.handle, layout: launch.layout, taskDir, optDir, scratchDir, dir });
    } catch (err) {
      api.close();
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Hands the process over to an environment; undefined when it has died. */
  take(): StemProcess | undefined {
    const { child } = this.proc;
    if (this.state !== 'ready' || child.exitCode !== null || child.signalCode !== null) return undefined;
    this.state = 'taken';
    child.stdout?.off('data', this.onOutput);
    child.stdout?.pause();
    child.stderr?.pause();
    child.off('close', this.onClose);
    return this.proc;
  }

  kill(): void {
    if (this.state === 'taken') return;
    this.proc.handle.kill();
    if (this.proc.child.pid === undefined) this.die();
  }

  private die(): void {
    if (this.state === 'dead' || this.state === 'taken') return;
    this.state = 'dead';
    this.resolveReady(false);
    this.proc.api.close();
    void this.proc.handle.destroy();
    fs.rm(this.proc.dir, { recursive: true, force: true }, () => undefined);
  }
}

export interface StemCellsOptions {
  isolation: Isolation;
  dataDir: string;
  /** Ready stem cells kept per key. */
  perKey: number;
  /** Keys kept at most (least recently used first out). @default 8 */
  maxKeys?: number;
  /** Stem cells starting at once, across keys (each start is a CPU-bound process launch). @default 2 */
  maxStarting?: number;
  onError?: (err: unknown) => void;
}

interface Pool {
  name: string;
  key: StemKey;
  stems: Stem[];
  /** Stem cells being launched (not in `stems` yet). */
  launching: number;
  lastUsed: number;
  /** Stem cells in a row that died before they were ready: at 3, this key gets no more. */
  failures: number;
}

const MAX_FAILURES = 3;
/** How long after a stem cell is taken its replacement is launched. */
const REFILL_DELAY_MS = 25;

/** The stem cells of every key in demand, refilled in the background. */
export class StemCells {
  private readonly pools = new Map<string, Pool>();
  /** Stem cells launched and not ready yet, across keys. */
  private starting = 0;
  private closed = false;

  constructor(private readonly options: StemCellsOptions) {}

  /**
   * A stem cell for `key`: a ready one, else one still starting (awaited: it is ahead of a new
   * process), else undefined. Whatever is taken is replaced in the background.
   */
  async take(key: StemKey): Promise<Stem | undefined> {
    const pool = this.poolFor(key);
    pool.lastUsed = Date.now();
    const ready = pool.stems.find((s) => s.state === 'ready');
    let stem = ready ?? pool.stems.find((s) => s.state === 'starting');
    if (stem) pool.stems.splice(pool.stems.indexOf(stem), 1);
    if (ready) {
      // Replaced once this cold start is through: launching a process blocks the event loop for a
      // few milliseconds (fork and exec), which should not land in the middle of it.
      setTimeout(() => this.refill(pool), REFILL_DELAY_MS).unref();
    } else {
      this.refill(pool);
    }
    if (stem && stem.state === 'starting' && !(await stem.ready)) stem = undefined;
    return stem;
  }

  /** Makes sure stem cells of `key` are (being) made, e.g. when a function of that class is created. */
  warm(key: StemKey): void {
    const pool = this.poolFor(key);
    pool.lastUsed = Date.now();
    this.refill(pool);
  }

  /** Ends the stem cells of keys nobody took or warmed for `idleMs`. */
  sweep(idleMs: number, now = Date.now()): void {
    for (const [name, pool] of this.pools) {
      if (now - pool.lastUsed > idleMs) this.drop(name, pool);
    }
  }

  /** Ready stem cells, across keys. */
  get readyCount(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.stems.filter((s) => s.state === 'ready').length;
    return n;
  }

  close(): void {
    this.closed = true;
    for (const [name, pool] of this.pools) this.drop(name, pool);
  }

  private drop(name: string, pool: Pool): void {
    this.pools.delete(name);
    for (const s of pool.stems.splice(0)) s.kill();
  }

  private poolFor(key: StemKey): Pool {
    const name = keyString(key);
    let pool = this.pools.get(name);
    if (!pool) {
      pool = { name, key, stems: [], launching: 0, lastUsed: Date.now(), failures: 0 };
      this.pools.set(name, pool);
      if (this.pools.size > (this.options.maxKeys ?? 8)) {
        const oldest = [...this.pools.values()].filter((p) => p !== pool).sort((a, b) => a.lastUsed - b.lastUsed)[0];
        if (oldest) this.drop(oldest.name, oldest);
      }
    }
    return pool;
  }

  private refillAll(): void {
    for (const pool of this.pools.values()) this.refill(pool);
  }

  private refill(pool: Pool): void {
    pool.stems = pool.stems.filter((s) => s.state === 'starting' || s.state === 'ready');
    const maxStarting = this.options.maxStarting ?? 2;
    while (
      !this.closed &&
      this.pools.get(pool.name) === pool &&
      pool.failures < MAX_FAILURES &&
      pool.stems.length + pool.launching < this.options.perKey &&
      this.starting < maxStarting
    ) {
      this.starting++;
      pool.launching++;
      Stem.start(pool.key, this.options.isolation, this.options.dataDir).then(
        (stem) => {
          pool.launching--;
          if (this.closed || this.pools.get(pool.name) !== pool) stem.kill();
          else pool.stems.push(stem);
          void stem.ready.then((ok) => {
            this.starting--;
            pool.failures = ok ? 0 : pool.failures + 1;
            this.refillAll();
          });
        },
        (err: unknown) => {
          pool.launching--;
          this.starting--;
          pool.failures++;
          this.options.onError?.(err);
        },
      );
    }
  }
}
