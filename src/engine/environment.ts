import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { endLine, reportLine, startLine, timeoutLine, type LogWriter } from '../logs/index.js';
import { customBootstrap, launchCommand, runtimeDir } from './runtimes.js';
import type { ConnectionEnds, Isolation, SandboxHandle } from '../sandbox/index.js';
import { MB_PER_VCPU } from '../sandbox/index.js';
import {
  ERROR_BODY_TRAILER,
  ERROR_TYPE_TRAILER,
  MAX_RUNTIME_PAYLOAD,
  RuntimeApiServer,
  type ResponseStreamSink,
  type RuntimeApiListener,
  type RuntimeResult,
} from './runtime-api.js';
import type { StemProcess } from './stems.js';
import { lambdaVariables, type VariablesSpec } from './variables.js';

/** Everything needed to start one execution environment for one function version. */
export interface EnvironmentSpec extends VariablesSpec {
  timeoutSeconds: number;
  /** The environment's own host directory (scratch and, for a stem cell, its task root links); removed when it ends. */
  workDir: string;
  /** EphemeralStorage: the size of the environment's /tmp in MB. */
  ephemeralStorage: number;
  /** How long an idle environment runs on before it is frozen (0: a turn after it goes idle). */
  freezeDelayMs: number;
}

export interface InvokeRequest {
  requestId: string;
  payload: Buffer;
  invokedFunctionArn: string;
  clientContext?: string | undefined;
  /** Collect the invocation's log lines (for `X-Amz-Log-Type: Tail`). */
  wantTail: boolean;
  /**
   * Where a streamed response goes as the function writes it (InvokeWithResponseStream, function
   * URLs in RESPONSE_STREAM mode). Without it, a function that streams has its response buffered,
   * as Invoke does on Lambda (up to 6 MB).
   */
  stream?: InvocationStream | undefined;
}

/** The receiving end of a response the function streams. */
export interface InvocationStream {
  /** The function began streaming its response, of this Content-Type. Called once, before any chunk. */
  start(contentType: string): void;
  /** Response bytes, in order, as they arrive from the runtime. */
  write(chunk: Buffer): void;
}

/** Lambda's limit on a streamed response (a soft limit on Lambda: 20 MiB). */
export const MAX_STREAMED_RESPONSE = 20 * 1024 * 1024;
/** What a streamed response is when the runtime does not say (the Node.js runtime's default too). */
export const DEFAULT_STREAM_CONTENT_TYPE = 'application/octet-stream';

/** A user function's result is data: success or a Lambda error document, never a host exception. */
export interface InvokeOutcome {
  /**
   * The response, or the error document of a failure. When `streamed`, the response went to the
   * request's `stream` as it came and this holds only the error document, if any (else it is empty).
   */
  payload: Buffer;
  /** Set when the function streamed its response to `InvokeRequest.stream`. */
  streamed?: true;
  /** Set when the function failed (handled error document, timeout, crash, init failure). */
  functionError: 'Unhandled' | undefined;
  /** Lambda error type of a failure (`Runtime.ExitError`, `Sandbox.Timedout`, the runtime's type, ...). */
  errorType: string | undefined;
  durationMs: number;
  initDurationMs: number | undefined;
  maxMemoryUsedMb: number;
  /** The invocation's log lines, when requested. */
  logLines: string[] | undefined;
}

/**
 * `finishing`: the invocation's result is in, but the runtime has not asked for the next event yet.
 * An environment takes new work only once its runtime polls again, as Lambda's does; a runtime that
 * exits right after posting (an uncaught exception in Node.js) is never handed another event.
 */
export type EnvironmentState = 'starting' | 'idle' | 'busy' | 'finishing' | 'dead';

/** Init phase limit for on-demand environments (Lambda: 10 s). */
export const INIT_TIMEOUT_MS = 10_000;
/** Longest stdout/stderr line kept as one log event (CloudWatch: 256 KiB). */
const MAX_LOG_LINE = 256 * 1024;
/** Init-phase lines kept for the first invocation's log tail (only the last 4 KB is returned). */
const MAX_INIT_LINES = 200;

interface Pending {
  req: InvokeRequest;
  startedAt: number;
  timer: NodeJS.Timeout;
  resolve: (outcome: InvokeOutcome) => void;
  /** The runtime began a streamed response to `req.stream` (once per invocation). */
  streaming?: boolean;
}

interface InitFailure {
  errorType: string;
  /** Body to return; `{requestId}` placeholders are filled at invoke time. */
  render: (requestId: string) => Buffer;
}

/**
 * One execution environment: a runtime process, its Runtime API listener and its log stream.
 * Lifecycle: `starting` → `idle` ⇄ `busy` → `dead`. An environment whose init failed reports that
 * failure to the one invocation that started it and is never reused.
 */
export class Environment {
  readonly id = crypto.randomBytes(8).toString('hex');
  readonly createdAt = Date.now();
  state: EnvironmentState = 'starting';
  /** Time of the last state change to idle (for idle reclaim). */
  idleSince = Date.now();
  private child: ChildProcess | undefined;
  private api: RuntimeApiServer | undefined;
  private pending: Pending | undefined;
  private initDurationMs: number | undefined;
  /** The next invocation reports `Init Duration` (a cold start); provisioned environments were initialised ahead, as on Lambda. */
  private coldStartPending: boolean;
  private initFailure: InitFailure | undefined;
  private resolveInit: (() => void) | undefined;
  private exitInfo: string | undefined;
  /** How the process ended, when it ended by a signal. */
  private exitSignal: NodeJS.Signals | undefined;
  /** Kumo itself ended the process (timeout, retire, shutdown). */
  private killedByHost = false;
  /** The runtime printed a fatal out-of-memory message (V8's heap limit). */
  private sawOutOfMemory = false;
  /** The environment's sandbox (namespaces and cgroup, or a plain process with rlimits). */
  private sandbox: SandboxHandle | undefined;
  private tail: string[] | undefined;
  private readonly deathListeners: Array<(env: Environment) => void> = [];
  private idleListener: (() => void) | undefined;
  /** Output of the init phase, shown in the tail of the first invocation (cold start). */
  private initLines: string[] | undefined = [];
  private freezeTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly spec: EnvironmentSpec,
    private readonly logs: LogWriter,
    private readonly isolation: Isolation,
  ) {
    this.coldStartPending = spec.initializationType === 'on-demand';
    // The init phase's output goes to the first invocation's tail only on a cold start.
    if (!this.coldStartPending) this.initLines = undefined;
  }

  /** Starts the runtime and waits for the end of its init phase (or its failure). Never throws for user-code failures. */
  static async start(spec: EnvironmentSpec, logs: LogWriter, isolation: Isolation): Promise<Environment> {
    const env = new Environment(spec, logs, isolation);
    await env.boot();
    return env;
  }

  /**
   * Makes a stem cell this function's environment: the process is running and its runtime loaded;
   * the function's code is already linked into `stem.taskDir` (= `spec.taskRoot`). Hands the runtime
   * the function's variables and waits for the end of the function's init. `Init Duration` counts
   * from the hand-over.
   */
  static async adopt(spec: EnvironmentSpec, logs: LogWriter, isolation: Isolation, stem: StemProcess): Promise<Environment> {
    const env = new Environment(spec, logs, isolation);
    await env.specialise(stem);
    return env;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get failedInit(): boolean {
    return this.initFailure !== undefined;
  }

  /** Calls `fn` once, when the environment next becomes idle (now, if it is). */
  whenIdle(fn: () => void): void {
    if (this.state === 'idle') fn();
    else this.idleListener = fn;
  }

  onDeath(fn: (env: Environment) => void): void {
    if (this.state === 'dead') fn(this);
    else this.deathListeners.push(fn);
  }

  /** Runs one invocation. The environment must be idle (or just failed its init). */
  invoke(req: InvokeRequest): Promise<InvokeOutcome> {
    const startedAt = performance.now();
    if (req.wantTail) this.tail = this.initLines ?? [];
    this.initLines = undefined;
    this.log(startLine(req.requestId, this.spec.version));
    const failure = this.initFailure;
    if (failure || this.state === 'dead' || !this.api) {
      const f = failure ?? { errorType: 'Runtime.ExitError', render: (id: string) => exitErrorBody(id, this.exitInfo ?? 'exit status 0') };
      return Promise.resolve(this.finish(req, startedAt, f.render(req.requestId), f.errorType, 'error'));
    }
    this.state = 'busy';
    if (this.freezeTimer) {
      clearTimeout(this.freezeTimer);
      this.freezeTimer = undefined;
    }
    this.sandbox?.thaw();
    return new Promise<InvokeOutcome>((resolve) => {
      const timeoutMs = this.spec.timeoutSeconds * 1000;
      const timer = setTimeout(() => this.onTimeout(), timeoutMs);
      this.pending = { req, startedAt, timer, resolve };
      this.api?.deliver({
        requestId: req.requestId,
        payload: req.payload,
        deadlineMs: Date.now() + timeoutMs,
        invokedFunctionArn: req.invokedFunctionArn,
        traceId: traceId(),
        clientContext: req.clientContext,
      });
    });
  }

  /** Ends the environment (idempotent). Any invocation in flight ends with `Runtime.ExitError`. */
  kill(): void {
    this.killedByHost = true;
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) this.sandbox?.kill();
    if (!child) this.die();
  }

  private apiListener(startedAt: number): RuntimeApiListener {
    return {
      onNext: () => this.onNext(startedAt),
      onResult: (id, result) => this.onResult(id, result),
      onResponseStream: (id, contentType) => this.onResponseStream(id, contentType),
      // Deferred a turn, like results, so the runtime's last output is logged before the failure.
      onInitError: (errorType, body) => setImmediate(() => this.failInit(errorType ?? 'Runtime.Unknown', () => body)),
      authorize: (ends) => this.authorize(ends),
    };
  }

  /**
   * Only this environment's processes may use its Runtime API (another function could connect to
   * its port: sandboxes share the network). Checked once per connection; see docs/sandbox.md.
   */
  private async authorize(ends: ConnectionEnds): Promise<boolean> {
    const sandbox = this.sandbox;
    if (!sandbox || this.state === 'dead') return false;
    const { functionName, version } = this.spec;
    const verdict = await this.isolation.verifyPeer(sandbox, ends, { functionName, version, environment: this.id });
    return verdict.ok;
  }

  private async specialise(stem: StemProcess): Promise<void> {
    const { spec } = this;
    const initDone = new Promise<void>((resolve) => (this.resolveInit = resolve));
    const startedAt = performance.now();
    this.api = stem.api;
    this.api.setListener(this.apiListener(startedAt));
    this.sandbox = stem.handle;
    this.child = stem.child;
    this.watch(stem.child, 'bootstrap');
    const variables = stem.layout.toSandboxEnv(lambdaVariables(spec, this.api.address, !this.isolation.support.cgroup));
    stem.child.stdin?.end(`${JSON.stringify({ env: variables, cwd: stem.layout.taskRoot })}\n`);
    stem.handle.thaw();
    await this.awaitInit(initDone);
  }

  private async boot(): Promise<void> {
    const { spec } = this;
    fs.mkdirSync(spec.scratchDir, { recursive: true, mode: 0o700 });
    const initDone = new Promise<void>((resolve) => (this.resolveInit = resolve));
    const startedAt = performance.now();
    this.api = await RuntimeApiServer.listen(this.apiListener(startedAt));
    const command = launchCommand(spec.runtime, spec.taskRoot, spec.memorySize, spec.optDir);
    if (spec.runtime.family === 'provided' && customBootstrap(spec.taskRoot, spec.optDir) === undefined) {
      this.failInit('Runtime.InvalidEntrypoint', (id) =>
        jsonBody({
          errorType: 'Runtime.InvalidEntrypoint',
          errorMessage: `RequestId: ${id} Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]`,
        }),
      );
      return initDone;
    }
    let child: ChildProcess;
    try {
      const launch = this.isolation.command({
        envId: this.id,
        taskRoot: spec.taskRoot,
        runtimeDir: runtimeDir(spec.runtime),
        optDir: spec.optDir,
        scratchDir: spec.scratchDir,
        command,
        memoryMb: spec.memorySize,
        ephemeralStorageMb: spec.ephemeralStorage,
        env: lambdaVariables(spec, this.api.address, !this.isolation.support.cgroup),
      });
      this.sandbox = launch.handle;
      // Lambda boosts the CPU of the init phase; the memory-proportional share applies from the first event.
      launch.handle.setCpuLimit(undefined);
      child = spawn(launch.file, launch.args, {
        cwd: launch.cwd,
        env: launch.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group: the runtime and everything it starts end together
      });
      launch.handle.attach(child.pid);
    } catch (err) {
      this.failInit('Runtime.InvalidEntrypoint', (id) => exitErrorBody(id, String(err)));
      this.die();
      return initDone;
    }
    this.child = child;
    this.watch(child, command.file);
    await this.awaitInit(initDone);
  }

  /** Logs the process's output and follows its end. */
  private watch(child: ChildProcess, file: string): void {
    this.pipeOutput(child.stdout);
    this.pipeOutput(child.stderr);
    child.once('error', (err: NodeJS.ErrnoException) => {
      this.failInit('Runtime.InvalidEntrypoint', (id) =>
        jsonBody({
          errorType: 'Runtime.InvalidEntrypoint',
          errorMessage: `RequestId: ${id} Error: fork/exec ${file}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`,
        }),
      );
      this.die();
    });
    child.once('exit', (rawCode, rawSignal) => {
      // Through a sandbox, a runtime killed by signal N shows up as exit code 128+N.
      const { code, signal } = this.sandbox?.runtimeExit(rawCode, rawSignal) ?? { code: rawCode, signal: rawSignal };
      this.exitInfo = signal ? `signal: ${signalName(signal)}` : `exit status ${code ?? 0}`;
      this.exitSignal = signal ?? undefined;
      // Whatever the runtime started goes with it.
      this.sandbox?.kill();
    });
    child.once('close', () => this.onExit());
  }

  private async awaitInit(initDone: Promise<void>): Promise<void> {
    const initTimer = setTimeout(() => {
      if (this.state === 'starting') {
        this.failInit('Runtime.InitTimeout', (id) =>
          jsonBody({
            errorType: 'Runtime.InitTimeout',
            errorMessage: `RequestId: ${id} Error: Init phase timed out after ${(INIT_TIMEOUT_MS / 1000).toFixed(2)} seconds`,
          }),
        );
        this.kill();
      }
    }, INIT_TIMEOUT_MS);
    await initDone;
    clearTimeout(initTimer);
  }

  private onNext(startedAt: number): void {
    if (this.state === 'starting') {
      this.initDurationMs = performance.now() - startedAt;
      this.becomeIdle();
      this.resolveInit?.();
    } else if (this.state === 'finishing') {
      this.becomeIdle();
    }
  }

  private becomeIdle(): void {
    if (this.state === 'starting' && this.sandbox) this.sandbox.setCpuLimit(this.spec.memorySize / MB_PER_VCPU);
    // Frozen between invocations, as on Lambda: no CPU, no timers until the next event. Not at once:
    // an environment handed straight to a waiting invocation, or called again within freezeDelayMs
    // (back-to-back calls under load), skips a freeze and thaw it would not notice (each costs the
    // host a cgroup write and the kernel a wake-up of every thread of the environment).
    const delay = this.spec.freezeDelayMs;
    if (delay <= 0) {
      setImmediate(() => {
        if (this.state === 'idle') void this.sandbox?.freeze();
      });
    } else if (!this.freezeTimer) {
      this.freezeTimer = setTimeout(() => {
        this.freezeTimer = undefined;
        if (this.state === 'idle') void this.sandbox?.freeze();
      }, delay);
      this.freezeTimer.unref();
    }
    this.state = 'idle';
    this.idleSince = Date.now();
    const listener = this.idleListener;
    this.idleListener = undefined;
    listener?.();
  }

  private onResult(requestId: string, result: RuntimeResult): boolean {
    const p = this.pending;
    if (!p || p.req.requestId !== requestId) return false;
    // Let output the runtime wrote before posting its result reach the log first.
    setImmediate(() => {
      if (this.pending !== p) return;
      if (result.kind === 'response') this.complete(p, result.body, undefined, undefined);
      else if (result.kind === 'error') {
        this.complete(p, result.body, 'Unhandled', result.errorType ?? errorTypeOf(result.body) ?? 'Unhandled');
      } else {
        this.complete(p, responseTooLarge(result.size, MAX_RUNTIME_PAYLOAD), 'Unhandled', 'Function.ResponseSizeTooLarge');
      }
    });
    return true;
  }

  /**
   * A streamed response begins. With a stream to send it to, its bytes go there as they arrive (up
   * to MAX_STREAMED_RESPONSE); without one they are kept, as a buffered response would be (up to
   * MAX_RUNTIME_PAYLOAD). Its end completes the invocation; error trailers make it a failure.
   */
  private onResponseStream(requestId: string, contentType: string | undefined): ResponseStreamSink | undefined {
    const p = this.pending;
    if (!p || p.req.requestId !== requestId || p.streaming !== undefined) return undefined;
    const target = p.req.stream;
    p.streaming = target !== undefined;
    const limit = target ? MAX_STREAMED_RESPONSE : MAX_RUNTIME_PAYLOAD;
    const kept: Buffer[] = [];
    let size = 0;
    target?.start(contentType || DEFAULT_STREAM_CONTENT_TYPE);
    return {
      write: (data) => {
        if (this.pending !== p) return; // timed out or crashed meanwhile: the rest is dropped
        size += data.length;
        if (size > limit) return;
        if (target) target.write(data);
        else kept.push(data);
      },
      end: (trailers) => {
        // A turn later, like buffered results: output written before the end is logged first.
        setImmediate(() => {
          if (this.pending !== p) return;
          const errorType = trailers.get(ERROR_TYPE_TRAILER);
          const errorBody = trailers.get(ERROR_BODY_TRAILER);
          if (size > limit) {
            this.complete(p, responseTooLarge(size, limit), 'Unhandled', 'Function.ResponseSizeTooLarge');
          } else if (errorType !== undefined || errorBody !== undefined) {
            const body = errorBody === undefined ? jsonBody({ errorType, errorMessage: errorType }) : Buffer.from(errorBody, 'base64');
            this.complete(p, body, 'Unhandled', errorType ?? errorTypeOf(body) ?? 'Unhandled');
          } else {
            this.complete(p, target ? EMPTY : Buffer.concat(kept, size), undefined, undefined);
          }
        });
      },
      // The runtime's connection went away mid-stream: its exit, or the timeout, ends the invocation.
      abort: () => undefined,
    };
  }

  private complete(
    p: Pending,
    payload: Buffer,
    functionError: 'Unhandled' | undefined,
    errorType: string | undefined,
    status?: 'timeout' | 'error',
  ): void {
    clearTimeout(p.timer);
    this.pending = undefined;
    if (this.state === 'busy') {
      if (this.api?.polling) this.becomeIdle();
      else this.state = 'finishing';
    }
    const outcome = this.finish(p.req, p.startedAt, payload, functionError === undefined ? undefined : errorType, status);
    if (p.streaming === true) outcome.streamed = true;
    p.resolve(outcome);
  }

  /** Writes END and REPORT and builds the outcome. */
  private finish(
    req: InvokeRequest,
    startedAt: number,
    payload: Buffer,
    errorType: string | undefined,
    status?: 'timeout' | 'error',
  ): InvokeOutcome {
    const durationMs = performance.now() - startedAt;
    const initDurationMs = this.coldStartPending ? this.initDurationMs : undefined;
    this.coldStartPending = false;
    const maxMemoryUsedMb = this.sandbox?.peakMemoryMb() ?? 0;
    this.log(endLine(req.requestId));
    this.log(
      reportLine({
        requestId: req.requestId,
        durationMs,
        memorySizeMb: this.spec.memorySize,
        maxMemoryUsedMb,
        initDurationMs,
        status,
        errorType: status ? errorType : undefined,
      }),
    );
    const logLines = this.tail;
    this.tail = undefined;
    return {
      payload,
      functionError: errorType === undefined ? undefined : 'Unhandled',
      errorType,
      durationMs,
      initDurationMs,
      maxMemoryUsedMb,
      logLines,
    };
  }

  private onTimeout(): void {
    const p = this.pending;
    if (!p) return;
    this.sandbox?.peakMemoryMb(); // keep the peak before the process and its cgroup go
    const seconds = this.spec.timeoutSeconds;
    this.log(timeoutLine(p.req.requestId, seconds));
    const body = jsonBody({
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${p.req.requestId} Error: Task timed out after ${seconds.toFixed(2)} seconds`,
    });
    this.state = 'dead';
    this.complete(p, body, 'Unhandled', 'Sandbox.Timedout', 'timeout');
    this.kill();
  }

  private onExit(): void {
    const p = this.pending;
    if (p) {
      const info = this.exitInfo ?? 'exit status 0';
      // Killed by nobody on the host, or after V8's fatal heap message: the memory limit ended it.
      const oom = this.sandbox?.oomKilled() ?? (!this.killedByHost && (this.exitSignal === 'SIGKILL' || this.sawOutOfMemory));
      const errorType = oom ? 'Runtime.OutOfMemory' : 'Runtime.ExitError';
      const body = exitErrorBody(p.req.requestId, info, errorType);
      this.log(`RequestId: ${p.req.requestId} Error: Runtime exited with error: ${info}`);
      this.log(errorType);
      this.state = 'dead';
      this.complete(p, body, 'Unhandled', errorType, 'error');
    } else if (this.state === 'starting') {
      const info = this.exitInfo ?? 'exit status 0';
      if (!this.initFailure) this.failInit('Runtime.ExitError', (id) => exitErrorBody(id, info));
    }
    this.die();
  }

  private failInit(errorType: string, render: (requestId: string) => Buffer): void {
    if (this.state !== 'starting' || this.initFailure) return;
    this.initFailure = { errorType, render };
    this.resolveInit?.();
  }

  private die(): void {
    if (this.state === 'dead' && this.deathListeners.length === 0 && !this.api) return;
    this.state = 'dead';
    void this.sandbox?.destroy();
    this.api?.close();
    this.api = undefined;
    this.resolveInit?.();
    fs.rm(this.spec.workDir, { recursive: true, force: true }, () => undefined);
    const listeners = this.deathListeners.splice(0);
    for (const fn of listeners) fn(this);
  }

  private log(line: string): void {
    this.logs.write(this.spec.logGroup, this.spec.logStream, line);
    if (this.tail) this.tail.push(line);
    else if (this.initLines && this.initLines.length < MAX_INIT_LINES) this.initLines.push(line);
  }

  private pipeOutput(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    const decoder = new StringDecoder('utf8');
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const text = partial + decoder.write(chunk);
      let start = 0;
      let nl = text.indexOf('\n');
      while (nl >= 0) {
        const line = text.slice(start, Math.min(nl, start + MAX_LOG_LINE));
        if (line.includes('heap out of memory') || line.includes('Fatal process out of memory')) this.sawOutOfMemory = true;
        this.log(line);
        start = nl + 1;
        nl = text.indexOf('\n', start);
      }
      partial = text.slice(start);
      if (partial.length > MAX_LOG_LINE) {
        this.log(partial.slice(0, MAX_LOG_LINE));
        partial = '';
      }
    });
    stream.on('end', () => {
      const rest = partial + decoder.end();
      if (rest.length > 0) this.log(rest);
    });
    stream.resume(); // a stem cell's streams were paused while they changed hands
  }
}

function exitErrorBody(requestId: string, info: string, errorType = 'Runtime.ExitError'): Buffer {
  return jsonBody({ errorType, errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${info}` });
}

const EMPTY = Buffer.alloc(0);

/** The error document of a response over its limit (Lambda's `Function.ResponseSizeTooLarge`). */
function responseTooLarge(size: number, limit: number): Buffer {
  return jsonBody({
    errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${limit} bytes).`,
    errorType: 'Function.ResponseSizeTooLarge',
  });
}

function jsonBody(value: object): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function errorTypeOf(body: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'errorType' in parsed && typeof parsed.errorType === 'string') return parsed.errorType;
  } catch {
    /* not JSON */
  }
  return undefined;
}

function signalName(signal: NodeJS.Signals): string {
  const names: Partial<Record<NodeJS.Signals, string>> = {
    SIGKILL: 'killed',
    SIGABRT: 'aborted',
    SIGSEGV: 'segmentation fault',
    SIGTERM: 'terminated',
  };
  return names[signal] ?? signal.toLowerCase().replace(/^sig/, '');
}

/**
 * An X-Ray style trace header value. Its random parts come from `randomUUID`, which draws on a
 * pooled buffer: two `randomBytes` calls per invocation meant two getrandom syscalls on the hot path.
 */
function traceId(): string {
  const hex = crypto.randomUUID().replaceAll('-', '');
  const time = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${time}-${hex.slice(0, 24)};Parent=${hex.slice(16, 32)};Sampled=0`;
}
