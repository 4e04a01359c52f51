import fs from 'node:fs';

/**
 * Reads a process's peak resident set size (VmHWM) on every invocation's REPORT line. The status
 * file stays open and is re-read with one positional read (procfs regenerates it), instead of
 * open/fstat/read/close each time: this runs on the invoke path.
 */
export class PeakMemoryReader {
  private fd: number | undefined;
  private readonly buf = Buffer.allocUnsafe(4096);
  private last = 0;

  constructor(pid: number | undefined) {
    if (pid === undefined) return;
    try {
      this.fd = fs.openSync(`/proc/${pid}/status`, 'r');
    } catch {
      this.fd = undefined;
    }
  }

  /** Peak RSS in MB, rounded up; the last value read once the process is gone. */
  read(): number {
    if (this.fd === undefined) return this.last;
    try {
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, 0);
      const status = this.buf.toString('latin1', 0, n);
      const at = status.indexOf('VmHWM:');
      if (at >= 0) {
        const kb = parseInt(status.slice(at + 6, status.indexOf('kB', at)).trim(), 10);
        if (Number.isFinite(kb)) this.last = Math.ceil(kb / 1024);
      }
    } catch {
      this.close();
    }
    return this.last;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** prlimit(1) from util-linux, used to apply rlimits to a process we start. */
export const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

/** Every live descendant of `root` (children, grandchildren, ...), read from /proc. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue;
    }
    // pid (comm) state ppid ...: comm may contain spaces and parentheses, so parse after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ', 2)[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  const out: number[] = [];
  const queue = [root];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * Ends a process, its process group, and every descendant — also those that left the group
 * (setsid, `detached`). Until environments get their own PID namespace, this is how nothing a
 * function started outlives its environment.
 */
export function killTree(pid: number): void {
  const all = descendants(pid);
  for (const target of [-pid, pid, ...all]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
