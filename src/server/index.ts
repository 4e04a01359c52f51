import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { createApi } from '../api/index.js';
import { AsyncService } from '../async/index.js';
import { CodeStore } from '../code/index.js';
import { compileOptions, type CompiledOptions, type KumoOptions } from '../config/index.js';
import { Engine, type EngineStats } from '../engine/index.js';
import {
  FunctionAliases,
  FunctionPolicies,
  FunctionProvisioning,
  FunctionService,
  FunctionSettings,
  FunctionTags,
} from '../functions/index.js';
import { LayerService } from '../layers/index.js';
import { LogWriter } from '../logs/index.js';
import { Metrics } from '../metrics/index.js';
import { QueueService } from '../queues/index.js';
import { Isolation } from '../sandbox/index.js';
import { CodeSigning, SigningProfiles } from '../signing/index.js';
import { openStore } from '../store/index.js';
import { FunctionUrls, UrlGateway } from '../urls/index.js';
import { lockDataDir } from './data-lock.js';

/** One thing `close()` ends (`name` is for the log when it fails). */
interface Closer {
  name: string;
  close: () => unknown;
}

/**
 * A running Kumo: the composition root that wires store, code, engine, functions and API together.
 * `Kumo.start()` resolves once the API is listening; `close()` stops it and every environment.
 */
export class Kumo {
  private constructor(
    readonly options: CompiledOptions,
    readonly log: Logger,
    private readonly server: http.Server,
    /** What start() opened, in the order close() ends it (after the HTTP server). */
    private readonly closers: readonly Closer[],
    private readonly engine: Engine,
    private readonly isolation: Isolation,
    readonly functions: FunctionService,
    readonly aliases: FunctionAliases,
    readonly events: AsyncService,
    readonly queues: QueueService,
  ) {}

  static async start(input: KumoOptions = {}, log?: Logger): Promise<Kumo> {
    const options = compileOptions(input);
    const logger = log ?? pino({ level: options.logLevel, base: undefined });
    fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    // Before anything else touches the directory: a second Kumo on it would delete the first's
    // environments and temporaries and run its events again. Throws, having touched nothing.
    const unlock = lockDataDir(options.dataDir);
    // Everything opened is closed again, last first: by close(), and when a later step throws (a
    // port in use, a data directory another version wrote), so a failed start leaves nothing running.
    const closers: Closer[] = [{ name: 'data directory lock', close: unlock }];
    const opened = (name: string, close: () => unknown): void => {
      closers.unshift({ name, close });
    };
    try {
      const store = openStore(options.dataDir);
      opened('store', () => store.close());
      const logWriter = new LogWriter(store.logs, (err) => logger.error({ err }, 'failed to store function logs'));
      opened('function logs', () => logWriter.flush());
      const code = await CodeStore.create(path.join(options.dataDir, 'code'));
      opened('code store', () => code.close());
      fs.rmSync(path.join(options.dataDir, 'environments'), { recursive: true, force: true });
      const isolation = await Isolation.create({
        mode: options.isolation,
        // Connections to a Runtime API from outside its environment: the server's log, never the function's.
        warn: (message, fields) => logger.warn(fields ?? {}, message),
      });
      opened('isolation', () => isolation.close());
      if (isolation.support.warning) logger.warn(isolation.support.warning);
      const engine = new Engine({
        options,
        logs: logWriter,
        codeDir: (sha) => code.extracted(sha),
        isolation,
        onError: (err, msg) => logger.warn({ err }, msg),
      });
      opened('engine', () => engine.close());
      const functions = new FunctionService({ options, store, code, engine });
      await functions.load();
      const provisioning = new FunctionProvisioning(functions, store.provisioned, engine, {
        unreservedMinimum: options.unreservedConcurrencyMinimum,
        onError: (err, msg) => logger.warn({ err }, msg),
      });
      await provisioning.load();
      const metrics = new Metrics();
      const queues = new QueueService({ repo: store.queues, region: options.region, accountId: options.accountId });
      opened('queue long polls', () => queues.close());
      const events = new AsyncService({
        functions,
        events: store.asyncEvents,
        configs: store.eventInvokeConfigs,
        reservedConcurrency: (name) => engine.reservedConcurrency(name),
        metrics,
        timeScale: options.asyncTimeScale,
        concurrency: options.asyncConcurrency,
        log: logger,
        queues: () => queues,
      });
      opened('asynchronous invocations', () => events.close());
      const resumed = await events.start();
      if (resumed > 0) logger.info({ events: resumed }, 'resuming queued asynchronous invocations');
      const policies = new FunctionPolicies(functions, store.policies);
      const aliases = new FunctionAliases(functions, store.aliases);
      const tags = new FunctionTags(functions, store.tags);
      const settings = new FunctionSettings(functions, store.settings);
      const profiles = new SigningProfiles(store.signing, { region: options.region, accountId: options.accountId });
      const signing = new CodeSigning({
        repo: store.signing,
        tags: store.tags,
        profiles,
        functions,
        warn: (fields, msg) => logger.warn(fields, msg),
      });
      functions.useDeploymentCheck(signing);
      const layers = new LayerService(store.layers, functions);
      functions.useLayers(layers);
      tags.registerTaggable('code-signing-config', (arn) => signing.tagKey(arn));
      const urls = new FunctionUrls({ functions, repo: store.urls, policies, region: options.region });
      const urlGateway = new UrlGateway({
        urls,
        functions,
        credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
        region: options.region,
        accountId: options.accountId,
        log: logger,
      });
      const server = createApi({
        options,
        functions,
        aliases,
        provisioning,
        settings,
        events,
        metrics,
        policies,
        tags,
        layers,
        signing,
        profiles,
        code,
        logs: store.logs,
        queues,
        urls,
        urlGateway,
        environments: (ends) => isolation.connectionFromEnvironment(ends),
        secret: serverSecret(options.dataDir),
        log: logger,
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return new Kumo(options, logger, server, closers, engine, isolation, functions, aliases, events, queues);
    } catch (err) {
      await runClosers(closers, logger);
      throw err;
    }
  }

  /** The endpoint URL, e.g. `http://127.0.0.1:9001`. */
  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** How execution environments are isolated here: 'bubblewrap' or 'process'. */
  get isolationKind(): 'bubblewrap' | 'process' {
    return this.isolation.support.kind;
  }

  /** Environments and stem cells right now (for tests, `kumo doctor` and metrics). */
  engineStats(): EngineStats {
    return this.engine.stats();
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  private closing: Promise<void> | undefined;

  /** Stops the server and every environment. Later calls share the first one's promise. */
  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    // Long polls end first (with no messages), so their connections do not hold the server open
    // (the closers end them again: a no-op then, but a failed start has only the closers).
    this.queues.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 2000).unref();
    });
    const errors = await runClosers(this.closers, this.log);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'Kumo did not close cleanly');
  }
}

/** Runs every closer in order, each after the one before has settled; failures are logged and returned, and do not stop the rest. */
async function runClosers(closers: readonly Closer[], log: Logger): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const { name, close } of closers) {
    try {
      await close();
    } catch (err) {
      log.warn({ err }, `closing Kumo: cannot close the ${name}`);
      errors.push(err);
    }
  }
  return errors;
}

/** A random secret kept in the data directory (for signed code download links). */
function serverSecret(dataDir: string): Buffer {
  const file = path.join(dataDir, 'secret');
  try {
    return fs.readFileSync(file);
  } catch {
    const secret = crypto.randomBytes(32);
    fs.writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    return fs.readFileSync(file);
  }
}
