import fs from 'node:fs';
import path from 'node:path';
import { ProcFile, isAlive, keyedValue, signal } from './procfs.js';

/**
 * One cgroup per execution environment, under `<Kumo's own cgroup>/kumo/<instance>/` (cgroup v1: in
 * each of the memory, cpu, cpuacct, pids and freezer hierarchies) or `<cgroup2 mount>/kumo/<instance>/`
 * (cgroup v2, where the root cgroup is exempt from the no-internal-processes rule, so controllers
 * can be delegated below it). `<instance>` is `<pid>-<n>`: a later Kumo removes what a dead one left.
 */

export type CgroupVersion = 'v1' | 'v2';

export interface CgroupLimits {
  memoryMb: number;
  /** CPU quota in vCPUs; undefined for none. */
  cpus: number | undefined;
  pidsMax: number;
}

/** What the cgroup counted; a field is undefined where the host's cgroups do not report it. */
export interface CgroupStats {
  memoryBytes: number | undefined;
  peakMemoryBytes: number | undefined;
  /** Processes the kernel's OOM killer ended in this cgroup. */
  oomKills: number | undefined;
  /** CPU time used by every process that ran in it, in microseconds. */
  cpuUsageUs: number | undefined;
  pids: number | undefined;
  /** fork/clone calls refused because the pids limit was reached. */
  pidsLimitHits: number | undefined;
}

/** The cgroup of one environment. */
export interface EnvCgroup {
  readonly version: CgroupVersion;
  /** Its directory (v1: the one in the memory hierarchy). */
  readonly path: string;
  /** Every directory of this cgroup (v1: one per hierarchy). */
  readonly dirs: readonly string[];
  /** Write a pid to each of these to put the process (and everything it starts later) in the cgroup. */
  readonly procsFiles: readonly string[];
  readonly hasFreezer: boolean;
  setCpu(cpus: number | undefined): void;
  /** Changes the memory limit (and the CPU weight that follows it). Throws if usage is above a lower limit and cannot be reclaimed. */
  setMemory(memoryMb: number): void;
  peakMemoryBytes(): number | undefined;
  oomKills(): number | undefined;
  stats(): CgroupStats;
  /** Resolves when the freezer reports every process frozen (or after `FREEZE_SETTLE_MS`, freezing goes on). */
  freeze(): Promise<void>;
  thaw(): void;
  pids(): number[];
  /** SIGKILLs every process in the cgroup, also those forking while it runs. */
  kill(): void;
  /** Removes the cgroup's directories once no process is left in them; false while some remain. */
  remove(): boolean;
}

/** Where this process makes environment cgroups. */
export interface CgroupTree {
  readonly version: CgroupVersion;
  readonly freezer: boolean;
  /** The per-instance parent directories (for `kumo doctor`). */
  readonly parents: readonly string[];
  create(name: string, limits: CgroupLimits): EnvCgroup;
  /** Removes the instance's parent directories (environments must be removed first). */
  close(): void;
}

export type CgroupDiscovery = { ok: true; tree: CgroupTree; notes: string[] } | { ok: false; reasons: string[] };

/** Lambda's ratio: 1,769 MB of memory buys one vCPU. */
export const MB_PER_VCPU = 1769;
export const CPU_PERIOD_US = 20_000;
/** How long `freeze()` waits for the freezer to settle before resolving anyway. */
export const FREEZE_SETTLE_MS = 1000;
const MIB = 1024 * 1024;

let instanceCounter = 0;

/** A name for this Isolation's parent cgroup: unique in this process, and tells a later run whether its owner is alive. */
function instanceName(): string {
  instanceCounter += 1;
  return `${process.pid}-${instanceCounter}`;
}

interface MountInfo {
  mountpoint: string;
  root: string;
  fstype: string;
  superOptions: string[];
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function readMounts(): MountInfo[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    const root = l[3];
    const mountpoint = l[4];
    const fstype = r[0];
    if (root === undefined || mountpoint === undefined || fstype === undefined) continue;
    mounts.push({ root: unescapeMount(root), mountpoint: unescapeMount(mountpoint), fstype, superOptions: (r[2] ?? '').split(',') });
  }
  return mounts;
}

/** Lines of /proc/self/cgroup: hierarchy controllers → this process's path in it ('' = the v2 hierarchy). */
function ownCgroups(): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    out.set(line.slice(first + 1, second), line.slice(second + 1));
  }
  return out;
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message;
}

function mkdirp(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

function readNumber(file: string): number | undefined {
  const text = readText(file);
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

function pidsIn(dir: string): number[] {
  const text = readText(path.join(dir, 'cgroup.procs'));
  if (!text) return [];
  return text
    .split('\n')
    .filter((s) => s.length > 0)
    .map(Number);
}

function rmdirQuiet(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * Removes the instance directories under `kumoDir` whose owning Kumo process is gone (it crashed or
 * was killed), SIGKILLing whatever still runs in them. Directories of live instances are left alone.
 */
function removeStale(kumoDir: string, killer: (dir: string) => void): void {
  let names: string[];
  try {
    names = fs.readdirSync(kumoDir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^(\d+)-\d+$/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    const instance = path.join(kumoDir, name);
    let envs: string[];
    try {
      envs = fs
        .readdirSync(instance, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      continue;
    }
    for (const env of envs) {
      const dir = path.join(instance, env);
      killer(dir);
      rmdirWhenEmpty(dir, () => killer(dir));
    }
    rmdirQuiet(instance);
  }
}

/**
 * Thaws every environment of the dead instances under `kumoDir` (`file`: `freezer.state` in v1,
 * `cgroup.freeze` in v2): a Kumo killed with SIGKILL leaves its idle environments frozen, and a
 * frozen process cannot act on SIGKILL until it is thawed.
 */
function thawStale(kumoDir: string, file: string, thawed: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(kumoDir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^(\d+)-\d+$/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    const instance = path.join(kumoDir, name);
    let envs: string[];
    try {
      envs = fs
        .readdirSync(instance, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      continue;
    }
    for (const env of envs) {
      try {
        fs.writeFileSync(path.join(instance, env, file), thawed);
      } catch {
        /* not frozen, or already gone */
      }
    }
  }
}

/**
 * A killed process stays in its cgroup until its exit completes, so removing the directory right
 * after the kill can fail. At startup only: retry for up to half a second, blocking briefly.
 */
function rmdirWhenEmpty(dir: string, killAgain: () => void, timeoutMs = 500): boolean {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (rmdirQuiet(dir)) return true;
    if (Date.now() > deadline) return false;
    killAgain();
    Atomics.wait(pause, 0, 0, 2);
  }
}

function killLoop(dirs: readonly string[], freeze: ((on: boolean) => void) | undefined): void {
  // Frozen first, so nothing forks between reading the list and the kills; the kills land on thaw.
  for (let round = 0; round < 50; round++) {
    const pids = new Set(dirs.flatMap(pidsIn));
    if (pids.size === 0) return;
    freeze?.(true);
    for (const pid of pids) signal(pid, 'SIGKILL');
    freeze?.(false);
  }
}

async function settle(check: () => boolean): Promise<void> {
  if (check()) return;
  const deadline = performance.now() + FREEZE_SETTLE_MS;
  for (let i = 0; performance.now() < deadline; i++) {
    await new Promise((resolve) => (i < 20 ? setImmediate(resolve) : setTimeout(resolve, 1)));
    if (check()) return;
  }
}

function quotaUs(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CPU_PERIOD_US));
}

// ---------------------------------------------------------------------------------------------
// cgroup v1

const V1_REQUIRED = ['memory', 'cpu', 'pids', 'freezer'] as const;
const V1_OPTIONAL = ['cpuacct'] as const;
type V1Controller = (typeof V1_REQUIRED)[number] | (typeof V1_OPTIONAL)[number];

class V1Tree implements CgroupTree {
  readonly version = 'v1';
  readonly freezer = true;

  constructor(
    /** Instance parent directory per controller (controllers sharing a hierarchy share a directory). */
    private readonly parentOf: ReadonlyMap<V1Controller, string>,
  ) {}

  get parents(): string[] {
    return [...new Set(this.parentOf.values())];
  }

  create(name: string, limits: CgroupLimits): EnvCgroup {
    const dirs = new Map<V1Controller, string>();
    for (const [controller, parent] of this.parentOf) dirs.set(controller, path.join(parent, name));
    const unique = [...new Set(dirs.values())];
    try {
      for (const dir of unique) fs.mkdirSync(dir);
      const env = new V1Env(dirs, unique);
      env.applyLimits(limits);
      return env;
    } catch (e) {
      for (const dir of unique) rmdirQuiet(dir);
      throw e;
    }
  }

  close(): void {
    for (const dir of this.parents) {
      rmdirQuiet(dir);
      rmdirQuiet(path.dirname(dir)); // kumo/, when no other instance uses it
    }
  }
}

class V1Env implements EnvCgroup {
  readonly version = 'v1';
  readonly hasFreezer = true;
  readonly path: string;
  readonly dirs: readonly string[];
  readonly procsFiles: readonly string[];
  private readonly memory: string;
  private readonly cpu: string;
  private readonly pidsDir: string;
  private readonly cpuacct: string | undefined;
  private readonly freezerState: ProcFile;
  private readonly peak: ProcFile;
  private lastPeak: number | undefined;
  private freezes = 0;

  constructor(
    dirs: ReadonlyMap<V1Controller, string>,
    private readonly unique: readonly string[],
  ) {
    this.dirs = unique;
    const need = (c: V1Controller): string => {
      const d = dirs.get(c);
      if (d === undefined) throw new Error(`cgroup v1: no ${c} hierarchy`);
      return d;
    };
    this.memory = need('memory');
    this.cpu = need('cpu');
    this.pidsDir = need('pids');
    this.cpuacct = dirs.get('cpuacct');
    this.path = this.memory;
    this.procsFiles = unique.map((d) => path.join(d, 'cgroup.procs'));
    this.freezerState = new ProcFile(path.join(need('freezer'), 'freezer.state'), 'r+', 64);
    this.peak = new ProcFile(path.join(this.memory, 'memory.max_usage_in_bytes'), 'r', 64);
  }

  applyLimits(limits: CgroupLimits): void {
    try {
      fs.writeFileSync(path.join(this.memory, 'memory.swappiness'), '0');
    } catch {
      /* not settable on every kernel; memsw (or no swap) already rules swapping out */
    }
    this.setMemory(limits.memoryMb);
    fs.writeFileSync(path.join(this.pidsDir, 'pids.max'), String(limits.pidsMax));
    fs.writeFileSync(path.join(this.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    this.setCpu(limits.cpus);
  }

  setMemory(memoryMb: number): void {
    const bytes = memoryMb * MIB;
    const limit = path.join(this.memory, 'memory.limit_in_bytes');
    // memory+swap capped at the same figure: no swapping, as in Lambda. It must never be below the
    // memory limit: raised first when growing, lowered last when shrinking. (Absent without swap accounting.)
    const memsw = path.join(this.memory, 'memory.memsw.limit_in_bytes');
    const hasMemsw = fs.existsSync(memsw);
    if (hasMemsw && bytes > (readNumber(limit) ?? 0)) {
      fs.writeFileSync(memsw, String(bytes));
      fs.writeFileSync(limit, String(bytes));
    } else {
      fs.writeFileSync(limit, String(bytes));
      if (hasMemsw) fs.writeFileSync(memsw, String(bytes));
    }
    // Shares proportional too, so environments competing for a busy host split it by memory size.
    fs.writeFileSync(path.join(this.cpu, 'cpu.shares'), String(Math.max(2, Math.round((1024 * memoryMb) / MB_PER_VCPU))));
  }

  setCpu(cpus: number | undefined): void {
    fs.writeFileSync(path.join(this.cpu, 'cpu.cfs_quota_us'), cpus === undefined ? '-1' : String(quotaUs(cpus)));
  }

  peakMemoryBytes(): number | undefined {
    const text = this.peak.read();
    if (text !== undefined) this.lastPeak = Number(text.trim());
    return this.lastPeak;
  }

  oomKills(): number | undefined {
    return keyedValue(readText(path.join(this.memory, 'memory.oom_control')), 'oom_kill');
  }

  stats(): CgroupStats {
    const ns = this.cpuacct === undefined ? undefined : readNumber(path.join(this.cpuacct, 'cpuacct.usage'));
    return {
      memoryBytes: readNumber(path.join(this.memory, 'memory.usage_in_bytes')),
      peakMemoryBytes: this.peakMemoryBytes(),
      oomKills: this.oomKills(),
      cpuUsageUs: ns === undefined ? undefined : Math.round(ns / 1000),
      pids: readNumber(path.join(this.pidsDir, 'pids.current')),
      pidsLimitHits: keyedValue(readText(path.join(this.pidsDir, 'pids.events')), 'max'),
    };
  }

  freeze(): Promise<void> {
    this.freezerState.write('FROZEN');
    const generation = ++this.freezes;
    // FREEZING until every task has reached the refrigerator; reading the state re-checks. A task
    // throttled by its CPU quota gets there at its next CPU period (at most CPU_PERIOD_US later).
    return settle(() => generation !== this.freezes || (this.freezerState.read()?.startsWith('FROZEN') ?? true));
  }

  thaw(): void {
    this.freezes++; // a freeze() still settling stops waiting
    try {
      this.freezerState.write('THAWED');
    } catch {
      /* removed already */
    }
  }

  pids(): number[] {
    return pidsIn(this.memory);
  }

  kill(): void {
    killLoop(this.unique, (on) => {
      try {
        this.freezerState.write(on ? 'FROZEN' : 'THAWED');
      } catch {
        /* removed already */
      }
    });
  }

  remove(): boolean {
    this.freezerState.close();
    this.peak.close();
    this.peakMemoryBytes();
    let all = true;
    for (const dir of this.unique) {
      if (pidsIn(dir).length > 0 || !rmdirQuiet(dir)) all = false;
    }
    return all;
  }
}

function discoverV1(instance: string, mounts: readonly MountInfo[], own: ReadonlyMap<string, string>): CgroupDiscovery {
  const reasons: string[] = [];
  const parentOf = new Map<V1Controller, string>();
  for (const controller of [...V1_REQUIRED, ...V1_OPTIONAL]) {
    const mount = mounts.find((m) => m.fstype === 'cgroup' && m.superOptions.includes(controller));
    const ownPath = [...own].find(([controllers]) => controllers.split(',').includes(controller))?.[1];
    if (!mount || ownPath === undefined) {
      if ((V1_REQUIRED as readonly string[]).includes(controller)) reasons.push(`cgroup v1: no ${controller} hierarchy mounted`);
      continue;
    }
    const relative = path.posix.relative(mount.root, ownPath);
    const ownDir = relative.startsWith('..') ? mount.mountpoint : path.join(mount.mountpoint, relative);
    parentOf.set(controller, path.join(ownDir, 'kumo', instance));
  }
  if (reasons.length > 0) return { ok: false, reasons };
  const made: string[] = [];
  const freezerParent = parentOf.get('freezer');
  if (freezerParent) thawStale(path.dirname(freezerParent), 'freezer.state', 'THAWED');
  for (const dir of new Set(parentOf.values())) {
    try {
      removeStale(path.dirname(dir), (d) => killLoop([d], undefined));
      mkdirp(dir);
      made.push(dir);
    } catch (e) {
      for (const d of made) rmdirQuiet(d);
      return { ok: false, reasons: [`cgroup v1: cannot create ${dir}: ${errText(e)}`] };
    }
  }
  const memory = parentOf.get('memory') ?? '';
  if (!fs.existsSync(path.join(memory, 'memory.oom_control')) || !fs.existsSync(path.join(memory, 'memory.max_usage_in_bytes'))) {
    for (const dir of made) rmdirQuiet(dir);
    return { ok: false, reasons: ['cgroup v1: the memory controller lacks memory.oom_control or memory.max_usage_in_bytes'] };
  }
  return { ok: true, tree: new V1Tree(parentOf), notes: [] };
}

// ---------------------------------------------------------------------------------------------
// cgroup v2

const V2_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

class V2Tree implements CgroupTree {
  readonly version = 'v2';

  constructor(
    private readonly parent: string,
    private readonly controllers: ReadonlySet<string>,
    readonly freezer: boolean,
  ) {}

  get parents(): string[] {
    return [this.parent];
  }

  create(name: string, limits: CgroupLimits): EnvCgroup {
    const dir = path.join(this.parent, name);
    fs.mkdirSync(dir);
    try {
      const env = new V2Env(dir, this.controllers, this.freezer);
      env.applyLimits(limits);
      return env;
    } catch (e) {
      rmdirQuiet(dir);
      throw e;
    }
  }

  close(): void {
    rmdirQuiet(this.parent);
    rmdirQuiet(path.dirname(this.parent));
  }
}

class V2Env implements EnvCgroup {
  readonly version = 'v2';
  readonly dirs: readonly string[];
  readonly procsFiles: readonly string[];
  private readonly freezeFile: ProcFile;
  private readonly events: ProcFile;
  private readonly peak: ProcFile;
  private lastPeak: number | undefined;
  private freezes = 0;

  readonly path: string;

  constructor(
    dir: string,
    private readonly controllers: ReadonlySet<string>,
    readonly hasFreezer: boolean,
  ) {
    this.path = dir;
    this.dirs = [dir];
    this.procsFiles = [path.join(this.path, 'cgroup.procs')];
    this.freezeFile = new ProcFile(path.join(this.path, 'cgroup.freeze'), 'r+', 64);
    this.events = new ProcFile(path.join(this.path, 'cgroup.events'), 'r', 256);
    // memory.peak exists from Linux 5.19.
    this.peak = new ProcFile(path.join(this.path, 'memory.peak'), 'r', 64);
  }

  private write(file: string, value: string): void {
    fs.writeFileSync(path.join(this.path, file), value);
  }

  applyLimits(limits: CgroupLimits): void {
    if (this.controllers.has('memory')) {
      if (fs.existsSync(path.join(this.path, 'memory.swap.max'))) this.write('memory.swap.max', '0');
      // The OOM killer ends the whole environment, not one of its processes: Lambda replaces it.
      if (fs.existsSync(path.join(this.path, 'memory.oom.group'))) this.write('memory.oom.group', '1');
    }
    this.setMemory(limits.memoryMb);
    if (this.controllers.has('pids')) this.write('pids.max', String(limits.pidsMax));
    this.setCpu(limits.cpus);
  }

  setMemory(memoryMb: number): void {
    if (this.controllers.has('memory')) this.write('memory.max', String(memoryMb * MIB));
    if (this.controllers.has('cpu')) {
      this.write('cpu.weight', String(Math.min(10_000, Math.max(1, Math.round((100 * memoryMb) / MB_PER_VCPU)))));
    }
  }

  setCpu(cpus: number | undefined): void {
    if (!this.controllers.has('cpu')) return;
    this.write('cpu.max', `${cpus === undefined ? 'max' : quotaUs(cpus)} ${CPU_PERIOD_US}`);
  }

  peakMemoryBytes(): number | undefined {
    if (!this.controllers.has('memory')) return undefined;
    const text = this.peak.read() ?? readText(path.join(this.path, 'memory.current'));
    if (text !== undefined) this.lastPeak = Math.max(this.lastPeak ?? 0, Number(text.trim()));
    return this.lastPeak;
  }

  oomKills(): number | undefined {
    if (!this.controllers.has('memory')) return undefined;
    return keyedValue(readText(path.join(this.path, 'memory.events')), 'oom_kill');
  }

  stats(): CgroupStats {
    const has = (c: string) => this.controllers.has(c);
    return {
      memoryBytes: has('memory') ? readNumber(path.join(this.path, 'memory.current')) : undefined,
      peakMemoryBytes: this.peakMemoryBytes(),
      oomKills: this.oomKills(),
      // cpu.stat's usage_usec is there without the cpu controller too.
      cpuUsageUs: keyedValue(readText(path.join(this.path, 'cpu.stat')), 'usage_usec'),
      pids: has('pids') ? readNumber(path.join(this.path, 'pids.current')) : undefined,
      pidsLimitHits: has('pids') ? keyedValue(readText(path.join(this.path, 'pids.events')), 'max') : undefined,
    };
  }

  freeze(): Promise<void> {
    this.freezeFile.write('1');
    const generation = ++this.freezes;
    return settle(() => generation !== this.freezes || keyedValue(this.events.read(), 'frozen') !== 0);
  }

  thaw(): void {
    this.freezes++;
    try {
      this.freezeFile.write('0');
    } catch {
      /* removed already */
    }
  }

  pids(): number[] {
    return pidsIn(this.path);
  }

  kill(): void {
    try {
      // Linux 5.14+: the kernel kills every process, forks included, in one step.
      fs.writeFileSync(path.join(this.path, 'cgroup.kill'), '1');
      return;
    } catch {
      /* older kernel: signal them one by one */
    }
    killLoop([this.path], (on) => {
      try {
        this.freezeFile.write(on ? '1' : '0');
      } catch {
        /* removed already */
      }
    });
  }

  remove(): boolean {
    this.freezeFile.close();
    this.events.close();
    this.peakMemoryBytes();
    this.peak.close();
    if (keyedValue(readText(path.join(this.path, 'cgroup.events')), 'populated') === 1) return false;
    return rmdirQuiet(this.path);
  }
}

/** Turns on `controllers` for the children of `dir` (each separately: one unavailable must not block the rest). */
function enableControllers(dir: string, controllers: readonly string[]): void {
  const enabled = new Set((readText(path.join(dir, 'cgroup.subtree_control')) ?? '').trim().split(' '));
  for (const c of controllers) {
    if (!enabled.has(c)) fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), `+${c}`);
  }
}

/**
 * A v2 tree at `<mount>/kumo/<instance>`. `required` lists the controllers it must have to count as
 * usable (memory, pids and cpu for real isolation; tests pass none to exercise the freezer and kill
 * on a hybrid host's controller-less v2 mount).
 */
export function createV2Tree(mount: string, required: readonly string[] = V2_CONTROLLERS, instance = instanceName()): CgroupDiscovery {
  const available = new Set((readText(path.join(mount, 'cgroup.controllers')) ?? '').trim().split(' ').filter(Boolean));
  const missing = required.filter((c) => !available.has(c));
  if (missing.length > 0) {
    return { ok: false, reasons: [`cgroup v2 at ${mount}: controller(s) ${missing.join(', ')} not available (bound to cgroup v1?)`] };
  }
  const controllers = V2_CONTROLLERS.filter((c) => available.has(c));
  const kumo = path.join(mount, 'kumo');
  const parent = path.join(kumo, instance);
  try {
    enableControllers(mount, controllers);
    mkdirp(kumo);
    enableControllers(kumo, controllers);
    thawStale(kumo, 'cgroup.freeze', '0');
    removeStale(kumo, (d) => {
      try {
        fs.writeFileSync(path.join(d, 'cgroup.kill'), '1');
      } catch {
        killLoop([d], undefined);
      }
    });
    mkdirp(parent);
    enableControllers(parent, controllers);
  } catch (e) {
    rmdirQuiet(parent);
    return { ok: false, reasons: [`cgroup v2: cannot delegate controllers below ${kumo}: ${errText(e)}`] };
  }
  const freezer = fs.existsSync(path.join(parent, 'cgroup.freeze'));
  return { ok: true, tree: new V2Tree(parent, new Set(controllers), freezer), notes: [] };
}

/**
 * Moving a process into a cgroup takes the kernel's global cgroup_threadgroup_rwsem for writing,
 * which waits for an RCU grace period unless another move happened just before: measured here at
 * ~16 ms for a rare join and ~0.5 ms during a burst. The `favordynmods` mount option (Linux 6.0+, on
 * any cgroup mount: the lock is global) removes the wait, for slightly dearer forks. Kumo does not
 * remount the host's cgroups itself; it says so.
 */
function withJoinNote(found: CgroupDiscovery & { ok: true }, mounts: readonly MountInfo[]): CgroupDiscovery {
  const cgroupMounts = mounts.filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2');
  if (!cgroupMounts.some((m) => m.superOptions.includes('favordynmods'))) {
    const example =
      cgroupMounts.find((m) => m.superOptions.includes('pids'))?.mountpoint ?? cgroupMounts[0]?.mountpoint ?? '/sys/fs/cgroup';
    found.notes.push(
      `cgroup: a rarely-made cgroup join waits for an RCU grace period (~10-20 ms added to a cold start); \`mount -o remount,favordynmods ${example}\` (Linux 6.0+) removes that wait`,
    );
  }
  return found;
}

/**
 * Finds the cgroups this process can manage: v1 where the memory controller is mounted as v1 (as on
 * this Debian host), else v2. Creates the instance's parent cgroups; `close()` removes them.
 */
export function discoverCgroups(prefer?: CgroupVersion): CgroupDiscovery {
  const mounts = readMounts();
  const own = ownCgroups();
  const reasons: string[] = [];
  const hasV1Memory = mounts.some((m) => m.fstype === 'cgroup' && m.superOptions.includes('memory'));
  const v2 = mounts.find((m) => m.fstype === 'cgroup2');
  const order: CgroupVersion[] = prefer === 'v2' || (!hasV1Memory && prefer !== 'v1') ? ['v2', 'v1'] : ['v1', 'v2'];
  for (const version of order) {
    if (version === 'v1') {
      if (!hasV1Memory) {
        reasons.push('cgroup v1: no memory hierarchy mounted');
        continue;
      }
      const found = discoverV1(instanceName(), mounts, own);
      if (found.ok) return withJoinNote(found, mounts);
      reasons.push(...found.reasons);
    } else {
      if (!v2) {
        reasons.push('cgroup v2: not mounted');
        continue;
      }
      const found = createV2Tree(v2.mountpoint);
      if (found.ok) return withJoinNote(found, mounts);
      reasons.push(...found.reasons);
    }
  }
  return { ok: false, reasons };
}
