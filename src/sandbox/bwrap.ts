import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GROUP, PASSWD, SANDBOX_PATHS, SANDBOX_USER, SYSTEM_DIRS, existingEtcEntries, visibleAsIs } from './layout.js';

/**
 * How sandboxes are built with bubblewrap (https://github.com/containers/bubblewrap).
 *
 * Two ways to run the function as `sbx_user1051` (uid 993, gid 990):
 * - `setpriv` (Kumo runs as root, no user namespace): bwrap sets the sandbox up as root, then
 *   util-linux's setpriv, inside it, changes to 993:990, clears supplementary groups, empties the
 *   inheritable and bounding capability sets and sets no_new_privs before exec'ing the runtime. The
 *   uid is real on the host too, host files keep their owners (root), and nothing depends on
 *   unprivileged user namespaces (which some distributions restrict).
 * - `userns` (Kumo is not root): bwrap runs unprivileged and makes a user namespace mapping 993 to
 *   Kumo's own uid; bwrap itself drops every capability and sets no_new_privs.
 */
export type SandboxUserMode = 'setpriv' | 'userns';

export interface BwrapSetup {
  bwrap: string;
  userMode: SandboxUserMode;
  setpriv: string | undefined;
  /** bwrap has `--size` (0.8.0+): /tmp's tmpfs is capped at EphemeralStorage by the kernel. */
  sizeOption: boolean;
  /** Directory holding the prepared /etc (removed by `disposeBwrap`). */
  stateDir: string;
  /** Arguments shared by every sandbox: namespaces, system directories, /etc, /proc, /dev, /bin/sh. */
  common: readonly string[];
  /** The host's node binary, bound at /var/lang/bin/node. */
  nodeBinary: string;
}

export interface BwrapMounts {
  taskRoot: string;
  runtimeDir: string;
  /** Bound read-only at /opt (the layers); an empty /opt without it. */
  optDir?: string | undefined;
  /** tmpfs /tmp of this size, or a host directory bound writable at /tmp (see `SandboxSpec.tmp`). */
  tmp: { kind: 'tmpfs'; bytes: number } | { kind: 'disk'; dir: string };
}

export const BWRAP_CANDIDATES = ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap'];
const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv'];

export function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Arguments that reproduce the host's /bin, /lib, ... (directories or usr-merge symlinks) read-only. */
function systemArgs(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(dir), dir);
    else if (stat.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  return args;
}

/**
 * Everything that does not depend on the function. Creates the generated /etc files; `dispose()`
 * removes them. Throws when a required piece is missing (the caller turns that into a reason).
 */
export function prepareBwrap(bwrap: string): BwrapSetup {
  const root = process.getuid?.() === 0;
  const setpriv = SETPRIV_CANDIDATES.find(isExecutable);
  if (root && !setpriv) throw new Error('setpriv (util-linux) not found: cannot drop to an unprivileged user');
  const userMode: SandboxUserMode = root ? 'setpriv' : 'userns';
  const help = spawnSync(bwrap, ['--help'], { encoding: 'utf8', timeout: 5000 });
  const sizeOption = `${help.stdout}${help.stderr}`.includes('--size');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-sandbox-'));
  fs.chmodSync(stateDir, 0o755);
  const etcDir = buildEtc(path.join(stateDir, 'etc'));
  const nodeBinary = fs.realpathSync(process.execPath);

  const common: string[] = [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--hostname',
    'localhost',
    // The sandbox's processes get SIGKILL when bwrap's parent (Kumo) dies.
    '--die-with-parent',
    // No --new-session: Kumo spawns with `detached: true` (setsid, no controlling terminal), and
    // keeping the sandbox in that one process group lets SIGSTOP/SIGKILL of the group reach it all.
  ];
  if (userMode === 'userns') {
    common.push('--unshare-user', '--uid', String(SANDBOX_USER.uid), '--gid', String(SANDBOX_USER.gid), '--disable-userns');
  }
  // Each mount costs bwrap a pass over /proc/self/mountinfo (measured: ~20 separate /etc binds added
  // 7 ms to a start), so /etc is one prepared directory plus the two files that change at run time.
  const binds: Array<[string, string]> = [[etcDir, '/etc']];
  for (const live of LIVE_ETC_FILES)
    if (fs.existsSync(path.join('/etc', live))) binds.push([path.join('/etc', live), path.join('/etc', live)]);
  // Lambda's /bin/sh is bash (Amazon Linux); Debian's is dash. The bind lands on the file the
  // /bin/sh symlink points to, so /usr/bin/dash is bash inside too.
  const bash = ['/usr/bin/bash', '/bin/bash'].find(isExecutable);
  if (bash && fs.existsSync('/bin/sh')) binds.push([bash, '/bin/sh']);
  binds.push([nodeBinary, SANDBOX_PATHS.node]);
  // bwrap creates missing parents of a mount point with mode 0700, which the sandbox user could not
  // cross: make every parent explicitly (0755) first.
  const destinations = [...binds.map(([, dest]) => dest), SANDBOX_PATHS.taskRoot, SANDBOX_PATHS.runtimeDir];
  const parents = new Set<string>();
  for (const dest of destinations) {
    for (let dir = path.dirname(dest); dir !== '/' && !visibleAsIs(dir) && !dir.startsWith('/etc'); dir = path.dirname(dir)) {
      parents.add(dir);
    }
  }
  for (const dir of [...parents].sort()) common.push('--dir', dir);
  common.push(...systemArgs(), '--proc', '/proc', '--dev', '/dev');
  for (const [src, dest] of binds) common.push('--ro-bind', src, dest);
  return { bwrap, userMode, setpriv, sizeOption, stateDir, common, nodeBinary };
}

/** /etc files bound live (not copied): they change while Kumo runs (DHCP, VPNs, container networks). */
const LIVE_ETC_FILES = ['resolv.conf', 'hosts'];

/**
 * The sandbox's /etc, made once per Kumo start: the generated passwd and group, copies of the
 * curated host entries (symlinks kept as symlinks), and empty placeholders for the live files.
 * Never shadow, gshadow, sudoers, ssh keys or the host's passwd.
 */
function buildEtc(dir: string): string {
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'passwd'), PASSWD, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'group'), GROUP, { mode: 0o644 });
  for (const entry of existingEtcEntries()) {
    if (LIVE_ETC_FILES.includes(entry)) continue;
    const target = path.join(dir, entry);
    try {
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
      fs.cpSync(path.join('/etc', entry), target, { recursive: true, verbatimSymlinks: true });
    } catch {
      /* unreadable here: the sandbox goes without it */
    }
  }
  for (const live of LIVE_ETC_FILES) fs.writeFileSync(path.join(dir, live), '', { mode: 0o644 });
  return dir;
}

export function disposeBwrap(setup: BwrapSetup): void {
  fs.rmSync(setup.stateDir, { recursive: true, force: true });
}

/** The full bwrap command line for one sandbox running `file args`. */
export function bwrapArgs(setup: BwrapSetup, mounts: BwrapMounts, file: string, args: readonly string[]): string[] {
  const out = [
    ...setup.common,
    '--ro-bind',
    mounts.taskRoot,
    SANDBOX_PATHS.taskRoot,
    '--ro-bind',
    mounts.runtimeDir,
    SANDBOX_PATHS.runtimeDir,
  ];
  if (mounts.optDir === undefined) out.push('--dir', SANDBOX_PATHS.opt);
  else out.push('--ro-bind', mounts.optDir, SANDBOX_PATHS.opt);
  if (mounts.tmp.kind === 'disk') {
    out.push('--bind', mounts.tmp.dir, SANDBOX_PATHS.tmp);
  } else {
    if (setup.sizeOption) out.push('--size', String(mounts.tmp.bytes));
    out.push('--perms', '1777', '--tmpfs', SANDBOX_PATHS.tmp);
  }
  // Last: the sandbox's own root (a tmpfs holding the mount points) becomes read-only.
  out.push('--remount-ro', '/', '--chdir', SANDBOX_PATHS.taskRoot, '--');
  if (setup.userMode === 'setpriv' && setup.setpriv) {
    out.push(
      setup.setpriv,
      `--reuid=${SANDBOX_USER.uid}`,
      `--regid=${SANDBOX_USER.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
    );
  }
  out.push(file, ...args);
  return out;
}

/**
 * Runs a trivial sandbox built exactly like a real one (as the sandbox user, writing to its /tmp
 * through its /bin/sh). Resolves to undefined when it worked, else to why not.
 */
export function probeBwrap(setup: BwrapSetup): Promise<string | undefined> {
  const args = bwrapArgs(
    setup,
    { taskRoot: setup.stateDir, runtimeDir: setup.stateDir, tmp: { kind: 'tmpfs', bytes: 1024 * 1024 } },
    '/bin/sh',
    ['-c', `test "$(id -u)" = ${SANDBOX_USER.uid} && test -r /etc/passwd && test -x ${SANDBOX_PATHS.node} && echo ok > /tmp/probe`],
  );
  return new Promise((resolve) => {
    let stderr = '';
    const child = spawn(setup.bwrap, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: '/', timeout: 10_000 });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', (e) => resolve(`bubblewrap: ${e.message}`));
    child.once('close', (code, sig) => {
      if (code === 0) resolve(undefined);
      else resolve(`bubblewrap: a trial sandbox failed (${sig ?? `exit ${code}`}): ${stderr.trim().split('\n')[0] ?? ''}`.trim());
    });
  });
}
