import crypto from 'node:crypto';
import { KumoError, invalidParameter, isKumoError } from '../errors/index.js';
import { QUALIFIER_KEY, checkJson, pageOf, pageSize, readMarker } from '../functions/index.js';
import type { Metrics } from '../metrics/index.js';
import type { AsyncEventRepo, EventInvokeConfigRecord, EventInvokeConfigRepo } from '../store/index.js';
import { systemClock, type Clock } from '../clock/index.js';
import { Destinations, FunctionTarget, QueueTarget, type QueueSender } from './destinations.js';
import { Dispatcher, type DispatcherLog, type PendingSummary } from './dispatcher.js';
import {
  checkDestinations,
  checkRanges,
  noEventInvokeConfig,
  toEventInvokeConfigView,
  type EventInvokeConfigInput,
} from './invoke-config.js';
import { AsyncMetrics } from './metrics.js';
import { RetryPolicy } from './policy.js';
import type { FunctionsPort } from './ports.js';

/** Lambda's limit on an asynchronous invocation's payload (Invoke with InvocationType Event): 1 MB. */
export const MAX_ASYNC_PAYLOAD = 1024 * 1024;
/** The deprecated InvokeAsync operation keeps its 256 KB limit. */
export const MAX_INVOKE_ASYNC_PAYLOAD = 256 * 1024;

export interface AsyncServiceDeps {
  functions: FunctionsPort;
  events: AsyncEventRepo;
  configs: EventInvokeConfigRepo;
  reservedConcurrency: (functionName: string) => number | undefined;
  metrics: Metrics;
  /** KUMO_ASYNC_TIME_SCALE. */
  timeScale: number;
  /** KUMO_ASYNC_CONCURRENCY. */
  concurrency: number;
  log: DispatcherLog;
  clock?: Clock;
  /** The queue service, once there is one (SQS destinations and DLQs fail until then). */
  queues?: () => QueueSender | undefined;
}

export interface AcceptInput {
  functionName: string;
  qualifier: string | undefined;
  payload: Buffer;
  requestId: string;
  /** Which operation, for its payload limit: Invoke (1 MB) or the legacy InvokeAsync (256 KB). */
  operation: 'Invoke' | 'InvokeAsync';
}

/**
 * Asynchronous invocation: accepts events durably, runs them through the dispatcher with Lambda's
 * retry and age rules, and manages event invoke configs (retries, maximum age, destinations).
 */
export class AsyncService {
  private readonly clock: Clock;
  private readonly dispatcher: Dispatcher;
  private readonly metrics: AsyncMetrics;

  constructor(private readonly deps: AsyncServiceDeps) {
    this.clock = deps.clock ?? systemClock;
    this.metrics = new AsyncMetrics(deps.metrics);
    const destinations = new Destinations([
      new FunctionTarget((arn, payload) => this.enqueue(arn, payload)),
      new QueueTarget(deps.queues ?? (() => undefined)),
    ]);
    this.dispatcher = new Dispatcher({
      repo: deps.events,
      configs: deps.configs,
      functions: deps.functions,
      reservedConcurrency: deps.reservedConcurrency,
      policy: new RetryPolicy(deps.timeScale),
      clock: this.clock,
      metrics: this.metrics,
      destinations,
      concurrency: deps.concurrency,
      log: deps.log,
    });
  }

  /** Resumes the events stored before a restart (those running at a crash run again, with their request ids). */
  async start(): Promise<number> {
    const pending = await this.deps.events.pending();
    for (const event of pending) this.dispatcher.add(event);
    return pending.length;
  }

  close(): void {
    this.dispatcher.close();
  }

  /**
   * Invoke with InvocationType Event (and InvokeAsync): checks the function and payload, stores the
   * event and resolves once it is on disk. Only then may the caller answer 202.
   */
  async accept(input: AcceptInput): Promise<void> {
    const ref = this.deps.functions.ref(input.functionName, input.qualifier);
    const fn = await this.deps.functions.get(ref.name, ref.qualifier);
    const limit = input.operation === 'Invoke' ? MAX_ASYNC_PAYLOAD : MAX_INVOKE_ASYNC_PAYLOAD;
    if (input.payload.length > limit) {
      throw new KumoError(
        'RequestEntityTooLargeException',
        `Request must be smaller than ${limit} bytes for the ${input.operation === 'Invoke' ? 'InvokeFunction' : 'InvokeAsync'} operation`,
      );
    }
    const payload = input.payload.length === 0 ? EMPTY_EVENT : input.payload;
    checkJson(payload);
    await this.store(fn.name, ref.qualifier ?? '$LATEST', payload, input.requestId);
  }

  async putConfig(functionName: string, qualifier: string | undefined, input: EventInvokeConfigInput): Promise<Record<string, unknown>> {
    return this.writeConfig(functionName, qualifier, input, 'put');
  }

  async updateConfig(functionName: string, qualifier: string | undefined, input: EventInvokeConfigInput): Promise<Record<string, unknown>> {
    return this.writeConfig(functionName, qualifier, input, 'update');
  }

  async getConfig(functionName: string, qualifier: string | undefined): Promise<Record<string, unknown>> {
    const { name, q } = await this.target(functionName, qualifier, 'read');
    const record = await this.deps.configs.get(name, q);
    if (!record) throw noEventInvokeConfig(this.deps.functions.arn(name, q));
    return toEventInvokeConfigView(record, this.deps.functions.arn(name, q));
  }

  async deleteConfig(functionName: string, qualifier: string | undefined): Promise<void> {
    const { name, q } = await this.target(functionName, qualifier, 'read');
    if (!(await this.deps.configs.delete(name, q))) throw noEventInvokeConfig(this.deps.functions.arn(name, q));
  }

  /** ListFunctionEventInvokeConfigs: at most `maxItems` (50) a page, `NextMarker` when more follow. */
  async listConfigs(functionName: string, marker: string | undefined, maxItems: number | undefined): Promise<Record<string, unknown>> {
    const limit = pageSize(maxItems, 50);
    const ref = this.deps.functions.ref(functionName);
    if (ref.qualifier !== undefined) throw invalidParameter('ListFunctionEventInvokeConfigs takes a function name without a qualifier.');
    const fn = await this.existing(ref.name);
    const after = readMarker(marker, QUALIFIER_KEY);
    const records = (await this.deps.configs.list(fn))
      .filter((r) => after === undefined || r.qualifier > after)
      .sort((x, y) => (x.qualifier < y.qualifier ? -1 : 1));
    const { page, nextMarker } = pageOf(records, limit, (r) => r.qualifier);
    return {
      FunctionEventInvokeConfigs: page.map((r) => toEventInvokeConfigView(r, this.deps.functions.arn(r.functionName, r.qualifier))),
      ...(nextMarker === undefined ? {} : { NextMarker: nextMarker }),
    };
  }

  /** The function's queued events (for `kumo pending`). */
  async pending(functionName: string): Promise<PendingSummary & { functionName: string }> {
    const fn = await this.deps.functions.get(functionName);
    return { functionName: fn.name, ...this.dispatcher.summary(fn.name) };
  }

  /** A function destination: the record goes to the target function as an asynchronous invocation. */
  private async enqueue(functionArn: string, payload: Buffer): Promise<void> {
    const ref = this.deps.functions.ref(functionArn);
    const fn = await this.deps.functions.get(ref.name, ref.qualifier);
    await this.store(fn.name, ref.qualifier ?? '$LATEST', payload, crypto.randomUUID());
  }

  private async store(functionName: string, qualifier: string, payload: Buffer, requestId: string): Promise<void> {
    const receivedAt = this.clock.now();
    const event = { requestId, functionName, qualifier, payload, receivedAt };
    const id = await this.deps.events.append(event);
    this.metrics.received.inc({ function: functionName });
    this.dispatcher.add({
      id,
      requestId,
      functionName,
      qualifier,
      receivedAt,
      invokeCount: 0,
      functionErrors: 0,
      throttles: 0,
      nextAttemptAt: receivedAt,
      lastResponse: null,
    });
  }

  private async writeConfig(
    functionName: string,
    qualifier: string | undefined,
    input: EventInvokeConfigInput,
    mode: 'put' | 'update',
  ): Promise<Record<string, unknown>> {
    checkRanges(input);
    if (input.MaximumRetryAttempts === undefined && input.MaximumEventAgeInSeconds === undefined && input.DestinationConfig === undefined) {
      throw invalidParameter('You must specify at least one of error handling or destination setting.');
    }
    const { name, q } = await this.target(functionName, qualifier, 'write');
    const current = mode === 'update' ? await this.deps.configs.get(name, q) : undefined;
    if (mode === 'update' && !current) throw noEventInvokeConfig(this.deps.functions.arn(name, q));
    const success = input.DestinationConfig?.OnSuccess?.Destination;
    const failure = input.DestinationConfig?.OnFailure?.Destination;
    await checkDestinations(name, success, failure, (n) => this.exists(n));
    const record: EventInvokeConfigRecord = {
      functionName: name,
      qualifier: q,
      maximumRetryAttempts: input.MaximumRetryAttempts ?? current?.maximumRetryAttempts,
      maximumEventAgeInSeconds: input.MaximumEventAgeInSeconds ?? current?.maximumEventAgeInSeconds,
      onSuccess: input.DestinationConfig?.OnSuccess ? success || undefined : current?.onSuccess,
      onFailure: input.DestinationConfig?.OnFailure ? failure || undefined : current?.onFailure,
      lastModified: this.clock.now(),
    };
    await this.deps.configs.put(record);
    return toEventInvokeConfigView(record, this.deps.functions.arn(name, q));
  }

  /**
   * The function and qualifier (`$LATEST`, a version or an alias, each with a config of its own) a
   * config call is about. A missing function, version or alias is "doesn't exist" for writes and
   * "has no EventInvokeConfig" for reads, as Lambda says.
   */
  private async target(functionName: string, qualifier: string | undefined, use: 'read' | 'write'): Promise<{ name: string; q: string }> {
    const ref = this.deps.functions.ref(functionName, qualifier);
    const q = ref.qualifier ?? '$LATEST';
    if (!(await this.exists(ref.name, q))) {
      if (use === 'read') throw noEventInvokeConfig(this.deps.functions.arn(ref.name, q));
      throw new KumoError('ResourceNotFoundException', "The function doesn't exist.");
    }
    return { name: ref.name, q };
  }

  private async existing(name: string): Promise<string> {
    if (!(await this.exists(name))) throw new KumoError('ResourceNotFoundException', "The function doesn't exist.");
    return name;
  }

  private async exists(name: string, qualifier?: string): Promise<boolean> {
    try {
      await this.deps.functions.get(name, qualifier);
      return true;
    } catch (err) {
      if (isKumoError(err) && err.code === 'ResourceNotFoundException') return false;
      throw err;
    }
  }
}

const EMPTY_EVENT = Buffer.from('{}');
