import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BWRAP_CANDIDATES,
  bwrapArgs,
  disposeBwrap,
  isExecutable,
  prepareBwrap,
  probeBwrap,
  type BwrapSetup,
  type SandboxUserMode,
} from './bwrap.js';
import { MB_PER_VCPU, discoverCgroups, type CgroupStats, type CgroupTree, type CgroupVersion, type EnvCgroup } from './cgroup.js';
import { PathMap, SANDBOX_PATHS, SANDBOX_USER, visibleAsIs } from './layout.js';
import { PeerCheck, type PeerRefusal, type PeerVerdict } from './peers.js';
import { ProcessPeakMemory, childrenOf, descendants, processTree, shellQuote, signal } from './procfs.js';
import { isLocalAddress, openSocketOwners, type ConnectionEnds } from './sockets.js';

/** `auto`: the best the host offers. `process`: today's plain processes. `sandbox`: bubblewrap and cgroups, or fail to start. */
export type IsolationMode = 'auto' | 'process' | 'sandbox';

/** What this host supports, and why: computed once at startup. */
export interface IsolationSupport {
  /** `bubblewrap`: namespaces and a private filesystem view; `process`: plain processes with rlimits. */
  readonly kind: 'bubblewrap' | 'process';
  /** Own mount, PID, IPC and UTS namespaces. */
  readonly namespaces: boolean;
  /** Memory, CPU, pids limits and accounting per environment. */
  readonly cgroup: CgroupVersion | undefined;
  readonly freezer: 'cgroup' | 'sigstop';
  /** How the function is made `sbx_user1051` (undefined: it runs as Kumo's own user). */
  readonly user: SandboxUserMode | undefined;
  /** /tmp is a tmpfs capped at EphemeralStorage by the kernel. */
  readonly tmpSizeCapped: boolean;
  /** Why each part is on or off, one line each. */
  readonly reasons: readonly string[];
  /** One line to print at startup when isolation is weaker than full; undefined when it is full. */
  readonly warning: string | undefined;
}

export interface IsolationOptions {
  /** @default `KUMO_ISOLATION` from `env`, else 'auto' */
  mode?: IsolationMode;
  /** Where `KUMO_ISOLATION` is read from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** @default the first of /usr/bin/bwrap, /bin/bwrap, /usr/local/bin/bwrap */
  bwrapPath?: string;
  /** Prefer this cgroup version when the host has both usable. @default v1 where memory is a v1 controller */
  cgroupVersion?: CgroupVersion;
  /**
   * Hears a connection to an environment's Runtime API that did not come from that environment
   * (refused and closed; at most 10 a second), and why the peer check runs in its slower mode.
   */
  warn?: (message: string, fields?: PeerRefusal) => void;
}

/** Everything needed to start one environment's process. */
export interface SandboxSpec {
  /** Environment id: letters, digits, `_`, `-`, `.`; it names the environment's cgroup. */
  envId: string;
  /** Unpacked code (host path): read-only at /var/task. */
  taskRoot: string;
  /** The runtime's code (host path): read-only at /var/runtime. */
  runtimeDir: string;
  /** The layers' merged tree (host path): read-only at /opt. @default an empty /opt */
  optDir?: string | undefined;
  /** Host scratch directory: TMPDIR for plain processes. Sandboxes use their own tmpfs /tmp instead. */
  scratchDir: string;
  /** The runtime command, with host paths (they are rewritten to in-sandbox paths). */
  command: { file: string; args: readonly string[] };
  memoryMb: number;
  ephemeralStorageMb: number;
  /** The environment's variables, with host paths (rewritten too). */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * What backs /tmp in a sandbox. `tmpfs` (default): a private tmpfs capped at EphemeralStorage; its
   * pages are charged to the environment's memory cgroup, so /tmp data counts against MemorySize
   * (a 128 MB function cannot keep 200 MB in /tmp: the OOM killer ends it). `disk`: `scratchDir` on
   * the host's disk, bound writable at /tmp and chowned to the sandbox user; written pages are
   * reclaimable page cache, so /tmp does not eat MemorySize, but EphemeralStorage is not enforced.
   * @default 'tmpfs'
   */
  tmp?: 'tmpfs' | 'disk';
  /** CPU quota in vCPUs, or 'unlimited'. @default memoryMb / 1769, as in Lambda */
  cpus?: number | 'unlimited';
  /** @default 1024 */
  pidsMax?: number;
  /** @default 1024 */
  nofile?: number;
}

/** Paths as the environment's process sees them. */
export interface SandboxLayout {
  taskRoot: string;
  runtimeDir: string;
  tmpDir: string;
  /** The node binary to run. */
  node: string;
  /** Maps any host path (taskRoot, runtimeDir, scratchDir, node) to where the process sees it. */
  toSandbox(hostPath: string): string;
  /** Environment variables as the process sees them: host paths (and path lists) rewritten. */
  toSandboxEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string>;
}

/** How to start the process: `spawn(file, args, { env, cwd, detached: true, stdio })`, then `handle.attach(child.pid)`. */
export interface SandboxLaunch {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  layout: SandboxLayout;
  handle: SandboxHandle;
}

export type SandboxState = 'created' | 'running' | 'frozen' | 'destroyed';

export interface SandboxStats extends CgroupStats {
  /** Where the figures came from. */
  source: 'cgroup' | 'process';
}

/** One environment's sandbox: limits, accounting, freezing and teardown. */
export interface SandboxHandle {
  readonly envId: string;
  /** The environment's cgroup directory (v1: in the memory hierarchy), if it has one. */
  readonly cgroup: string | undefined;
  /** All its cgroup directories (v1: one per hierarchy). */
  readonly cgroupDirs: readonly string[];
  readonly state: SandboxState;
  /** Tells the handle the spawned process's pid (needed without cgroups: signals, peak memory). */
  attach(pid: number | undefined): void;
  /** The environment's processes (host pids): its cgroup's, else the process tree of the attached pid. */
  pids(): number[];
  /** Changes the CPU quota (undefined: none), e.g. to let init run at full speed. No-op without cgroups. */
  setCpuLimit(cpus: number | undefined): void;
  /**
   * Changes the memory limit, e.g. when a pre-started sandbox is given to a function. No-op without
   * cgroups. Throws `SandboxError` when lowering it below what is in use fails.
   */
  setMemoryLimit(memoryMb: number): void;
  /** Peak memory in MB, rounded up: the cgroup's peak, else the runtime process's peak RSS. */
  peakMemoryMb(): number;
  /** Whether the kernel's OOM killer ended a process of this environment; undefined without cgroups (can't tell). */
  oomKilled(): boolean | undefined;
  stats(): SandboxStats;
  /**
   * Stops every process (cgroup freezer, else SIGSTOP to the process group); resolves once they are
   * all stopped. Never rejects, so it may be left unawaited (the invoke path only needs `thaw()`).
   */
  freeze(): Promise<void>;
  /** Lets them run again. Synchronous: it sits on the invoke path. */
  thaw(): void;
  /** SIGKILLs every process of the environment (idempotent). */
  kill(): void;
  /** Kills, waits for the processes to be gone and removes the cgroup. Read `oomKilled()`/`peakMemoryMb()` first. */
  destroy(): Promise<void>;
  /**
   * The runtime's own exit, from what `spawn` reported. In a sandbox the spawned process is bwrap,
   * which exits with 128+N when the runtime was killed by signal N: that becomes the signal again.
   */
  runtimeExit(code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null };
}

export const DEFAULT_PIDS_MAX = 1024;
export const DEFAULT_NOFILE = 1024;
const MIB = 1024 * 1024;
/** How long `destroy()` waits for the processes of a killed environment to disappear. */
const DESTROY_WAIT_MS = 5000;

/** prlimit(1) from util-linux: rlimits for plain processes (today's behaviour). */
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find(isExecutable);

/** Error raised when a sandbox cannot be prepared (host problem, not the function's). */
export class SandboxError extends Error {
  override name = 'SandboxError';
}

interface Probe {
  support: IsolationSupport;
  bwrap: BwrapSetup | undefined;
  cgroups: CgroupTree | undefined;
}

function modeOf(options: IsolationOptions): { mode: IsolationMode; source: string } {
  if (options.mode) return { mode: options.mode, source: `mode option '${options.mode}'` };
  const raw = (options.env ?? process.env).KUMO_ISOLATION?.trim();
  if (!raw) return { mode: 'auto', source: 'default' };
  if (raw === 'auto' || raw === 'process' || raw === 'sandbox') return { mode: raw, source: `KUMO_ISOLATION=${raw}` };
  throw new SandboxError(`KUMO_ISOLATION must be auto, process or sandbox (got "${raw}")`);
}

async function probe(options: IsolationOptions): Promise<Probe> {
  const { mode, source } = modeOf(options);
  const reasons: string[] = [];
  let bwrap: BwrapSetup | undefined;
  let cgroups: CgroupTree | undefined;

  if (mode === 'process') {
    reasons.push(`plain processes forced (${source})`);
  } else if (process.platform !== 'linux') {
    reasons.push(`${process.platform}: bubblewrap and cgroups are Linux features`);
  } else {
    const bwrapPath = options.bwrapPath ?? BWRAP_CANDIDATES.find(isExecutable);
    if (!bwrapPath || !isExecutable(bwrapPath)) {
      reasons.push(`bubblewrap: not installed (${options.bwrapPath ?? BWRAP_CANDIDATES.join(', ')}; Debian: apt-get install bubblewrap)`);
    } else {
      try {
        const setup = prepareBwrap(bwrapPath);
        const failure = await probeBwrap(setup);
        if (failure) {
          disposeBwrap(setup);
          reasons.push(failure);
        } else {
          bwrap = setup;
          reasons.push(
            `bubblewrap: ${bwrapPath} works; mount, PID, IPC and UTS namespaces; runs as ${SANDBOX_USER.name} (${SANDBOX_USER.uid}:${SANDBOX_USER.gid}) via ${
              setup.userMode === 'setpriv' ? 'setpriv (Kumo is root; no user namespace)' : 'a user namespace (Kumo is not root)'
            }`,
          );
          if (!setup.sizeOption) {
            reasons.push(
              'bubblewrap: this bwrap has no --size option (0.8.0 has it): /tmp is not capped at EphemeralStorage, only by the memory limit',
            );
          }
        }
      } catch (e) {
        reasons.push(`bubblewrap: ${(e as Error).message}`);
      }
    }
    const found = discoverCgroups(options.cgroupVersion);
    if (found.ok) {
      cgroups = found.tree;
      reasons.push(
        `cgroup ${found.tree.version}: per-environment memory, CPU and pids limits under ${found.tree.parents.join(', ')}; freezer: ${
          found.tree.freezer ? 'cgroup' : 'none (SIGSTOP)'
        }`,
      );
      reasons.push(...found.notes);
    } else {
      reasons.push(...found.reasons);
    }
  }

  const kind = bwrap ? 'bubblewrap' : 'process';
  const cgroup = cgroups?.version;
  let warning: string | undefined;
  if (!bwrap || !cgroups) {
    const weaker = [
      !bwrap && `functions run as plain processes under Kumo's own user and can read whatever Kumo can`,
      !cgroups && 'memory is limited by RLIMIT_DATA only, CPU and process counts not at all, and idle environments are frozen with SIGSTOP',
    ].filter(Boolean);
    warning = `Kumo: weaker isolation on this host: ${weaker.join('; ')}. \`kumo doctor\` says why.`;
  }
  if (mode === 'sandbox' && (!bwrap || !cgroups)) {
    if (bwrap) disposeBwrap(bwrap);
    cgroups?.close();
    throw new SandboxError(`full isolation required (${source}), but this host cannot: ${reasons.join('; ')}`);
  }
  const support: IsolationSupport = Object.freeze({
    kind,
    namespaces: bwrap !== undefined,
    cgroup,
    freezer: cgroups?.freezer ? 'cgroup' : 'sigstop',
    user: bwrap?.userMode,
    tmpSizeCapped: bwrap?.sizeOption ?? false,
    reasons: Object.freeze(reasons),
    warning,
  });
  return { support, bwrap, cgroups };
}

/**
 * Detects what isolation this host supports (runs a trial sandbox, creates and removes a trial
 * cgroup). `Isolation.create` does the same and keeps what it set up.
 */
export async function detectIsolation(options: IsolationOptions = {}): Promise<IsolationSupport> {
  const { support, bwrap, cgroups } = await probe(options);
  if (bwrap) disposeBwrap(bwrap);
  cgroups?.close();
  return support;
}

/**
 * The isolation layer: made once at startup, it prepares one sandbox per execution environment.
 * Lifecycle: `create()` → `command()` per environment → `close()`.
 */
export class Isolation {
  private readonly live = new Set<Sandbox>();
  private closed = false;

  private constructor(
    readonly support: IsolationSupport,
    private readonly bwrap: BwrapSetup | undefined,
    private readonly cgroups: CgroupTree | undefined,
    private readonly peers: PeerCheck,
  ) {}

  static async create(options: IsolationOptions = {}): Promise<Isolation> {
    const { warn } = options;
    const [{ support, bwrap, cgroups }, owners] = await Promise.all([
      probe(options),
      openSocketOwners((reason) => warn?.(`Runtime API peer check: reading /proc/net/tcp (slower) because ${reason}`)),
    ]);
    const peers = new PeerCheck(owners, warn && ((r) => warn('Runtime API: refused a connection that is not from its environment', r)));
    return new Isolation(support, bwrap, cgroups, peers);
  }

  /**
   * Whether the client end of a connection to an environment's Runtime API is held by one of that
   * environment's processes (its cgroup's, else its process tree's). Refusals are logged through
   * `IsolationOptions.warn`, with `context` (the function, say). See docs/sandbox.md.
   */
  verifyPeer(handle: SandboxHandle, ends: ConnectionEnds, context?: Record<string, string>): Promise<PeerVerdict> {
    return this.peers.verify(handle, ends, context);
  }

  /**
   * The host uid that execution environments' processes (and so their sockets) have, when it is
   * not Kumo's own: bubblewrap with setpriv, Kumo running as root. Undefined otherwise (plain
   * processes; bubblewrap's user namespace maps the sandbox user to Kumo's uid).
   */
  get environmentUid(): number | undefined {
    return this.bwrap?.userMode === 'setpriv' && this.bwrap.setpriv ? SANDBOX_USER.uid : undefined;
  }

  /**
   * Whether a connection to one of Kumo's own ports (its API) may come from an execution
   * environment. Sandboxes share the host's network, so functions can connect to Kumo's API; the
   * kernel says who made the client socket, never the request. Fails closed: a connection counts
   * as the host's only when the kernel shows it so.
   *
   * - With an `environmentUid` (functions run as their own uid): the uid that made the client
   *   socket. One lookup.
   * - Without (functions run under Kumo's own uid): a process that holds the client socket must be
   *   found, and be neither a process of a live environment nor in another PID namespace (every
   *   bubblewrap sandbox has its own). Every process's descriptors may be read, newest first: slow,
   *   but once per connection. A socket in flight (passed over a Unix socket) is held by no process.
   * - A socket the kernel does not know is a remote client's when its address is not this host's,
   *   and counts as an environment's otherwise (its owner closed it, or passed it on).
   */
  connectionFromEnvironment(ends: ConnectionEnds): Promise<boolean> | false {
    const uid = this.environmentUid;
    if (uid !== undefined) {
      return this.peers.socketUid(ends).then(
        (found) => (found === undefined ? isLocalAddress(ends.remoteAddress) : found === uid),
        () => true,
      );
    }
    const before = new Set([...this.live].flatMap((s) => s.pids()));
    if (before.size === 0) return false; // no environment, so no function, is running
    return this.peers.holderOf(ends, allPidsNewestFirst()).then(
      (holder) => {
        if (holder === undefined) return isLocalAddress(ends.remoteAddress);
        // Also the environments' processes now: one forked while the descriptors were read.
        return before.has(holder) || inOtherPidNamespace(holder) || [...this.live].some((s) => s.pids().includes(holder));
      },
      () => true,
    );
  }

  /** How the peer check finds the client socket: 'sock_diag' (exact lookup) or 'proc' (/proc/net/tcp). */
  get peerCheckMethod(): 'sock_diag' | 'proc' {
    return this.peers.method;
  }

  /** The parent cgroup directories environments are made in (removed by `close()`). */
  get cgroupParents(): readonly string[] {
    return this.cgroups?.parents ?? [];
  }

  /**
   * Prepares the sandbox of one environment (creates its cgroup with its limits) and says how to
   * start its process. Spawn it with `detached: true`. Throws `SandboxError` on a host failure.
   */
  command(spec: SandboxSpec): SandboxLaunch {
    if (this.closed) throw new SandboxError('isolation closed');
    if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(spec.envId)) throw new SandboxError(`invalid environment id: ${spec.envId}`);
    const nofile = spec.nofile ?? DEFAULT_NOFILE;
    const cpus = spec.cpus === 'unlimited' ? undefined : (spec.cpus ?? spec.memoryMb / MB_PER_VCPU);
    const tmp = this.bwrap ? this.tmpMount(spec) : undefined;
    let cgroup: EnvCgroup | undefined;
    if (this.cgroups) {
      try {
        cgroup = this.cgroups.create(spec.envId, { memoryMb: spec.memoryMb, cpus, pidsMax: spec.pidsMax ?? DEFAULT_PIDS_MAX });
      } catch (e) {
        throw new SandboxError(`cannot create the cgroup of environment ${spec.envId}: ${(e as Error).message}`);
      }
    }

    let file = spec.command.file;
    let args = [...spec.command.args];
    let env = definedOnly(spec.env);
    let cwd = spec.taskRoot;
    let layout: SandboxLayout;
    if (this.bwrap && tmp) {
      const map = sandboxPathMap(spec, this.bwrap.nodeBinary);
      layout = {
        taskRoot: SANDBOX_PATHS.taskRoot,
        runtimeDir: SANDBOX_PATHS.runtimeDir,
        tmpDir: SANDBOX_PATHS.tmp,
        node: SANDBOX_PATHS.node,
        toSandbox: (p) => map.map(p),
        toSandboxEnv: (vars) => mapValues(definedOnly(vars), (v) => map.mapList(v)),
      };
      env = layout.toSandboxEnv(env);
      args = bwrapArgs(
        this.bwrap,
        { taskRoot: spec.taskRoot, runtimeDir: spec.runtimeDir, optDir: spec.optDir, tmp },
        map.map(file),
        args.map((a) => map.mapList(a)),
      );
      file = this.bwrap.bwrap;
      cwd = '/';
    } else {
      layout = {
        taskRoot: spec.taskRoot,
        runtimeDir: spec.runtimeDir,
        tmpDir: spec.scratchDir,
        node: process.execPath,
        toSandbox: (p) => p,
        toSandboxEnv: (vars) => definedOnly(vars),
      };
    }

    if (cgroup) {
      // The process joins its cgroups before anything else runs: a shell writes its own pid, sets
      // the open-files limit, then exec's bwrap (or the runtime) in place. Costs one dash exec (~1 ms).
      const joins = cgroup.procsFiles.map((f) => `echo $$ > ${shellQuote(f)}`).join(' && ');
      args = ['-c', `${joins} && ulimit -n ${nofile} && exec "$@"`, 'kumo-sandbox', file, ...args];
      file = '/bin/sh';
    } else if (PRLIMIT) {
      // Today's behaviour: RLIMIT_DATA stands in for the memory limit.
      args = [`--data=${spec.memoryMb * MIB}`, `--nofile=${nofile}:${nofile}`, '--', file, ...args];
      file = PRLIMIT;
    }

    const handle = new Sandbox(spec.envId, cgroup, this.bwrap !== undefined, (s) => this.live.delete(s));
    this.live.add(handle);
    return { file, args, env, cwd, layout, handle };
  }

  private tmpMount(spec: SandboxSpec): { kind: 'tmpfs'; bytes: number } | { kind: 'disk'; dir: string } {
    if (spec.tmp !== 'disk') return { kind: 'tmpfs', bytes: spec.ephemeralStorageMb * MIB };
    try {
      fs.mkdirSync(spec.scratchDir, { recursive: true, mode: 0o700 });
      // Only the sandbox user (and root) may enter it; in userns mode it is Kumo's own directory already.
      if (this.bwrap?.userMode === 'setpriv') fs.chownSync(spec.scratchDir, SANDBOX_USER.uid, SANDBOX_USER.gid);
    } catch (e) {
      throw new SandboxError(`cannot prepare ${spec.scratchDir} as /tmp: ${(e as Error).message}`);
    }
    return { kind: 'disk', dir: spec.scratchDir };
  }

  /** Destroys every sandbox still alive and removes what `create()` set up. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.live].map((s) => s.destroy()));
    this.peers.close();
    this.cgroups?.close();
    if (this.bwrap) disposeBwrap(this.bwrap);
  }
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function mapValues(env: Record<string, string>, fn: (v: string) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = fn(v);
  return out;
}

function sandboxPathMap(spec: SandboxSpec, nodeBinary: string): PathMap {
  const entries: Array<{ host: string; inside: string; exact?: boolean }> = [
    { host: spec.taskRoot, inside: SANDBOX_PATHS.taskRoot },
    { host: spec.runtimeDir, inside: SANDBOX_PATHS.runtimeDir },
    { host: spec.scratchDir, inside: SANDBOX_PATHS.tmp },
    ...(spec.optDir === undefined ? [] : [{ host: spec.optDir, inside: SANDBOX_PATHS.opt }]),
    { host: nodeBinary, inside: SANDBOX_PATHS.node, exact: true },
    { host: process.execPath, inside: SANDBOX_PATHS.node, exact: true },
  ];
  // Node's directory on PATH: when it is not a system directory, only node itself is there.
  const nodeDir = path.dirname(process.execPath);
  if (!visibleAsIs(nodeDir)) entries.push({ host: nodeDir, inside: SANDBOX_PATHS.langBin, exact: true });
  return new PathMap(entries);
}

class Sandbox implements SandboxHandle {
  private pid: number | undefined;
  private peak: ProcessPeakMemory | undefined;
  private lastPeakBytes = 0;
  private oom: boolean | undefined;
  private stateValue: SandboxState = 'created';
  private destroying: Promise<void> | undefined;
  /** Set by kill(): a killed sandbox is never frozen again (its dying processes could not exit). */
  private killed = false;

  constructor(
    readonly envId: string,
    private readonly cg: EnvCgroup | undefined,
    private readonly namespaced: boolean,
    private readonly onDestroyed: (s: Sandbox) => void,
  ) {}

  get cgroup(): string | undefined {
    return this.cg?.path;
  }

  get cgroupDirs(): readonly string[] {
    return this.cg?.dirs ?? [];
  }

  runtimeExit(code: number | null, sig: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
    if (!this.namespaced || code === null || code <= 128) return { code, signal: sig };
    const name = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0] as NodeJS.Signals | undefined;
    return name ? { code: null, signal: name } : { code, signal: sig };
  }

  get state(): SandboxState {
    return this.stateValue;
  }

  attach(pid: number | undefined): void {
    this.pid = pid;
    if (this.stateValue === 'created') this.stateValue = 'running';
  }

  pids(): number[] {
    if (this.stateValue === 'destroyed') return [];
    if (this.cg) return this.cg.pids();
    return this.pid === undefined ? [] : processTree(this.pid);
  }

  setCpuLimit(cpus: number | undefined): void {
    if (this.stateValue === 'destroyed' || !this.cg) return;
    try {
      this.cg.setCpu(cpus);
    } catch (e) {
      throw new SandboxError(`cannot set the CPU limit of environment ${this.envId}: ${(e as Error).message}`);
    }
  }

  setMemoryLimit(memoryMb: number): void {
    if (this.stateValue === 'destroyed' || !this.cg) return;
    try {
      this.cg.setMemory(memoryMb);
    } catch (e) {
      throw new SandboxError(`cannot set the memory limit of environment ${this.envId} to ${memoryMb} MB: ${(e as Error).message}`);
    }
  }

  peakMemoryMb(): number {
    if (this.cg) {
      if (this.stateValue !== 'destroyed') this.lastPeakBytes = this.cg.peakMemoryBytes() ?? this.lastPeakBytes;
    } else {
      this.peak ??= this.processPeakReader();
      if (this.peak) this.lastPeakBytes = this.peak.read();
    }
    return Math.ceil(this.lastPeakBytes / MIB);
  }

  /**
   * Without cgroups the peak is the runtime process's own VmHWM. In a bwrap sandbox the attached pid
   * is bwrap's monitor; the runtime is its grandchild (monitor → PID 1 of the namespace → runtime).
   */
  private processPeakReader(): ProcessPeakMemory | undefined {
    if (this.pid === undefined) return undefined;
    if (!this.namespaced) return new ProcessPeakMemory(this.pid);
    const init = childrenOf(this.pid)[0];
    const runtime = init === undefined ? undefined : childrenOf(init)[0];
    return runtime === undefined ? undefined : new ProcessPeakMemory(runtime);
  }

  oomKilled(): boolean | undefined {
    if (!this.cg) return undefined;
    if (this.stateValue !== 'destroyed') {
      const kills = this.cg.oomKills();
      if (kills !== undefined) this.oom = kills > 0;
    }
    return this.oom;
  }

  stats(): SandboxStats {
    if (this.cg && this.stateValue !== 'destroyed') return { source: 'cgroup', ...this.cg.stats() };
    return {
      source: 'process',
      memoryBytes: undefined,
      peakMemoryBytes: this.peakMemoryMb() * MIB,
      oomKills: undefined,
      cpuUsageUs: undefined,
      pids: undefined,
      pidsLimitHits: undefined,
    };
  }

  /** Never rejects: callers may leave it unawaited. An environment whose cgroup is gone (it died) stays running. */
  async freeze(): Promise<void> {
    if (this.stateValue !== 'running' || this.killed) return;
    this.stateValue = 'frozen';
    if (this.cg?.hasFreezer) {
      try {
        await this.cg.freeze();
      } catch {
        if (this.stateValue === 'frozen') this.stateValue = 'running';
      }
    } else if (this.pid !== undefined) {
      signal(-this.pid, 'SIGSTOP');
    }
  }

  thaw(): void {
    if (this.stateValue !== 'frozen') return;
    this.stateValue = 'running';
    if (this.cg?.hasFreezer) this.cg.thaw();
    else if (this.pid !== undefined) signal(-this.pid, 'SIGCONT');
  }

  kill(): void {
    if (this.stateValue === 'destroyed') return;
    this.killed = true;
    if (this.cg) {
      this.cg.kill();
      if (this.stateValue === 'frozen') this.stateValue = 'running';
      return;
    }
    if (this.pid === undefined) return;
    // The process group, and any descendant that left it (setsid); a stopped process dies on SIGKILL too.
    for (const target of [-this.pid, this.pid, ...descendants(this.pid)]) signal(target, 'SIGKILL');
  }

  destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    this.peakMemoryMb();
    this.oomKilled();
    this.kill();
    const cg = this.cg;
    if (cg) {
      const deadline = Date.now() + DESTROY_WAIT_MS;
      while (!cg.remove() && Date.now() < deadline) {
        cg.kill();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    this.peak?.close();
    this.stateValue = 'destroyed';
    this.onDestroyed(this);
  }
}

/** Every process on the host, newest (highest pid) first: a client that just connected is likely recent. */
function allPidsNewestFirst(): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids.sort((a, b) => b - a);
}

let ownPidNamespace: string | undefined;

/** Whether `pid` lives in another PID namespace than Kumo (a sandbox); true when that cannot be read (it is gone). */
function inOtherPidNamespace(pid: number): boolean {
  try {
    ownPidNamespace ??= fs.readlinkSync('/proc/self/ns/pid');
    return fs.readlinkSync(`/proc/${pid}/ns/pid`) !== ownPidNamespace;
  } catch {
    return true;
  }
}
