import type { ConnectionEnds, SocketOwners } from './sockets.js';

/**
 * Checks that a connection to an environment's Runtime API was made by a process of that
 * environment. Sandboxes share the host's network namespace (functions need the network), so any
 * function can connect to any loopback port; what it cannot do is make its socket belong to another
 * environment's process. The kernel says which socket is the client end of the connection and
 * which processes hold it; the environment's processes come from its cgroup (or, without cgroups,
 * its process tree). Nothing the function sends or controls enters the decision.
 */

/** What the check needs of an environment. */
export interface PeerSubject {
  readonly envId: string;
  /** The environment's processes (host pids). */
  pids(): number[];
}

export type PeerVerdict =
  | { ok: true; pid: number }
  | {
      ok: false;
      reason: string;
      /**
       * A live socket held by a process of another environment (or of the host): what an attack
       * looks like, and the refusals logged. The others (the client went away, the environment is
       * ending) are refused quietly.
       */
      foreign: boolean;
      inode?: number | undefined;
      uid?: number | undefined;
    };

/** A refused connection, as logged (server log, warn). */
export interface PeerRefusal {
  /** The environment whose Runtime API was connected to. */
  envId: string;
  /** The client's address:port. */
  peer: string;
  reason: string;
  /** The client socket's inode and the uid that made it, when the connection was still there. */
  inode?: number | undefined;
  uid?: number | undefined;
  /** Refusals not logged since the previous line (at most LOG_PER_SECOND lines a second). */
  suppressed?: number | undefined;
  /** Who the environment belongs to (function, version), when known. */
  [context: string]: string | number | undefined;
}

/** At most this many refusals a second are logged; the others are counted in the next line. */
const LOG_PER_SECOND = 10;

export class PeerCheck {
  /** The pid that held the last connection each environment made: looked at first next time. */
  private readonly lastHolder = new WeakMap<PeerSubject, number>();
  private windowStart = 0;
  private logged = 0;
  private suppressed = 0;

  constructor(
    private readonly owners: SocketOwners,
    private readonly onRefused: ((refusal: PeerRefusal) => void) | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** How the client socket is found: 'sock_diag' (an exact lookup) or 'proc' (/proc/net/tcp). */
  get method(): 'sock_diag' | 'proc' {
    return this.owners.method;
  }

  close(): void {
    this.owners.close();
  }

  /**
   * The uid that made the client socket of `ends`, if a process still holds it. Undefined when the
   * connection is gone, or its socket is an orphan (its owner closed it): nothing is proven then.
   */
  async socketUid(ends: ConnectionEnds): Promise<number | undefined> {
    const owner = await this.owners.find(ends, []);
    return owner && owner.inode !== 0 ? owner.uid : undefined;
  }

  /**
   * The first of `pids` (tried in order) found holding the client socket of `ends`; undefined when
   * none does, or no process holds it (a socket in flight over a Unix socket is held by none).
   */
  async holderOf(ends: ConnectionEnds, pids: readonly number[]): Promise<number | undefined> {
    const owner = await this.owners.find(ends, pids);
    return owner && owner.inode !== 0 ? owner.holder : undefined;
  }

  /** Whether the client end of `ends` is held by a process of `subject`; refusals are logged with `context`. */
  async verify(subject: PeerSubject, ends: ConnectionEnds, context: Record<string, string> = {}): Promise<PeerVerdict> {
    const verdict = await this.judge(subject, ends);
    if (!verdict.ok && verdict.foreign) this.refused(subject, ends, verdict, context);
    return verdict;
  }

  private async judge(subject: PeerSubject, ends: ConnectionEnds): Promise<PeerVerdict> {
    const pids = subject.pids();
    if (pids.length === 0) return { ok: false, foreign: false, reason: 'the environment has no processes' };
    const hint = this.lastHolder.get(subject);
    if (hint !== undefined && pids.includes(hint)) pids.sort((a, b) => (a === hint ? -1 : b === hint ? 1 : b - a));
    else pids.sort((a, b) => b - a); // the runtime is usually the newest
    const owner = await this.owners.find(ends, pids);
    if (!owner) return { ok: false, foreign: false, reason: 'no such connection (the client closed it)' };
    const { inode, uid, holder } = owner;
    if (inode === 0) return { ok: false, foreign: false, reason: 'no process holds the client socket any more', uid };
    if (holder === undefined) return { ok: false, foreign: true, reason: 'the client socket is not held by a process of this environment', inode, uid };
    // The holder was one of the environment's pids when its descriptors were read. Still one now,
    // so not a pid that ended and was reused by someone else in between.
    if (!subject.pids().includes(holder)) return { ok: false, foreign: true, reason: 'the holding process left the environment', inode, uid };
    this.lastHolder.set(subject, holder);
    return { ok: true, pid: holder };
  }

  private refused(subject: PeerSubject, ends: ConnectionEnds, verdict: Exclude<PeerVerdict, { ok: true }>, context: Record<string, string>): void {
    if (!this.onRefused) return;
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged >= LOG_PER_SECOND) {
      this.suppressed++;
      return;
    }
    this.logged++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.onRefused({
      ...context,
      envId: subject.envId,
      peer: `${ends.remoteAddress}:${ends.remotePort}`,
      reason: verdict.reason,
      inode: verdict.inode,
      uid: verdict.uid,
      ...(suppressed > 0 ? { suppressed } : {}),
    });
  }
}
