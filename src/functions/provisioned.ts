import { KumoError, invalidParameter, isKumoError, validationError } from '../errors/index.js';
import type { FunctionRecord, ProvisionedConcurrencyRecord, ProvisionedConcurrencyRepo } from '../store/index.js';
import { checkQualifier } from './names.js';
import { QUALIFIER_KEY, pageOf, pageSize, readMarker } from './paging.js';
import { isAliasName, type FunctionService } from './service.js';

/** What provisioned concurrency needs of the engine (Engine satisfies it). */
export interface ProvisioningEngine {
  /** Keeps `count` environments of the version initialised; resolves once they are, rejects when one fails its init. */
  provision(fn: FunctionRecord, count: number): Promise<void>;
  /** Provisioned environments of the version that are ready. */
  provisionedReady(fn: FunctionRecord): number;
  setProvisionedConcurrency(functionName: string, total: number): void;
  reservedConcurrency(functionName: string): number | undefined;
  /** The account limit less every reservation and the provisioned concurrency of unreserved functions. */
  readonly unreservedConcurrency: number;
}

export type ProvisionedStatus = 'IN_PROGRESS' | 'READY' | 'FAILED';

/** How many environments a config keeps for one version (an alias with weights splits its count between two). */
interface Allocation {
  fn: FunctionRecord;
  count: number;
}

/** A config as it is now: what it asked for, where its environments go and how far they are. */
interface ConfigState {
  record: ProvisionedConcurrencyRecord;
  allocations: Allocation[];
  status: ProvisionedStatus;
  reason: string | undefined;
}

/** The work of keeping one version's environments: the count asked for and when it is done. */
interface VersionJob {
  count: number;
  done: Promise<void>;
}

const UNPUBLISHED = 'Provisioned Concurrency Configs cannot be applied to unpublished function versions.';
const NOT_A_VERSION_OR_ALIAS = 'The function resource provided must be an alias or a published version.';

/**
 * Provisioned concurrency (PutProvisionedConcurrencyConfig, Get, Delete, List) on published versions
 * and aliases. Configs are stored (they survive a restart, and are provisioned again at start); the
 * engine keeps that many environments of each version initialised. An alias provisions the version
 * it points to, or with RoutingConfig both versions in proportion to their weights, and follows the
 * alias when it moves. Provisioned concurrency counts against the function's reserved concurrency,
 * or else is taken out of the account's unreserved pool, as on Lambda.
 */
export class FunctionProvisioning {
  /** Keyed `function\0qualifier`. */
  private readonly states = new Map<string, ConfigState>();
  /** Keyed `function\0version`. */
  private readonly jobs = new Map<string, VersionJob>();
  /** Serializes reconciling each function, so that two changes never interleave. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly functions: FunctionService,
    private readonly repo: ProvisionedConcurrencyRepo,
    private readonly engine: ProvisioningEngine,
    private readonly options: { unreservedMinimum: number; onError: (err: unknown, msg: string) => void },
  ) {
    functions.watch((name) => {
      this.reconcile(name).catch((err: unknown) => options.onError(err, 'cannot apply provisioned concurrency'));
    });
  }

  /** Provisions every stored config again (at start). Resolves once the work is started, not done. */
  async load(): Promise<void> {
    const names = new Set((await this.repo.list()).map((r) => r.functionName));
    for (const name of names) await this.reconcile(name);
  }

  /** PutProvisionedConcurrencyConfig: stores the config and starts provisioning (202, IN_PROGRESS). */
  async put(functionName: string, qualifier: string | undefined, requested: number): Promise<Record<string, unknown>> {
    if (!Number.isInteger(requested) || requested < 1) {
      throw validationError('provisionedConcurrentExecutions', requested, 'Member must have value greater than or equal to 1');
    }
    const { name, q } = this.target(functionName, qualifier);
    if (q === '$LATEST') throw invalidParameter(UNPUBLISHED);
    await this.resolve(name, q);
    await this.functions.withConcurrencyLock(async () => {
      const all = await this.repo.list(name);
      await this.checkConflicts(name, q, all);
      const current = all.find((r) => r.qualifier === q)?.requested ?? 0;
      const others = all.reduce((n, r) => n + (r.qualifier === q ? 0 : r.requested), 0);
      this.checkQuota(name, requested, current, others);
      const record: ProvisionedConcurrencyRecord = { functionName: name, qualifier: q, requested, lastModified: Date.now() };
      await this.repo.put(record);
      this.retryIfFailed(name, q);
      await this.reconcile(name);
    });
    return this.view(name, q);
  }

  /** GetProvisionedConcurrencyConfig. */
  async get(functionName: string, qualifier: string | undefined): Promise<Record<string, unknown>> {
    const { name, q } = this.target(functionName, qualifier);
    if (q === '$LATEST') throw invalidParameter(NOT_A_VERSION_OR_ALIAS);
    await this.resolve(name, q);
    if (!(await this.repo.list(name)).some((r) => r.qualifier === q)) {
      throw new KumoError('ProvisionedConcurrencyConfigNotFoundException', 'No Provisioned Concurrency Config found for this function');
    }
    await this.settled(name);
    return this.view(name, q);
  }

  /** DeleteProvisionedConcurrencyConfig: 204 whether or not there was one (the version or alias must exist). */
  async delete(functionName: string, qualifier: string | undefined): Promise<void> {
    const { name, q } = this.target(functionName, qualifier);
    if (q === '$LATEST') throw invalidParameter(NOT_A_VERSION_OR_ALIAS);
    await this.resolve(name, q);
    if (await this.repo.delete(name, q)) await this.reconcile(name);
  }

  /** ListProvisionedConcurrencyConfigs: by qualifier, at most 50 a page. */
  async list(
    functionName: string,
    marker: string | undefined,
    maxItems: number | undefined,
  ): Promise<{ ProvisionedConcurrencyConfigs: Array<Record<string, unknown>>; NextMarker?: string }> {
    const limit = pageSize(maxItems, 50);
    const ref = this.functions.ref(functionName);
    const fn = await this.functions.get(ref.name);
    await this.settled(fn.name);
    const after = readMarker(marker, QUALIFIER_KEY);
    const all = (await this.repo.list(fn.name)).filter((r) => after === undefined || r.qualifier > after);
    const { page, nextMarker } = pageOf(all, limit, (r) => r.qualifier);
    return {
      ProvisionedConcurrencyConfigs: page.map((r) => ({
        FunctionArn: this.functions.arn(fn.name, r.qualifier),
        ...this.view(fn.name, r.qualifier),
      })),
      ...(nextMarker === undefined ? {} : { NextMarker: nextMarker }),
    };
  }

  /** A config whose environments failed their init starts over when it is put again. */
  private retryIfFailed(name: string, q: string): void {
    const state = this.states.get(`${name}\u0000${q}`);
    if (state?.status !== 'FAILED') return;
    this.states.delete(`${name}\u0000${q}`);
    for (const a of state.allocations) this.jobs.delete(`${name}\u0000${a.fn.version}`);
  }

  /** The function and qualifier a call names (the qualifier is required, in `Qualifier` or the ARN). */
  private target(functionName: string, qualifier: string | undefined): { name: string; q: string } {
    if (qualifier !== undefined) checkQualifier(qualifier);
    const ref = this.functions.ref(functionName, qualifier);
    if (ref.qualifier === undefined) throw validationError('qualifier', null, 'Member must not be null');
    return { name: ref.name, q: ref.qualifier };
  }

  /** The version `q` names (an alias: the version it points to); Lambda's not-found errors otherwise. */
  private async resolve(name: string, q: string): Promise<FunctionRecord> {
    await this.functions.get(name); // an unknown function is reported as such first
    return this.functions.get(name, q);
  }

  /** Lambda refuses provisioning a version twice, through itself and through an alias pointing to it. */
  private async checkConflicts(name: string, q: string, all: readonly ProvisionedConcurrencyRecord[]): Promise<void> {
    if (isAliasName(q)) {
      const alias = await this.functions.alias(name, q);
      if (alias?.functionVersion === '$LATEST') throw invalidParameter(UNPUBLISHED);
      if (alias && all.some((r) => r.qualifier === alias.functionVersion)) {
        throw new KumoError(
          'ResourceConflictException',
          "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
        );
      }
      return;
    }
    for (const r of all) {
      if (!isAliasName(r.qualifier)) continue;
      const alias = await this.functions.alias(name, r.qualifier);
      if (alias?.functionVersion === q)
        throw new KumoError('ResourceConflictException', 'Version is pointed by a Provisioned Concurrency alias');
    }
  }

  /**
   * Provisioned concurrency fits in the function's reservation, or else comes out of the account's
   * unreserved pool, which must keep its minimum (Lambda's errors and wording).
   */
  private checkQuota(name: string, requested: number, current: number, others: number): void {
    const reserved = this.engine.reservedConcurrency(name);
    if (reserved !== undefined) {
      if (others + requested > reserved) {
        throw invalidParameter('Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function');
      }
      return;
    }
    const unreserved = this.engine.unreservedConcurrency + current;
    if (requested > unreserved) {
      throw invalidParameter(
        `Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [${unreserved}].`,
      );
    }
    if (unreserved - requested < this.options.unreservedMinimum) {
      throw invalidParameter(
        `Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${this.options.unreservedMinimum}].`,
      );
    }
  }

  /** Brings the engine in line with a function's stored configs, one change at a time per function. */
  private reconcile(name: string): Promise<void> {
    const next = (this.queues.get(name) ?? Promise.resolve()).then(() => this.apply(name));
    const tail = next.catch(() => undefined);
    this.queues.set(name, tail);
    void tail.then(() => {
      if (this.queues.get(name) === tail) this.queues.delete(name);
    });
    return next;
  }

  /** Waits for changes of the function being applied (not for environments to be ready). */
  private async settled(name: string): Promise<void> {
    await this.queues.get(name);
  }

  private async apply(name: string): Promise<void> {
    const records = await this.repo.list(name);
    const wanted = new Map<string, Allocation>();
    const planned = new Map<string, { record: ProvisionedConcurrencyRecord; allocations: Allocation[] }>();
    for (const record of records) {
      const allocations = await this.allocate(name, record);
      planned.set(record.qualifier, { record, allocations });
      for (const a of allocations) {
        const have = wanted.get(a.fn.version);
        wanted.set(a.fn.version, { fn: a.fn, count: (have?.count ?? 0) + a.count });
      }
    }
    this.engine.setProvisionedConcurrency(
      name,
      records.reduce((n, r) => n + r.requested, 0),
    );
    // Versions no longer provisioned keep their environments as ordinary ones (reclaimed when idle).
    for (const key of [...this.jobs.keys()].filter((k) => k.startsWith(`${name}\u0000`))) {
      const version = key.slice(name.length + 1);
      if (wanted.has(version)) continue;
      this.jobs.delete(key);
      const fn = await this.version(name, version);
      if (fn) await this.engine.provision(fn, 0);
    }
    for (const { fn, count } of wanted.values()) this.schedule(fn, count);
    for (const key of [...this.states.keys()].filter((k) => k.startsWith(`${name}\u0000`))) {
      if (!planned.has(key.slice(name.length + 1))) this.states.delete(key);
    }
    for (const [q, { record, allocations }] of planned) {
      const key = `${name}\u0000${q}`;
      const before = this.states.get(key);
      if (before && before.record.requested === record.requested && sameAllocations(before.allocations, allocations)) {
        before.record = record;
        continue;
      }
      const state: ConfigState = { record, allocations, status: 'IN_PROGRESS', reason: undefined };
      this.states.set(key, state);
      const jobs = allocations.map((a) => this.jobs.get(`${name}\u0000${a.fn.version}`)?.done ?? Promise.resolve());
      Promise.all(jobs).then(
        () => {
          if (this.states.get(key) === state) state.status = 'READY';
        },
        (err: unknown) => {
          if (this.states.get(key) !== state) return;
          state.status = 'FAILED';
          state.reason = `Provisioned Concurrency configuration failed to be applied. Reason: FUNCTION_ERROR_INIT_FAILURE (${isKumoError(err) ? err.message : String(err)})`;
        },
      );
    }
  }

  /** Asks the engine for `count` environments of a version, after any earlier request for it settles. */
  private schedule(fn: FunctionRecord, count: number): void {
    const key = `${fn.name}\u0000${fn.version}`;
    const before = this.jobs.get(key);
    if (before?.count === count) return;
    const job: VersionJob = { count, done: Promise.resolve() };
    const run = (): Promise<void> => (this.jobs.get(key) === job ? this.engine.provision(fn, count) : Promise.resolve());
    job.done = (before?.done ?? Promise.resolve()).then(run, run);
    job.done.catch(() => undefined); // reported through the configs' status
    this.jobs.set(key, job);
  }

  /** Where a config's environments go: its version, or its alias's version(s) by weight. */
  private async allocate(name: string, record: ProvisionedConcurrencyRecord): Promise<Allocation[]> {
    if (!isAliasName(record.qualifier)) {
      const fn = await this.version(name, record.qualifier);
      return fn ? [{ fn, count: record.requested }] : [];
    }
    const alias = await this.functions.alias(name, record.qualifier);
    if (!alias) return [];
    const out: Allocation[] = [];
    let rest = record.requested;
    for (const [version, weight] of Object.entries(alias.additionalVersionWeights)) {
      const share = Math.round(record.requested * weight);
      const fn = share > 0 ? await this.version(name, version) : undefined;
      if (fn) {
        out.push({ fn, count: share });
        rest -= share;
      }
    }
    const main = rest > 0 ? await this.version(name, alias.functionVersion) : undefined;
    if (main) out.unshift({ fn: main, count: rest });
    return out;
  }

  /** A published version's record, or undefined when it is gone (or is `$LATEST`). */
  private async version(name: string, version: string): Promise<FunctionRecord | undefined> {
    if (!/^[0-9]+$/.test(version)) return undefined;
    try {
      return await this.functions.get(name, version);
    } catch (err) {
      if (isKumoError(err) && err.code === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }

  /** A config as Lambda renders it. */
  private view(name: string, q: string): Record<string, unknown> {
    const state = this.states.get(`${name}\u0000${q}`);
    if (!state)
      throw new KumoError('ProvisionedConcurrencyConfigNotFoundException', 'No Provisioned Concurrency Config found for this function');
    const ready = state.allocations.reduce((n, a) => n + Math.min(a.count, this.engine.provisionedReady(a.fn)), 0);
    const allocated = Math.min(state.record.requested, ready);
    const out: Record<string, unknown> = {
      RequestedProvisionedConcurrentExecutions: state.record.requested,
      AvailableProvisionedConcurrentExecutions: allocated,
      AllocatedProvisionedConcurrentExecutions: allocated,
      Status: state.status,
    };
    if (state.reason !== undefined) out.StatusReason = state.reason;
    out.LastModified = new Date(state.record.lastModified).toISOString().replace(/\.\d{3}Z$/, '+0000');
    return out;
  }
}

function sameAllocations(a: readonly Allocation[], b: readonly Allocation[]): boolean {
  return a.length === b.length && a.every((x, i) => x.fn.version === b[i]?.fn.version && x.count === b[i]?.count);
}
