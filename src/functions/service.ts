import crypto from 'node:crypto';
import type { CodeArtifact, CodeStore } from '../code/index.js';
import type { CompiledOptions } from '../config/index.js';
import { RUNTIMES, type Engine, type EngineInvokeRequest, type InvokeOutcome } from '../engine/index.js';
import { KumoError, functionNotFound, invalidParameter, validationError, updateInProgress } from '../errors/index.js';
import type { AliasRecord, FunctionConfig, FunctionRecord, LayerAttachment, Store } from '../store/index.js';
import { buildConfig, type ConfigInput } from './config.js';
import { BUFFERED_CONTENT_TYPE, StreamCollector, type ResponseStream } from './streaming.js';
import { pageOf, pageSize, readMarker } from './paging.js';
import { checkTags } from './tags.js';
import { checkQualifier, functionArn, parseFunctionRef, parseNewFunctionName, type FunctionRef, type Partition } from './names.js';

/** Lambda's limit on a synchronous invocation's request payload. */
export const MAX_SYNC_PAYLOAD = 6 * 1024 * 1024;

export interface CreateFunctionInput extends ConfigInput {
  FunctionName: string;
  zip: Buffer;
  PackageType?: string | undefined;
  Publish?: boolean | undefined;
  Tags?: Record<string, string> | undefined;
  CodeSigningConfigArn?: string | undefined;
}

/**
 * Checks a deployment's code before it is stored (code signing, src/signing). Lives here as a port
 * so that the functions subsystem does not depend on who implements it.
 */
export interface DeploymentCheck {
  /**
   * Throws to refuse `zip` for the function (checked against `configArn` when given on create).
   * Resolves with who signed it when its signature is valid, for the function's configuration.
   */
  verify(functionName: string, zip: Buffer, configArn?: string): Promise<CodeSignature | undefined>;
  /** Records the code signing configuration CreateFunction named, once the function exists. */
  attachOnCreate(functionName: string, configArn: string): Promise<void>;
}

/** Who signed a deployment: Lambda's SigningProfileVersionArn and SigningJobArn. */
export interface CodeSignature {
  profileVersionArn: string;
  jobArn: string;
}

/**
 * Resolves the layer version ARNs of a configuration's `Layers` (src/layers). A port, so that the
 * functions subsystem does not depend on who implements it.
 */
export interface LayerResolver {
  /** Throws Lambda's errors for a bad list (form, count, unknown version, a layer twice). */
  resolve(arns: readonly string[]): Promise<LayerAttachment[]>;
}

/** Lambda's limit on a function's unzipped code and layers together. */
export const MAX_UNZIPPED_WITH_LAYERS = 262_144_000;

export interface UpdateCodeInput {
  zip: Buffer;
  RevisionId?: string | undefined;
  Publish?: boolean | undefined;
}

export interface PublishVersionInput {
  CodeSha256?: string | undefined;
  RevisionId?: string | undefined;
  Description?: string | undefined;
}

export interface InvokeInput {
  functionName: string;
  qualifier?: string | undefined;
  payload: Buffer;
  invocationType: 'RequestResponse' | 'Event' | 'DryRun';
  wantTail: boolean;
  clientContext?: string | undefined;
  requestId: string;
}

export interface InvokeResult {
  executedVersion: string;
  /** Undefined for DryRun. */
  outcome: InvokeOutcome | undefined;
}

/** InvokeWithResponseStream's input: no Event invocations. */
export interface StreamInvokeInput extends Omit<InvokeInput, 'invocationType'> {
  invocationType: 'RequestResponse' | 'DryRun';
}

export interface StreamInvokeResult {
  executedVersion: string;
  /** Undefined for DryRun. */
  response: ResponseStream | undefined;
}

export interface AccountUsage {
  functionCount: number;
  totalCodeSize: number;
  concurrentExecutions: number;
  /** The account limit less every reservation. */
  unreservedConcurrentExecutions: number;
}

const SUPPORTED_RUNTIMES: ReadonlySet<string> = new Set(RUNTIMES.keys());

/**
 * Functions: their lifecycle (create, read, update, delete) and invocation. This is where Lambda's
 * rules live; the HTTP layer only parses and maps. Function records are cached in memory because
 * every invocation needs one.
 */
export class FunctionService {
  /**
   * Records of `$LATEST` and of published versions (immutable but for their RevisionId), keyed
   * `recordKey(name, version)`: an invocation of `$LATEST` finds its record by the bare name.
   */
  private readonly records = new Map<string, FunctionRecord>();
  /** Aliases by `recordKey(function, alias)`: invoking an alias needs one on every call. See `forgetAliases`. */
  private readonly aliasCache = new Map<string, AliasRecord>();
  /** Moves on at every `forgetAliases`: an alias read before it may be out of date. */
  private aliasGeneration = 0;
  /** Draws in [0, 1) for weighted alias routing. */
  private readonly random: () => number = Math.random;
  /**
   * Serializes "store code, then record it" against code garbage collection, so that a prune never
   * removes an archive a concurrent create/update has stored but not yet recorded.
   */
  private readonly codeLock = new Serial();
  /** Serializes publishing, so that two concurrent PublishVersion calls on an unchanged function answer one version. */
  private readonly publishLock = new Serial();
  /**
   * Serializes changes to the account's concurrency (reservations, provisioned concurrency): each
   * one's checks read what the last one left, so two at once cannot both pass and oversubscribe.
   */
  private readonly concurrencyLock = new Serial();
  private deploymentCheck: DeploymentCheck | undefined;
  /** Told when a function, one of its versions or one of its aliases changes or goes (see `watch`). */
  private readonly watchers: Array<(functionName: string) => void> = [];
  private layerResolver: LayerResolver | undefined;
  readonly partition: Partition;

  constructor(private readonly deps: { options: CompiledOptions; store: Store; code: CodeStore; engine: Engine }) {
    this.partition = { region: deps.options.region, accountId: deps.options.accountId };
  }

  /** Loads what the engine needs from the store (reserved concurrency). Call once at start. */
  async load(): Promise<void> {
    for (const [name, value] of await this.deps.store.functions.reservedConcurrency()) this.deps.engine.setReservedConcurrency(name, value);
  }

  /**
   * Calls `watcher` after a function is deleted, one of its versions is deleted, or one of its
   * aliases is updated or deleted: what hangs on them (provisioned concurrency) follows.
   */
  watch(watcher: (functionName: string) => void): void {
    this.watchers.push(watcher);
  }

  /** Tells the watchers that something of `functionName` changed (the alias API calls it too). */
  changed(functionName: string): void {
    for (const watcher of this.watchers) watcher(functionName);
  }

  /** Installs the check every CreateFunction and UpdateFunctionCode passes (code signing). */
  useDeploymentCheck(check: DeploymentCheck): void {
    this.deploymentCheck = check;
  }

  /** Installs what resolves a configuration's `Layers` (src/layers); without one, layers are refused. */
  useLayers(resolver: LayerResolver): void {
    this.layerResolver = resolver;
  }

  arn(name: string, qualifier?: string): string {
    return functionArn(this.partition, name, qualifier);
  }

  /** The function and qualifier a FunctionName (name, partial or full ARN) and `Qualifier` parameter name together. */
  ref(input: string, qualifier?: string): FunctionRef {
    const ref = parseFunctionRef(this.partition, input);
    if (qualifier !== undefined) checkQualifier(qualifier);
    if (qualifier !== undefined && ref.qualifier !== undefined && qualifier !== ref.qualifier) {
      throw invalidParameter('The derived qualifier from the function name does not match the specified qualifier.');
    }
    return { name: ref.name, qualifier: qualifier ?? ref.qualifier };
  }

  async create(input: CreateFunctionInput): Promise<FunctionRecord> {
    const name = parseNewFunctionName(this.partition, input.FunctionName);
    if (input.PackageType !== undefined && input.PackageType !== 'Zip') {
      if (input.PackageType === 'Image')
        throw invalidParameter('Kumo runs .zip deployment packages; container images (PackageType Image) are not supported.');
      throw validationError('packageType', input.PackageType, 'Member must satisfy enum value set: [Image, Zip]');
    }
    const built = await this.withLayers(buildConfig(this.partition, name, input, undefined, SUPPORTED_RUNTIMES), input.Layers);
    const tags = input.Tags === undefined ? undefined : checkTags(input.Tags, {});
    if (await this.deps.store.functions.get(name)) throw conflictExists(name);
    const config = signedBy(built, await this.deploymentCheck?.verify(name, input.zip, input.CodeSigningConfigArn));
    const created = await this.storeArchive(input.zip, async (code) => {
      checkCombinedSize(code.unzippedSize, config.layers);
      const now = Date.now();
      const record: FunctionRecord = {
        name,
        version: '$LATEST',
        config,
        codeSha256Hex: code.sha256Hex,
        codeSize: code.size,
        codeUnzippedSize: code.unzippedSize,
        revisionId: crypto.randomUUID(),
        createdAt: now,
        lastModified: now,
      };
      if (!(await this.deps.store.functions.insert(record))) throw conflictExists(name);
      if (tags) await this.deps.store.tags.set(name, tags);
      if (input.CodeSigningConfigArn !== undefined) await this.deploymentCheck?.attachOnCreate(name, input.CodeSigningConfigArn);
      this.remember(record);
      this.deps.engine.prepare(record);
      return record;
    });
    return input.Publish === true ? this.publishFrom(created, undefined) : created;
  }

  /**
   * The record of a function version: `$LATEST` unless the name or `qualifier` names a version, or
   * an alias (then the version the alias points to).
   */
  async get(input: string, qualifier?: string): Promise<FunctionRecord> {
    const ref = this.ref(input, qualifier);
    if (!isAliasName(ref.qualifier)) return this.resolve(ref);
    const alias = await this.alias(ref.name, ref.qualifier);
    if (!alias) {
      await this.latest({ name: ref.name, qualifier: undefined });
      throw new KumoError('ResourceNotFoundException', `Cannot find alias arn: ${this.arn(ref.name, ref.qualifier)}`);
    }
    return this.resolve({ name: ref.name, qualifier: alias.functionVersion });
  }

  /**
   * PublishVersion: snapshots `$LATEST`'s code and configuration as the next version. When nothing
   * changed since the last version, Lambda publishes nothing and answers with that version.
   */
  async publishVersion(input: string, options: PublishVersionInput): Promise<FunctionRecord> {
    const ref = this.ref(input);
    if (ref.qualifier !== undefined) throw invalidParameter('Version can not be published on a qualified function ARN.');
    const current = await this.latest(ref);
    const sha = Buffer.from(current.codeSha256Hex, 'hex').toString('base64');
    if (options.CodeSha256 !== undefined && options.CodeSha256 !== sha) {
      throw invalidParameter(
        `CodeSHA256 (${options.CodeSha256}) is different from current CodeSHA256 in $LATEST (${sha}). Please try again.`,
      );
    }
    checkRevision(current, options.RevisionId);
    return this.publishFrom(current, options.Description);
  }

  /** ListVersionsByFunction: `$LATEST` first, then versions in order, 50 a page at most. */
  async listVersions(
    input: string,
    marker: string | undefined,
    maxItems: number | undefined,
  ): Promise<{ versions: FunctionRecord[]; nextMarker: string | undefined }> {
    const limit = pageSize(maxItems);
    const ref = this.ref(input);
    await this.latest({ name: ref.name, qualifier: undefined });
    const all = await this.deps.store.functions.versions(ref.name);
    let start = 0;
    const after = readVersionMarker(marker);
    if (after) {
      if (after.name !== ref.name) throw invalidParameter('Invalid marker');
      start = all.findIndex((v) => versionNumber(v.version) > versionNumber(after.version));
      if (start < 0) start = all.length;
    }
    const { page, nextMarker } = pageOf(all.slice(start), limit, versionKeyOf);
    return { versions: page, nextMarker };
  }

  async list(
    marker: string | undefined,
    maxItems: number | undefined,
    allVersions = false,
  ): Promise<{ functions: FunctionRecord[]; nextMarker: string | undefined }> {
    const limit = pageSize(maxItems);
    if (allVersions) {
      const { page, nextMarker } = pageOf(await this.deps.store.functions.listAll(readVersionMarker(marker), limit + 1), limit, versionKeyOf);
      return { functions: page, nextMarker };
    }
    const after = readMarker(marker, FUNCTION_NAME_KEY);
    const { page, nextMarker } = pageOf(await this.deps.store.functions.list(after, limit + 1), limit, (f) => f.name);
    return { functions: page, nextMarker };
  }

  async updateCode(input: string, update: UpdateCodeInput): Promise<FunctionRecord> {
    const ref = this.ref(input);
    const current = await this.latest(ref);
    checkRevision(current, update.RevisionId);
    const signature = await this.deploymentCheck?.verify(current.name, update.zip);
    const record = await this.storeArchive(update.zip, async (code) => {
      checkCombinedSize(code.unzippedSize, current.config.layers);
      return this.replace(current, {
        ...current,
        config: signedBy(current.config, signature),
        codeSha256Hex: code.sha256Hex,
        codeSize: code.size,
        codeUnzippedSize: code.unzippedSize,
      });
    });
    if (record.codeSha256Hex !== current.codeSha256Hex) await this.collectCode();
    return update.Publish === true ? this.publishFrom(record, undefined) : record;
  }

  async updateConfiguration(input: string, patch: ConfigInput & { RevisionId?: string | undefined }): Promise<FunctionRecord> {
    const ref = this.ref(input);
    const current = await this.latest(ref);
    checkRevision(current, patch.RevisionId);
    const config = await this.withLayers(
      buildConfig(this.partition, current.name, patch, current.config, SUPPORTED_RUNTIMES),
      patch.Layers,
    );
    checkCombinedSize(current.codeUnzippedSize, config.layers);
    return this.replace(current, { ...current, config });
  }

  async delete(input: string, qualifier?: string): Promise<void> {
    const ref = this.ref(input, qualifier);
    if (ref.qualifier !== undefined && ref.qualifier !== '$LATEST') {
      const version = await this.resolve(ref); // not found before anything else
      const referencing = (await this.deps.store.aliases.list(version.name))
        .filter((a) => a.functionVersion === version.version || version.version in a.additionalVersionWeights)
        .map((a) => a.name);
      if (referencing.length > 0) {
        throw new KumoError(
          'ResourceConflictException',
          `Unable to delete version because the following aliases reference it: [${referencing.join(', ')}]`,
        );
      }
      if (!(await this.deps.store.functions.deleteVersion(version.name, version.version))) {
        throw functionNotFound(this.arn(ref.name, ref.qualifier));
      }
      this.forget(version);
      this.deps.engine.retire(version.name, version.version);
      this.changed(version.name);
      await this.collectCode();
      return;
    }
    if (ref.qualifier === '$LATEST') throw invalidParameter('$LATEST version cannot be deleted without deleting the function.');
    const existed = await this.deps.store.functions.delete(ref.name);
    forgetFunction(this.records, ref.name);
    this.forgetAliases(ref.name);
    this.deps.engine.retire(ref.name);
    this.deps.engine.setReservedConcurrency(ref.name, undefined);
    if (!existed) throw functionNotFound(this.arn(ref.name));
    this.changed(ref.name);
    await this.collectCode();
  }

  async invoke(input: InvokeInput): Promise<InvokeResult> {
    const { fn, request } = await this.prepareInvoke(input);
    if (!request) return { executedVersion: fn.version, outcome: undefined };
    const outcome = await this.deps.engine.invoke(fn, request);
    return { executedVersion: fn.version, outcome };
  }

  /**
   * Invokes and hands back the response as the function streams it (InvokeWithResponseStream,
   * function URLs in RESPONSE_STREAM mode): resolves once the response begins, that is when the
   * function starts streaming or, for a function that does not stream, when it has returned (its
   * payload is then the one chunk). Versions, aliases, concurrency, timeouts and logs are Invoke's.
   * Rejects, like `invoke`, when the invocation cannot start (unknown function, throttled, bad payload).
   */
  async invokeStream(input: StreamInvokeInput): Promise<StreamInvokeResult> {
    const { fn, request } = await this.prepareInvoke(input);
    if (!request) return { executedVersion: fn.version, response: undefined };
    const collector = new StreamCollector();
    const run = this.deps.engine.invoke(fn, { ...request, stream: collector.sink });
    const first = await Promise.race([collector.begin, run]);
    const completion = run.then(
      (outcome) => collector.finish(outcome),
      (err: unknown) => collector.fail(err),
    );
    const streaming = typeof first === 'string';
    return {
      executedVersion: fn.version,
      response: { contentType: streaming ? first : BUFFERED_CONTENT_TYPE, streaming, body: collector.body, completion },
    };
  }

  /** Resolves what an invocation runs and checks its payload; no engine request for DryRun. */
  private async prepareInvoke(
    input: Omit<InvokeInput, 'invocationType'> & { invocationType: InvokeInput['invocationType'] },
  ): Promise<{ fn: FunctionRecord; request: EngineInvokeRequest | undefined }> {
    const ref = this.ref(input.functionName, input.qualifier);
    const fn = await this.resolve(await this.route(ref));
    if (input.payload.length > MAX_SYNC_PAYLOAD) {
      throw new KumoError(
        'RequestEntityTooLargeException',
        `Request must be smaller than ${MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation`,
      );
    }
    if (input.invocationType === 'Event') {
      // The API sends Event invocations to the async subsystem (src/async), which queues them durably.
      throw new KumoError('ServiceException', 'InvocationType Event is queued by AsyncService.accept, not run by FunctionService.invoke.');
    }
    if (input.invocationType === 'DryRun') return { fn, request: undefined };
    const payload = input.payload.length === 0 ? EMPTY_EVENT : input.payload;
    checkJson(payload);
    return {
      fn,
      request: {
        requestId: input.requestId,
        payload,
        invokedFunctionArn: this.arn(fn.name, ref.qualifier),
        clientContext: input.clientContext,
        wantTail: input.wantTail,
      },
    };
  }

  async usage(): Promise<AccountUsage> {
    const stats = await this.deps.store.functions.stats();
    return {
      ...stats,
      concurrentExecutions: this.deps.engine.stats().concurrentExecutions,
      unreservedConcurrentExecutions: this.deps.engine.unreservedConcurrency,
    };
  }

  /** PutFunctionConcurrency: reserves concurrency for a function, keeping Lambda's unreserved minimum. */
  putConcurrency(input: string, value: number): Promise<number> {
    return this.concurrencyLock.run(() => this.putConcurrencyNow(input, value));
  }

  /** Runs `change` (checks and writes of a concurrency setting) after every earlier one has ended. */
  withConcurrencyLock<T>(change: () => Promise<T>): Promise<T> {
    return this.concurrencyLock.run(change);
  }

  private async putConcurrencyNow(input: string, value: number): Promise<number> {
    const ref = this.ref(input);
    if (!Number.isInteger(value) || value < 0) {
      throw validationError('reservedConcurrentExecutions', value, 'Member must have value greater than or equal to 0');
    }
    const fn = await this.latest({ name: ref.name, qualifier: undefined });
    if (ref.qualifier !== undefined) throw invalidParameter('Reserved concurrency is set on the function, not on a version or alias.');
    const provisioned = this.deps.engine.provisionedConcurrency(fn.name);
    if (value < provisioned) {
      // Lambda provisions within a reservation; Kumo's wording (Lambda's is not documented).
      throw invalidParameter(
        `Specified ReservedConcurrentExecutions for function is less than the function's provisioned concurrency [${provisioned}].`,
      );
    }
    const current = this.deps.engine.claimedConcurrency(fn.name);
    const minimum = this.deps.options.unreservedConcurrencyMinimum;
    if (this.deps.engine.unreservedConcurrency - (value - current) < minimum) {
      throw invalidParameter(
        `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${minimum}].`,
      );
    }
    await this.deps.store.functions.setReservedConcurrency(fn.name, value);
    this.deps.engine.setReservedConcurrency(fn.name, value);
    return value;
  }

  /** GetFunctionConcurrency: `undefined` when the function has none reserved. */
  async getConcurrency(input: string): Promise<number | undefined> {
    const fn = await this.latest({ name: this.ref(input).name, qualifier: undefined });
    return this.deps.engine.reservedConcurrency(fn.name);
  }

  async deleteConcurrency(input: string): Promise<void> {
    const fn = await this.latest({ name: this.ref(input).name, qualifier: undefined });
    await this.deps.store.functions.setReservedConcurrency(fn.name, undefined);
    this.deps.engine.setReservedConcurrency(fn.name, undefined);
  }

  /**
   * Changes something Lambda keeps beside a function version (its resource policy, its tags) and
   * gives the version a new RevisionId, as Lambda does, without touching code or configuration.
   * `change` sees the current record, throws to refuse, and stores its change together with the
   * new revision (false when the stored revision moved on meanwhile).
   */
  async revise(ref: FunctionRef, change: (current: FunctionRecord, nextRevisionId: string) => Promise<boolean>): Promise<FunctionRecord> {
    const current = await this.resolve(ref);
    const revisionId = crypto.randomUUID();
    if (!(await change(current, revisionId))) {
      this.forget(current);
      throw updateInProgress(this.arn(current.name));
    }
    return this.remember({ ...current, revisionId });
  }

  /**
   * An alias of a function, if it has one of that name. A read that a `forgetAliases` overtook
   * (its write may have landed after the read) is answered but not cached.
   */
  async alias(functionName: string, name: string): Promise<AliasRecord | undefined> {
    const key = recordKey(functionName, name);
    const cached = this.aliasCache.get(key);
    if (cached) return cached;
    const generation = this.aliasGeneration;
    const alias = await this.deps.store.aliases.get(functionName, name);
    if (alias && generation === this.aliasGeneration) this.aliasCache.set(key, alias);
    return alias;
  }

  /**
   * Drops the cached alias `name` of a function, or all of its aliases without `name`. Whatever
   * changes or deletes an alias (the alias API, its resource policy) or deletes a function calls it.
   */
  forgetAliases(functionName: string, name?: string): void {
    this.aliasGeneration++;
    if (name === undefined) forgetFunction(this.aliasCache, functionName);
    else this.aliasCache.delete(recordKey(functionName, name));
  }

  /**
   * Where an invocation of `ref` goes: an alias becomes its version, or its additional version
   * for that version's share of invocations (RoutingConfig.AdditionalVersionWeights).
   */
  private async route(ref: FunctionRef): Promise<FunctionRef> {
    if (!isAliasName(ref.qualifier)) return ref;
    const alias = await this.alias(ref.name, ref.qualifier);
    if (!alias) throw functionNotFound(this.arn(ref.name, ref.qualifier));
    let draw = this.random();
    for (const [version, weight] of Object.entries(alias.additionalVersionWeights)) {
      if (draw < weight) return { name: ref.name, qualifier: version };
      draw -= weight;
    }
    return { name: ref.name, qualifier: alias.functionVersion };
  }

  /**
   * The version a reference names: `$LATEST` (no qualifier) or a published version number. Every
   * invocation comes here: a cached record is one Map lookup (by the bare name for `$LATEST`).
   */
  private async resolve(ref: FunctionRef): Promise<FunctionRecord> {
    const version = ref.qualifier ?? '$LATEST';
    const cached = this.records.get(recordKey(ref.name, version));
    if (cached) return cached;
    const known = version === '$LATEST' || /^[0-9]+$/.test(version);
    const record = known ? await this.deps.store.functions.get(ref.name, version) : undefined;
    if (!record) throw functionNotFound(this.arn(ref.name, ref.qualifier));
    return this.remember(record);
  }

  /** Caches `record` as its function version's current one. */
  private remember(record: FunctionRecord): FunctionRecord {
    this.records.set(recordKey(record.name, record.version), record);
    return record;
  }

  /** Drops the cached record of `record`'s function version (gone, or moved on in the store). */
  private forget(record: FunctionRecord): void {
    this.records.delete(recordKey(record.name, record.version));
  }

  /** Publishes `latest` as a new version, or answers the last version when nothing changed since it. */
  private publishFrom(latest: FunctionRecord, description: string | undefined): Promise<FunctionRecord> {
    return this.publishLock.run(() => this.publishNow(latest, description));
  }

  private async publishNow(latest: FunctionRecord, description: string | undefined): Promise<FunctionRecord> {
    const versions = await this.deps.store.functions.versions(latest.name);
    const last = versions.at(-1);
    if (last && last.version !== '$LATEST' && sameSnapshot(last, latest)) return last;
    const now = Date.now();
    const published = await this.deps.store.functions.publish(
      {
        ...latest,
        config: { ...latest.config, description: description ?? latest.config.description },
        revisionId: crypto.randomUUID(),
        lastModified: now,
      },
      latest.revisionId,
    );
    if (!published) {
      this.forget(latest);
      throw updateInProgress(this.arn(latest.name));
    }
    return this.remember(published);
  }

  /** `$LATEST` of the function `ref` names; not found when `ref` names a version or alias. */
  private latest(ref: FunctionRef): Promise<FunctionRecord> {
    if (ref.qualifier !== undefined && ref.qualifier !== '$LATEST') {
      return Promise.reject(functionNotFound(this.arn(ref.name, ref.qualifier)));
    }
    return this.resolve(ref);
  }

  private async replace(current: FunctionRecord, next: FunctionRecord): Promise<FunctionRecord> {
    const record: FunctionRecord = { ...next, revisionId: crypto.randomUUID(), lastModified: Date.now() };
    if (!(await this.deps.store.functions.replace(record, current.revisionId))) {
      this.forget(current);
      throw updateInProgress(this.arn(current.name));
    }
    this.remember(record);
    this.deps.engine.retire(record.name, '$LATEST');
    this.deps.engine.prepare(record);
    return record;
  }

  /**
   * Stores an archive and records what refers to it (`record`: a function's create or code update,
   * a layer version in src/layers), serialized against code garbage collection. When `record`
   * fails (refused, or it lost a RevisionId race to another update), the archive is collected at
   * once unless something else refers to it.
   */
  storeArchive<T>(zip: Buffer, record: (code: CodeArtifact) => Promise<T>): Promise<T> {
    return this.codeLock.run(async () => {
      const code = await this.deps.code.put(zip); // a refused archive leaves nothing behind
      try {
        return await record(code);
      } catch (err) {
        // The caller hears why `record` failed; an archive this cannot collect goes at the next collection.
        await this.pruneCode().catch(() => undefined);
        throw err;
      }
    });
  }

  /** Removes code archives that no function, layer version or environment refers to. */
  async collectCode(): Promise<void> {
    await this.codeLock.run(() => this.pruneCode());
  }

  /** Garbage collection of code; the caller holds the code lock. */
  private async pruneCode(): Promise<void> {
    const keep = await this.deps.store.functions.referencedCode();
    for (const sha of this.deps.engine.codeInUse()) keep.add(sha);
    await this.deps.code.prune(keep);
  }

  /** `config` with the layers `arns` names (unchanged when `arns` is undefined; none when empty). */
  private async withLayers(config: FunctionConfig, arns: readonly string[] | undefined): Promise<FunctionConfig> {
    if (arns === undefined) return config;
    if (arns.length === 0) return { ...config, layers: undefined };
    if (!this.layerResolver) throw invalidParameter('Layers are not available in this Kumo.');
    return { ...config, layers: await this.layerResolver.resolve(arns) };
  }
}

const EMPTY_EVENT = Buffer.from('{}');

/** A configuration whose code was signed by `signature` (or was not signed, when undefined). */
function signedBy(config: FunctionConfig, signature: CodeSignature | undefined): FunctionConfig {
  const { signingProfileVersionArn: _profile, signingJobArn: _job, ...rest } = config;
  return signature ? { ...rest, signingProfileVersionArn: signature.profileVersionArn, signingJobArn: signature.jobArn } : rest;
}

/** Runs async tasks one at a time, in the order given; a failed task does not stop the next. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export function checkRevision(current: { revisionId: string }, revisionId: string | undefined): void {
  if (revisionId !== undefined && revisionId !== current.revisionId) {
    throw new KumoError(
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
    );
  }
}

function conflictExists(name: string): KumoError {
  return new KumoError('ResourceConflictException', `Function already exist: ${name}`);
}

/** An Invoke payload must be JSON: Lambda's InvalidRequestContentException otherwise. */
export function checkJson(payload: Buffer): void {
  try {
    JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new KumoError(
      'InvalidRequestContentException',
      `Could not parse request body into json: Could not parse payload into json: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Whether a qualifier names an alias (not `$LATEST`, not a version number). */
export function isAliasName(qualifier: string | undefined): qualifier is string {
  return qualifier !== undefined && qualifier !== '$LATEST' && !/^[0-9]+$/.test(qualifier);
}

/**
 * The in-memory key of a function's version (or alias, in `version`'s place): `name\0version`, and
 * the bare name for `$LATEST` so that invoking `$LATEST` builds no string. Names never hold `\0`.
 */
function recordKey(name: string, version: string): string {
  return version === '$LATEST' ? name : `${name}\u0000${version}`;
}

/** Drops a function's entries (the bare name and every `name\0...`) from a map keyed by `recordKey`. */
function forgetFunction(map: Map<string, unknown>, name: string): void {
  const prefix = `${name}\u0000`;
  for (const key of map.keys()) if (key === name || key.startsWith(prefix)) map.delete(key);
}

function versionNumber(version: string): number {
  return version === '$LATEST' ? 0 : Number(version);
}

/** Whether a version holds the same code and configuration as `$LATEST` (its description aside, which PublishVersion may set). */
function sameSnapshot(version: FunctionRecord, latest: FunctionRecord): boolean {
  return (
    version.codeSha256Hex === latest.codeSha256Hex &&
    JSON.stringify({ ...version.config, description: '' }) === JSON.stringify({ ...latest.config, description: '' })
  );
}

/** Lambda's limit on code and layers unzipped together. */
function checkCombinedSize(codeUnzippedSize: number, layers: readonly LayerAttachment[] | undefined): void {
  if (!layers || layers.length === 0) return;
  const total = layers.reduce((n, l) => n + l.codeUnzippedSize, codeUnzippedSize);
  if (total > MAX_UNZIPPED_WITH_LAYERS) {
    throw invalidParameter(
      `Function code combined with layers exceeds the maximum allowed size of ${MAX_UNZIPPED_WITH_LAYERS} bytes. The actual size is ${total} bytes.`,
    );
  }
}

const FUNCTION_NAME_KEY = /^[a-zA-Z0-9-_]{1,64}$/;

/** A ListVersionsByFunction or ListFunctions(ALL) marker: the function and version it stopped at. */
function readVersionMarker(marker: string | undefined): { name: string; version: string } | undefined {
  const key = readMarker(marker, /^[a-zA-Z0-9-_]{1,64}:(\$LATEST|[0-9]+)$/);
  if (key === undefined) return undefined;
  const at = key.lastIndexOf(':');
  return { name: key.slice(0, at), version: key.slice(at + 1) };
}

function versionKeyOf(f: FunctionRecord): string {
  return `${f.name}:${f.version}`;
}
