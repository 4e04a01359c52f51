/**
 * Isolation of execution environments: bubblewrap namespaces, a cgroup per environment, freezing,
 * and the plain-process fallback, behind one API. See docs/sandbox.md.
 */
export {
  DEFAULT_NOFILE,
  DEFAULT_PIDS_MAX,
  Isolation,
  SandboxError,
  detectIsolation,
  type IsolationMode,
  type IsolationOptions,
  type IsolationSupport,
  type SandboxHandle,
  type SandboxLaunch,
  type SandboxLayout,
  type SandboxSpec,
  type SandboxState,
  type SandboxStats,
} from './isolation.js';
export { MB_PER_VCPU, type CgroupVersion } from './cgroup.js';
export { SANDBOX_PATHS, SANDBOX_USER } from './layout.js';
export type { SandboxUserMode } from './bwrap.js';
export type { PeerRefusal, PeerVerdict } from './peers.js';
export type { ConnectionEnds } from './sockets.js';
