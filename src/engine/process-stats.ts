import fs from 'node:fs';

/** Peak resident set size of a process in MB (VmHWM), rounded up; 0 when it cannot be read. */
export function peakMemoryMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    const at = status.indexOf('VmHWM:');
    if (at < 0) return 0;
    const kb = parseInt(status.slice(at + 6, status.indexOf('kB', at)).trim(), 10);
    return Number.isFinite(kb) ? Math.ceil(kb / 1024) : 0;
  } catch {
    return 0;
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
