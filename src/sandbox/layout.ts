import fs from 'node:fs';
import path from 'node:path';

/** Where things are inside a sandbox: Lambda's paths. */
export const SANDBOX_PATHS = Object.freeze({
  taskRoot: '/var/task',
  runtimeDir: '/var/runtime',
  /** Node.js's directory (Lambda: /var/lang/bin); the host's node binary is bound at `node`. */
  langBin: '/var/lang/bin',
  node: '/var/lang/bin/node',
  /** Layers: the function's layers merged, read-only (empty without layers). */
  opt: '/opt',
  tmp: '/tmp',
});

/** The unprivileged user functions run as: Lambda's `sbx_user1051`, uid 993. */
export const SANDBOX_USER = Object.freeze({ name: 'sbx_user1051', uid: 993, gid: 990 });

/** The host's system directories, visible read-only at the same paths (symlinks stay symlinks). */
export const SYSTEM_DIRS: readonly string[] = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * The curated /etc: name resolution, TLS roots, time zone, the dynamic linker's cache and Debian's
 * alternatives links. Never shadow, gshadow, sudoers, ssh keys or the host's passwd (a generated one
 * with Lambda's users stands in).
 */
export const ETC_ENTRIES: readonly string[] = [
  'hosts',
  'resolv.conf',
  'nsswitch.conf',
  'host.conf',
  'gai.conf',
  'services',
  'protocols',
  'networks',
  'localtime',
  'timezone',
  'ssl/certs',
  'ssl/openssl.cnf',
  'pki/tls/certs',
  'pki/ca-trust/extracted',
  'crypto-policies',
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'os-release',
  'mime.types',
  'locale.alias',
];

export const PASSWD = [
  'root:x:0:0:root:/root:/sbin/nologin',
  `${SANDBOX_USER.name}:x:${SANDBOX_USER.uid}:${SANDBOX_USER.gid}::/home/${SANDBOX_USER.name}:/sbin/nologin`,
  'nobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin',
  '',
].join('\n');

export const GROUP = ['root:x:0:', `${SANDBOX_USER.name}:x:${SANDBOX_USER.gid}:`, 'nobody:x:65534:', ''].join('\n');

export function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** Whether a host path is visible at the same path inside every sandbox (the system directories). */
export function visibleAsIs(p: string): boolean {
  return SYSTEM_DIRS.some((d) => isUnder(p, d));
}

/**
 * Rewrites host paths into the paths a sandboxed process sees: the longest matching host prefix
 * wins. Entries marked `exact` match the whole path only (a single bound file such as node).
 */
export class PathMap {
  private readonly entries: ReadonlyArray<{ host: string; inside: string; exact: boolean }>;

  constructor(entries: ReadonlyArray<{ host: string; inside: string; exact?: boolean }>) {
    this.entries = entries
      .map((e) => ({ host: stripSlash(path.resolve(e.host)), inside: e.inside, exact: e.exact ?? false }))
      .sort((a, b) => b.host.length - a.host.length);
  }

  /** The in-sandbox path of a host path; anything else (not an absolute path, or not mapped) is returned unchanged. */
  map(p: string): string {
    if (!p.startsWith('/')) return p;
    for (const e of this.entries) {
      if (p === e.host || (p.length === e.host.length + 1 && p.endsWith('/') && p.startsWith(e.host))) return e.inside;
      if (!e.exact && p.startsWith(`${e.host}/`)) return e.inside + p.slice(e.host.length);
    }
    return p;
  }

  /** Maps each element of a `:`-separated list (PATH, LD_LIBRARY_PATH, NODE_PATH, ...) or a single path. */
  mapList(value: string): string {
    return value.includes(':')
      ? value
          .split(':')
          .map((s) => this.map(s))
          .join(':')
      : this.map(value);
  }
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** `/etc` entries from ETC_ENTRIES and the Python-specific ones that exist on this host. */
export function existingEtcEntries(): string[] {
  const out = ETC_ENTRIES.filter((e) => fs.existsSync(path.join('/etc', e)));
  try {
    // Debian's per-version Python configuration (sitecustomize.py).
    for (const name of fs.readdirSync('/etc')) if (/^python3(\.\d+)?$/.test(name)) out.push(name);
  } catch {
    /* no /etc */
  }
  return out;
}
