import fs from 'node:fs';

/**
 * Host pids of live (non-zombie) processes whose environment has `name=value`. Every process of an
 * execution environment inherits its Lambda variables, so this finds them from the host even inside
 * a PID namespace, where a function's own pid means nothing to the host.
 */
export function processesWithEnv(name: string, value: string): number[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // a zombie is gone
      if (fs.readFileSync(`/proc/${entry}/environ`).includes(needle)) pids.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/**
 * Host pids of every live process a Kumo server started for execution environments: those whose
 * command line names its data directory (bubblewrap binds the environment's directories from
 * there) or whose working directory lies in it (plain processes start in their task root there),
 * and all their descendants. Unlike a search by variables, it also finds stem cells, whose initial
 * environment has none of a function's variables.
 */
export function processesOfDataDir(dataDir: string): number[] {
  const parentOf = new Map<number, number>();
  const roots = new Set<number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue; // a zombie is gone
      parentOf.set(pid, Number(fields[1]));
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dataDir)) roots.add(pid);
      else if (fs.readlinkSync(`/proc/${entry}/cwd`).startsWith(dataDir)) roots.add(pid);
    } catch {
      /* exited meanwhile, or not ours to read */
    }
  }
  const found: number[] = [];
  for (const pid of parentOf.keys()) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parentOf.get(p)) {
      if (roots.has(p)) {
        found.push(pid);
        break;
      }
    }
  }
  return found;
}
