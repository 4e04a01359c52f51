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
