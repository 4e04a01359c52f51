import path from 'node:path';

/** What a caller may set when starting Kumo. Every field is optional. */
export interface KumoOptions {
  /** TCP port of the API. @default 9001 */
  port?: number;
  /** Address the API binds to. @default '127.0.0.1' */
  host?: string;
  /** Where metadata, code and logs live. @default './.kumo' */
  dataDir?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** Idle time after which a warm execution environment is reclaimed. @default 300_000 (5 min) */
  idleTimeoutMs?: number;
  /** Longest an execution environment lives before it is recycled. @default 7_200_000 (2 h) */
  maxEnvironmentLifetimeMs?: number;
  /** Account concurrency limit. @default 1000 */
  concurrencyLimit?: number;
  /** Concurrency that reservations must leave to unreserved functions (Lambda: 100). @default 100, at most the limit */
  unreservedConcurrencyMinimum?: number;
  /**
   * Kumo's credentials: handed to functions as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and the
   * key a request to a function URL with AuthType AWS_IAM must be signed with (SigV4).
   * @default 'test' / 'test' (what the AWS CLI and SDK examples use)
   */
  accessKeyId?: string;
  secretAccessKey?: string;
  /**
   * How execution environments are isolated: 'sandbox' (bubblewrap namespaces + cgroups; refuse to
   * start without them), 'process' (plain processes with rlimits) or 'auto' (the sandbox where the
   * host supports it, else processes, with a warning). @default 'auto'
   */
  isolation?: 'auto' | 'sandbox' | 'process';
  /**
   * Stem cells kept ready per class of function (runtime, and for Node.js the memory size): runtime
   * processes started ahead of demand in their sandboxes, which make cold starts a matter of
   * milliseconds. 0 turns them off. @default 2
   */
  stemCells?: number;
  /**
   * How long an idle execution environment runs on before it is frozen. Lambda freezes it as soon as
   * its runtime asks for the next event; a few milliseconds spare back-to-back calls a freeze and
   * thaw. 0 freezes at once. @default 2
   */
  freezeDelayMs?: number;
  /** pino log level of the server's own log. @default 'info' */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Factor applied to every delay of asynchronous invocation: the retry waits after a function
   * error (1 and 2 minutes), the throttle backoff (1 s to 5 min) and MaximumEventAgeInSeconds.
   * 0.01 makes a minute 0.6 s, for tests. @default 1
   */
  asyncTimeScale?: number;
  /** Most asynchronous invocations of one function that Kumo runs at once (within its concurrency). @default 16 */
  asyncConcurrency?: number;
}

/** Options after defaults and checks: every field set, frozen. */
export type CompiledOptions = Readonly<Required<KumoOptions>>;

export const DEFAULTS: CompiledOptions = Object.freeze({
  port: 9001,
  host: '127.0.0.1',
  dataDir: './.kumo',
  region: 'us-east-1',
  accountId: '000000000000',
  idleTimeoutMs: 300_000,
  maxEnvironmentLifetimeMs: 7_200_000,
  concurrencyLimit: 1000,
  unreservedConcurrencyMinimum: 100,
  accessKeyId: 'test',
  secretAccessKey: 'test',
  isolation: 'auto',
  stemCells: 2,
  freezeDelayMs: 2,
  logLevel: 'info',
  asyncTimeScale: 1,
  asyncConcurrency: 16,
});

export class OptionsError extends Error {
  override name = 'OptionsError';
}

/** Applies defaults, resolves paths and checks ranges once, at start. */
export function compileOptions(options: KumoOptions = {}): CompiledOptions {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new OptionsError(`port must be 0-65535, got ${o.port}`);
  if (!/^\d{12}$/.test(o.accountId)) throw new OptionsError(`account id must be 12 digits, got ${o.accountId}`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(o.region)) throw new OptionsError(`region looks wrong: ${o.region}`);
  if (!(o.concurrencyLimit >= 1)) throw new OptionsError(`concurrency limit must be at least 1`);
  if (!(o.idleTimeoutMs >= 0)) throw new OptionsError(`idle timeout must be >= 0`);
  if (!['auto', 'sandbox', 'process'].includes(o.isolation))
    throw new OptionsError(`isolation must be auto, sandbox or process, got ${o.isolation}`);
  if (!(o.asyncTimeScale > 0 && o.asyncTimeScale <= 1000))
    throw new OptionsError(`async time scale must be > 0 and <= 1000, got ${o.asyncTimeScale}`);
  if (!Number.isInteger(o.asyncConcurrency) || o.asyncConcurrency < 1)
    throw new OptionsError(`async concurrency must be an integer >= 1, got ${o.asyncConcurrency}`);
  if (!(o.unreservedConcurrencyMinimum >= 0)) throw new OptionsError('unreserved concurrency minimum must be >= 0');
  if (!(o.freezeDelayMs >= 0 && o.freezeDelayMs <= 60_000)) throw new OptionsError(`freeze delay must be 0-60000 ms, got ${o.freezeDelayMs}`);
  if (!Number.isInteger(o.stemCells) || o.stemCells < 0 || o.stemCells > 64) throw new OptionsError(`stem cells must be 0-64, got ${o.stemCells}`);
  return Object.freeze({
    ...o,
    dataDir: path.resolve(o.dataDir),
    unreservedConcurrencyMinimum: Math.min(o.unreservedConcurrencyMinimum, o.concurrencyLimit),
  });
}

/** Reads KUMO_* environment variables into options (CLI flags override them). */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): KumoOptions {
  const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
  return stripUndefined({
    port: num(env.KUMO_PORT),
    host: env.KUMO_HOST || undefined,
    dataDir: env.KUMO_DATA_DIR || undefined,
    region: env.KUMO_REGION || undefined,
    accountId: env.KUMO_ACCOUNT_ID || undefined,
    accessKeyId: env.KUMO_ACCESS_KEY_ID || undefined,
    secretAccessKey: env.KUMO_SECRET_ACCESS_KEY || undefined,
    idleTimeoutMs: num(env.KUMO_IDLE_TIMEOUT_MS),
    maxEnvironmentLifetimeMs: num(env.KUMO_MAX_ENV_LIFETIME_MS),
    concurrencyLimit: num(env.KUMO_CONCURRENCY_LIMIT),
    unreservedConcurrencyMinimum: num(env.KUMO_UNRESERVED_CONCURRENCY_MIN),
    logLevel: (env.KUMO_LOG_LEVEL as KumoOptions['logLevel']) || undefined,
    isolation: (env.KUMO_ISOLATION as KumoOptions['isolation']) || undefined,
    stemCells: num(env.KUMO_STEM_CELLS),
    freezeDelayMs: num(env.KUMO_FREEZE_DELAY_MS),
    asyncTimeScale: num(env.KUMO_ASYNC_TIME_SCALE),
    asyncConcurrency: num(env.KUMO_ASYNC_CONCURRENCY),
  });
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
