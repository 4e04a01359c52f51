import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { isExecutable } from './bwrap.js';

/**
 * Which process holds the client end of a loopback TCP connection: the kernel's answer, never the
 * client's. Used to check that a connection to an environment's Runtime API comes from that
 * environment (see PeerCheck in peers.ts and docs/sandbox.md).
 *
 * Two steps: the connection's 4-tuple gives the client socket's inode, then the inode is looked for
 * among the `/proc/<pid>/fd` links (`socket:[inode]`) of the candidate processes.
 *
 * The first step is an exact lookup through netlink `sock_diag` (inet_diag without NLM_F_DUMP: a
 * hash lookup, ~4 µs). Node cannot open a netlink socket, so a small Python helper (stdlib only,
 * started once, Kumo's own user, on the host) does it, and the fd scan with it, off Kumo's event
 * loop. Without python3 the fallback reads `/proc/net/tcp` (and `tcp6`): that walks the kernel's
 * whole established-connection hash table (262,144 buckets on this host: 2–6 ms per read, however
 * few connections there are), so concurrent lookups share one read per event-loop turn.
 */

/** The two ends of an accepted connection, as the server's socket reports them. */
export interface ConnectionEnds {
  /** The client's address and port (the server socket's remote end). */
  remoteAddress: string;
  remotePort: number;
  /** The server's address and port. */
  localAddress: string;
  localPort: number;
}

/** What the kernel says about the client's socket. */
export interface SocketOwner {
  /** The client socket's inode; 0 when no process holds it any more (an orphan, TIME_WAIT). */
  inode: number;
  /** The uid that created the client socket. */
  uid: number;
  /** The first of the candidate pids found holding the socket, if any. */
  holder: number | undefined;
}

export interface SocketOwners {
  /** How lookups are made: 'sock_diag' (the helper) or 'proc' (/proc/net/tcp). */
  readonly method: 'sock_diag' | 'proc';
  /** The client socket of `ends` and which of `pids` holds it; undefined when there is no such connection. */
  find(ends: ConnectionEnds, pids: readonly number[]): Promise<SocketOwner | undefined>;
  close(): void;
}

/** How long the helper may leave awaited lookups unanswered before it is taken for stuck. */
const HELPER_STALL_MS = 2000;

const PYTHON_CANDIDATES = ['/usr/bin/python3', '/usr/local/bin/python3', '/bin/python3'];

/**
 * The helper: one request per line, `<id> <src> <sport> <dst> <dport> <pid,pid,...>` (the client
 * socket's own view: src is the client), one answer per line, `<id> <inode> <uid> <holder>` (-1 for
 * "no such socket", holder 0 for "none of these pids"). All the answers to one read go out in one
 * write. It exits when its stdin closes.
 */
const HELPER = String.raw`
import os, socket, struct, sys
nl = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4)  # NETLINK_SOCK_DIAG
nl.bind((0, 0))
ALL_STATES = 0xFFFFFFFF
NOCOOKIE = struct.pack("=II", 0xFFFFFFFF, 0xFFFFFFFF)
MAPPED = b"\0" * 10 + b"\xff\xff"
seq = 0

def addr(text):
    if ":" in text:
        raw = socket.inet_pton(socket.AF_INET6, text)
        return (socket.AF_INET, raw[12:] + b"\0" * 12) if raw[:12] == MAPPED else (socket.AF_INET6, raw)
    return socket.AF_INET, socket.inet_pton(socket.AF_INET, text) + b"\0" * 12

def lookup(src, sport, dst, dport):
    global seq
    fam, s = addr(src)
    fam2, d = addr(dst)
    if fam != fam2:
        return None
    seq += 1
    req = struct.pack("=BBBBI", fam, socket.IPPROTO_TCP, 0, 0, ALL_STATES) + struct.pack("!HH", sport, dport) + s + d + struct.pack("=I", 0) + NOCOOKIE
    nl.send(struct.pack("=IHHII", 16 + len(req), 20, 1, seq, 0) + req)  # SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST
    while True:
        resp = nl.recv(65536)
        length, kind, flags, rseq = struct.unpack_from("=IHHI", resp, 0)
        if rseq == seq:
            break
    if kind != 20 or len(resp) < 88:  # NLMSG_ERROR: no such socket
        return None
    return struct.unpack_from("=II", resp, 80)  # inet_diag_msg.idiag_uid, idiag_inode

def holder(inode, pids):
    target = "socket:[%d]" % inode
    for pid in pids:
        base = "/proc/%s/fd/" % pid
        try:
            fds = os.listdir(base)
        except OSError:
            continue
        for fd in reversed(fds):
            try:
                if os.readlink(base + fd) == target:
                    return pid
            except OSError:
                pass
    return "0"

def answer(line):
    parts = line.split(" ")
    try:
        found = lookup(parts[1], int(parts[2]), parts[3], int(parts[4]))
    except Exception:
        found = None
    if found is None:
        return "%s -1 -1 0\n" % parts[0]
    uid, inode = found
    pids = [p for p in parts[5].split(",") if p] if len(parts) > 5 and inode else []
    return "%s %d %d %s\n" % (parts[0], inode, uid, holder(inode, pids))

os.write(1, b"ready\n")
pending = b""
while True:
    data = os.read(0, 65536)
    if not data:
        break
    pending += data
    *lines, pending = pending.split(b"\n")
    out = "".join(answer(l.decode("ascii")) for l in lines if l).encode("ascii")
    while out:
        out = out[os.write(1, out):]
`;

interface Waiter {
  ends: ConnectionEnds;
  pids: readonly number[];
  resolve: (owner: SocketOwner | undefined) => void;
}

/**
 * Starts the best lookup the host has: the sock_diag helper when python3 is there and it works,
 * else /proc/net/tcp. `onFallback` hears why the helper is not used (once).
 */
export async function openSocketOwners(onFallback?: (reason: string) => void): Promise<SocketOwners> {
  const python = PYTHON_CANDIDATES.find(isExecutable);
  if (!python) {
    onFallback?.('no python3 on this host for the sock_diag helper');
    return new ProcSocketOwners();
  }
  try {
    return await SockDiagOwners.start(python, onFallback);
  } catch (err) {
    onFallback?.(`the sock_diag helper did not start: ${(err as Error).message}`);
    return new ProcSocketOwners();
  }
}

/** Lookups through the Python sock_diag helper; falls back to /proc/net/tcp for good if it dies. */
class SockDiagOwners implements SocketOwners {
  private readonly waiting = new Map<number, Waiter>();
  private queue: string[] = [];
  private nextId = 1;
  private flushing = false;
  private partial = '';
  private fallback: ProcSocketOwners | undefined;
  private closed = false;
  /** Answers seen since the watchdog last looked: none while some were awaited means the helper is stuck. */
  private answered = 0;
  private watchdog: NodeJS.Timeout | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly onFallback: ((reason: string) => void) | undefined,
  ) {}

  get method(): 'sock_diag' | 'proc' {
    return this.fallback ? 'proc' : 'sock_diag';
  }

  static start(python: string, onFallback?: (reason: string) => void): Promise<SockDiagOwners> {
    const child = spawn(python, ['-I', '-S', '-c', HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let stderr = '';
      let out = '';
      const fail = (why: string): void => {
        child.kill('SIGKILL');
        reject(new Error(why + (stderr ? `: ${stderr.trim().split('\n').pop() ?? ''}` : '')));
      };
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code, sig) => fail(`exited (${sig ?? code ?? '?'})`));
      const onData = (chunk: Buffer): void => {
        out += chunk.toString('latin1');
        if (!out.includes('\n')) return;
        child.stdout?.off('data', onData);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        // From now on its stderr (it should say nothing) is drained, not kept.
        child.stderr?.removeAllListeners('data');
        child.stderr?.resume();
        if (out !== 'ready\n') return fail(`said ${JSON.stringify(out.slice(0, 80))}`);
        const owners = new SockDiagOwners(child, onFallback);
        owners.attach();
        resolve(owners);
      };
      child.stdout?.on('data', onData);
    });
  }

  find(ends: ConnectionEnds, pids: readonly number[]): Promise<SocketOwner | undefined> {
    if (this.fallback) return this.fallback.find(ends, pids);
    if (this.closed) return Promise.resolve(undefined);
    const addresses = [ends.remoteAddress, ends.localAddress];
    if (!addresses.every((a) => net.isIP(a) !== 0)) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const id = this.nextId++;
      // The helper does not keep Kumo alive, except while an answer is awaited.
      if (this.waiting.size === 0) this.refAnswers(true);
      this.waiting.set(id, { ends, pids, resolve });
      // The client's socket, from its own side: its address and port first.
      this.queue.push(`${id} ${ends.remoteAddress} ${ends.remotePort} ${ends.localAddress} ${ends.localPort} ${pids.join(',')}\n`);
      if (!this.flushing) {
        this.flushing = true;
        // Everything asked during this event-loop turn goes in one write.
        setImmediate(() => this.flush());
      }
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.watchdog);
    this.child.stdin?.end();
    this.child.kill('SIGKILL');
    for (const w of this.waiting.values()) w.resolve(undefined);
    this.waiting.clear();
    this.fallback?.close();
  }

  private attach(): void {
    const { child } = this;
    child.stdout?.on('data', (chunk: Buffer) => this.onAnswers(chunk));
    child.stdin?.on('error', () => undefined); // reported as 'exit'
    child.once('exit', (code, sig) => this.fail(`the sock_diag helper exited (${sig ?? code ?? '?'})`));
    // The helper must not keep Kumo alive.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as net.Socket | null)?.unref();
  }

  private refAnswers(on: boolean): void {
    const out = this.child.stdout as net.Socket | null;
    if (on) out?.ref();
    else out?.unref();
  }

  private flush(): void {
    this.flushing = false;
    if (this.fallback || this.queue.length === 0) return;
    const batch = this.queue.join('');
    this.queue = [];
    this.child.stdin?.write(batch);
    this.watch();
  }

  /**
   * A helper that stops answering (rather than dying) would hold every new Runtime API connection
   * forever: when a whole period passes with answers awaited and none given, it is killed, and its
   * exit moves everything to /proc/net/tcp.
   */
  private watch(): void {
    if (this.watchdog) return;
    this.answered = 0;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (this.waiting.size === 0) return;
      if (this.answered === 0) {
        this.fail('the sock_diag helper stopped answering');
        this.child.kill('SIGKILL');
      } else this.watch();
    }, HELPER_STALL_MS);
    this.watchdog.unref();
  }

  private onAnswers(chunk: Buffer): void {
    const text = this.partial + chunk.toString('latin1');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const [id, inode, uid, holder] = line.split(' ').map(Number);
      const w = id === undefined ? undefined : this.waiting.get(id);
      if (!w || id === undefined) continue;
      this.waiting.delete(id);
      this.answered++;
      if (this.waiting.size === 0) this.refAnswers(false);
      if (inode === undefined || inode < 0 || !Number.isFinite(inode)) w.resolve(undefined);
      else w.resolve({ inode, uid: uid ?? -1, holder: holder ? holder : undefined });
    }
  }

  /** The helper is gone: what it had not answered, and everything from now on, goes through /proc. */
  private fail(reason: string): void {
    if (this.closed || this.fallback) return;
    this.fallback = new ProcSocketOwners();
    this.onFallback?.(reason);
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    this.queue = [];
    for (const w of waiting) void this.fallback.find(w.ends, w.pids).then(w.resolve);
  }
}

/** Lookups in /proc/net/tcp and /proc/net/tcp6: concurrent ones share one read per event-loop turn. */
export class ProcSocketOwners implements SocketOwners {
  readonly method = 'proc';
  private batch: Array<{ keys: string[]; resolve: (found: { inode: number; uid: number } | undefined) => void }> = [];
  private scheduled = false;

  async find(ends: ConnectionEnds, pids: readonly number[]): Promise<SocketOwner | undefined> {
    const keys = tableKeys(ends);
    if (keys.length === 0) return undefined;
    const found = await new Promise<{ inode: number; uid: number } | undefined>((resolve) => {
      this.batch.push({ keys, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.read());
      }
    });
    if (!found) return undefined;
    return { ...found, holder: found.inode === 0 ? undefined : holderOf(found.inode, pids) };
  }

  close(): void {
    /* nothing held */
  }

  private async read(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    this.scheduled = false;
    const wanted = new Map<string, (typeof batch)[number]>();
    for (const b of batch) for (const k of b.keys) wanted.set(k, b);
    const answered = new Set<(typeof batch)[number]>();
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      if (answered.size === batch.length) break;
      let text: string;
      try {
        text = await fs.promises.readFile(file, 'latin1');
      } catch {
        continue;
      }
      for (const { key, inode, uid } of tableRows(text)) {
        const b = wanted.get(key);
        if (b && !answered.has(b)) {
          answered.add(b);
          b.resolve({ inode, uid });
        }
      }
    }
    for (const b of batch) if (!answered.has(b)) b.resolve(undefined);
  }
}

/** The `local remote` column pair a /proc/net/tcp{,6} row of the client socket would have (each form it could take). */
export function tableKeys(ends: ConnectionEnds): string[] {
  const client = procAddresses(ends.remoteAddress);
  const server = procAddresses(ends.localAddress);
  const keys: string[] = [];
  for (const width of [8, 32]) {
    const c = client.find((a) => a.length === width);
    const s = server.find((a) => a.length === width);
    if (c && s) keys.push(`${c}:${portHex(ends.remotePort)} ${s}:${portHex(ends.localPort)}`);
  }
  return keys;
}

/** `local remote`, inode and uid of each row of /proc/net/tcp or tcp6. */
export function* tableRows(text: string): Generator<{ key: string; inode: number; uid: number }> {
  let start = text.indexOf('\n') + 1; // the header
  while (start > 0 && start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    // "  sl: local remote st tx:rx tr:when retrnsmt uid timeout inode ..."
    const fields = line.slice(line.indexOf(':') + 1).trim().split(/\s+/);
    const [local, remote, , , , , uid, , inode] = fields;
    if (local === undefined || remote === undefined || inode === undefined || uid === undefined) continue;
    yield { key: `${local} ${remote}`, inode: Number(inode), uid: Number(uid) };
  }
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** An address as /proc/net/tcp (8 hex digits) and tcp6 (32) print it: 32-bit words in host byte order. An IPv4 one has both forms (v4-mapped in tcp6). */
function procAddresses(address: string): string[] {
  const bytes = addressBytes(address);
  if (!bytes) return [];
  const words = (b: number[]): string => {
    let out = '';
    for (let i = 0; i < b.length; i += 4) {
      const w = b.slice(i, i + 4);
      if (LITTLE_ENDIAN) w.reverse();
      out += w.map((x) => x.toString(16).padStart(2, '0')).join('');
    }
    return out.toUpperCase();
  };
  if (bytes.length === 4) return [words(bytes), words([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes])];
  const mapped = bytes.slice(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
  return mapped ? [words(bytes.slice(12)), words(bytes)] : [words(bytes)];
}

function addressBytes(address: string): number[] | undefined {
  const kind = net.isIP(address);
  if (kind === 4) return address.split('.').map(Number);
  if (kind !== 6) return undefined;
  let text = address;
  const tail: number[] = [];
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    tail.push(...dotted[1].split('.').map(Number));
    text = text.slice(0, dotted.index + 1) + '0:0';
  }
  const [head = '', rest] = text.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = all.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function portHex(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** The first of `pids` holding the socket `inode` (its fd table links to `socket:[inode]`). */
export function holderOf(inode: number, pids: readonly number[]): number | undefined {
  const target = `socket:[${inode}]`;
  for (const pid of pids) {
    const base = `/proc/${pid}/fd/`;
    let fds: string[];
    try {
      fds = fs.readdirSync(base);
    } catch {
      continue;
    }
    // A runtime's connection is usually among its newest descriptors.
    for (let i = fds.length - 1; i >= 0; i--) {
      try {
        if (fs.readlinkSync(base + (fds[i] as string)) === target) return pid;
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return undefined;
}

let interfaceAddresses: { at: number; set: ReadonlySet<string> } | undefined;

/**
 * Whether `address` is one of this host's own: loopback, or an address of one of its interfaces
 * (read again at most every 5 s). A connection from such an address was made on this host.
 */
export function isLocalAddress(address: string): boolean {
  let a = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  const scope = a.indexOf('%');
  if (scope >= 0) a = a.slice(0, scope);
  if (a.startsWith('127.') || a === '::1') return true;
  const now = Date.now();
  if (!interfaceAddresses || now - interfaceAddresses.at > 5000) {
    const set = new Set<string>();
    for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) set.add(i.address);
    interfaceAddresses = { at: now, set };
  }
  return interfaceAddresses.set.has(a);
}
