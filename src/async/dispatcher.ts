import { isKumoError } from '../errors/index.js';
import type { AsyncEventHeader, AsyncEventRepo, EventInvokeConfigRecord, EventInvokeConfigRepo, FunctionRecord } from '../store/index.js';
import type { Clock, Timer } from '../clock/index.js';
import type { Destinations, DestinationMessage } from './destinations.js';
import type { AsyncMetrics } from './metrics.js';
import type { RetryPolicy } from './policy.js';
import type { FunctionsPort } from './ports.js';
import { errorMessageOf, invocationRecord, type Condition, type ResponseSummary } from './record.js';

export interface DispatcherLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DispatcherDeps {
  repo: AsyncEventRepo;
  configs: EventInvokeConfigRepo;
  functions: FunctionsPort;
  /** Reserved concurrency of a function (undefined: none). */
  reservedConcurrency: (functionName: string) => number | undefined;
  policy: RetryPolicy;
  clock: Clock;
  metrics: AsyncMetrics;
  destinations: Destinations;
  /** Most events of one function run at once. */
  concurrency: number;
  log: DispatcherLog;
}

/** A function's pending events as `kumo pending` shows them. */
export interface PendingSummary {
  count: number;
  running: number;
  oldestReceivedAt: number | undefined;
  nextAttemptAt: number | undefined;
  events: Array<{ requestId: string; receivedAt: number; invokeCount: number; nextAttemptAt: number; running: boolean }>;
}

/** First-in first-out with O(1) take. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }
}

interface FunctionQueue {
  ready: Fifo<AsyncEventHeader>;
  running: Set<AsyncEventHeader>;
  waiting: Set<AsyncEventHeader>;
}

/**
 * Runs queued events: each function's ready events in arrival order, at most `concurrency` at a
 * time and within its concurrency (the engine throttles what does not fit). Events waiting for a
 * retry sit on a timer. Every state change is written to the store before the event moves on, and
 * an event leaves the store only after its destinations have it, so a crash at any point means
 * at most a repeat, with the same request id.
 */
export class Dispatcher {
  private readonly queues = new Map<string, FunctionQueue>();
  private readonly timers = new Map<AsyncEventHeader, Timer>();
  private closed = false;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Takes an event stored in the queue (new, or loaded at start). */
  add(event: AsyncEventHeader): void {
    if (this.closed) return;
    const delay = event.nextAttemptAt - this.deps.clock.now();
    if (delay <= 0) this.makeReady(event);
    else this.wait(event, delay);
  }

  /** Stops starting events; results of running ones are no longer written (they run again after a restart). */
  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  summary(functionName: string, limit = 100): PendingSummary {
    const q = this.queues.get(functionName);
    const all = q ? [...q.running, ...q.ready, ...q.waiting] : [];
    all.sort((a, b) => a.receivedAt - b.receivedAt || a.id - b.id);
    let oldest: number | undefined;
    let next: number | undefined;
    for (const e of all) {
      oldest = oldest === undefined ? e.receivedAt : Math.min(oldest, e.receivedAt);
      if (!q?.running.has(e)) next = next === undefined ? e.nextAttemptAt : Math.min(next, e.nextAttemptAt);
    }
    return {
      count: all.length,
      running: q?.running.size ?? 0,
      oldestReceivedAt: oldest,
      nextAttemptAt: next,
      events: all.slice(0, limit).map((e) => ({
        requestId: e.requestId,
        receivedAt: e.receivedAt,
        invokeCount: e.invokeCount,
        nextAttemptAt: e.nextAttemptAt,
        running: q?.running.has(e) ?? false,
      })),
    };
  }

  private queue(functionName: string): FunctionQueue {
    let q = this.queues.get(functionName);
    if (!q) {
      q = { ready: new Fifo(), running: new Set(), waiting: new Set() };
      this.queues.set(functionName, q);
    }
    return q;
  }

  private wait(event: AsyncEventHeader, delay: number): void {
    const q = this.queue(event.functionName);
    q.waiting.add(event);
    this.timers.set(
      event,
      this.deps.clock.setTimer(() => {
        this.timers.delete(event);
        q.waiting.delete(event);
        this.makeReady(event);
      }, delay),
    );
  }

  private makeReady(event: AsyncEventHeader): void {
    if (this.closed) return;
    const q = this.queue(event.functionName);
    q.ready.push(event);
    this.pump(event.functionName, q);
  }

  /**
   * Starts ready events while there is room: at most `concurrency` per function, and no more than
   * its reserved concurrency (beyond it every attempt would only be throttled). With reserved
   * concurrency 0 one at a time, to send each to the failure path.
   */
  private pump(functionName: string, q: FunctionQueue): void {
    const reserved = this.deps.reservedConcurrency(functionName);
    const limit = reserved === undefined ? this.deps.concurrency : Math.max(1, Math.min(reserved, this.deps.concurrency));
    while (!this.closed && q.running.size < limit && q.ready.length > 0) {
      const event = q.ready.shift();
      if (!event) break;
      q.running.add(event);
      this.run(event)
        .catch((err: unknown) => this.deps.log.error({ err, requestId: event.requestId }, 'async event dispatch failed'))
        .finally(() => {
          q.running.delete(event);
          if (q.running.size === 0 && q.ready.length === 0 && q.waiting.size === 0) this.queues.delete(functionName);
          else this.pump(functionName, q);
        });
    }
  }

  private async run(event: AsyncEventHeader): Promise<void> {
    const { functions, clock, policy, metrics, repo } = this.deps;
    const labels = { function: event.functionName };
    let fn: FunctionRecord;
    try {
      fn = await functions.get(event.functionName, event.qualifier);
    } catch (err) {
      if (isKumoError(err) && err.code === 'ResourceNotFoundException') return this.forget(event, 'FunctionDeleted');
      throw err;
    }
    // A function deleted and created again under the same name is another function: its
    // predecessor's events are dropped, as Lambda drops a deleted function's queue.
    if (fn.createdAt > event.receivedAt) return this.forget(event, 'FunctionDeleted');
    const config = await this.deps.configs.get(event.functionName, event.qualifier);
    if (this.closed) return;
    if (clock.now() >= policy.expiresAt(event.receivedAt, config)) return this.fail(event, fn, config, 'EventAgeExceeded');
    if (this.deps.reservedConcurrency(event.functionName) === 0) return this.fail(event, fn, config, 'ZeroReservedConcurrency');
    const payload = await repo.payload(event.id);
    if (!payload || this.closed) return; // removed meanwhile, or shutting down (it runs after the restart)
    metrics.age.observe(labels, (clock.now() - event.receivedAt) / 1000);

    let outcome;
    try {
      const result = await functions.invoke({
        functionName: event.functionName,
        qualifier: event.qualifier,
        payload,
        invocationType: 'RequestResponse',
        wantTail: false,
        requestId: event.requestId,
      });
      outcome = result.outcome;
    } catch (err) {
      if (this.closed) return;
      if (isKumoError(err) && err.code === 'ResourceNotFoundException') return this.forget(event, 'FunctionDeleted');
      const kind = isKumoError(err) && err.code === 'TooManyRequestsException' ? 'throttle' : 'system_error';
      if (kind === 'system_error') this.deps.log.warn({ err, requestId: event.requestId }, 'async invocation hit a system error; retrying');
      event.throttles++;
      metrics.retries.inc({ ...labels, kind });
      return this.retryAt(event, config, clock.now() + policy.throttleDelayMs(event.throttles));
    }
    if (this.closed || !outcome) return;
    event.invokeCount++;
    event.throttles = 0;
    const response: ResponseSummary = { statusCode: 200, functionError: outcome.functionError, payload: outcome.payload.toString('utf8') };
    if (!outcome.functionError) return this.succeed(event, fn, config, payload, response);
    event.functionErrors++;
    event.lastResponse = JSON.stringify(response);
    if (event.functionErrors > policy.maxRetries(config)) return this.fail(event, fn, config, 'RetriesExhausted', payload);
    metrics.retries.inc({ ...labels, kind: 'function_error' });
    return this.retryAt(event, config, clock.now() + policy.functionErrorDelayMs(event.functionErrors));
  }

  /** Requeues for `at`, or for the moment the event expires if that comes first (it then fails as EventAgeExceeded). */
  private async retryAt(event: AsyncEventHeader, config: EventInvokeConfigRecord | undefined, at: number): Promise<void> {
    event.nextAttemptAt = Math.min(at, this.deps.policy.expiresAt(event.receivedAt, config));
    await this.deps.repo.update(event.id, event);
    if (!this.closed) this.add(event);
  }

  private async succeed(
    event: AsyncEventHeader,
    fn: FunctionRecord,
    config: EventInvokeConfigRecord | undefined,
    payload: Buffer,
    response: ResponseSummary,
  ): Promise<void> {
    if (config?.onSuccess) {
      await this.deliver(event, 'on_success', config.onSuccess, {
        body: JSON.stringify(this.record(event, fn, 'Success', payload, response)),
      });
    }
    await this.deps.repo.remove(event.id);
  }

  private async fail(
    event: AsyncEventHeader,
    fn: FunctionRecord,
    config: EventInvokeConfigRecord | undefined,
    condition: Exclude<Condition, 'Success'>,
    loaded?: Buffer,
  ): Promise<void> {
    if (this.closed) return;
    const payload = loaded ?? (await this.deps.repo.payload(event.id));
    if (!payload) return;
    const response = event.lastResponse ? (JSON.parse(event.lastResponse) as ResponseSummary) : undefined;
    const dlq = fn.config.deadLetterTargetArn;
    if (dlq) {
      const fallback = condition === 'EventAgeExceeded' ? 'Event age exceeded' : 'Rate Exceeded.';
      await this.deliver(event, 'dlq', dlq, {
        body: payload.toString('utf8'),
        attributes: {
          RequestID: { DataType: 'String', StringValue: event.requestId },
          ErrorCode: { DataType: 'Number', StringValue: String(response?.statusCode ?? 429) },
          ErrorMessage: { DataType: 'String', StringValue: errorMessageOf(response, fallback) },
        },
      });
    }
    if (config?.onFailure) {
      await this.deliver(event, 'on_failure', config.onFailure, {
        body: JSON.stringify(this.record(event, fn, condition, payload, response)),
      });
    }
    this.deps.metrics.dropped.inc({ function: event.functionName, reason: condition });
    await this.deps.repo.remove(event.id);
  }

  private async forget(event: AsyncEventHeader, reason: string): Promise<void> {
    this.deps.metrics.dropped.inc({ function: event.functionName, reason });
    await this.deps.repo.remove(event.id);
  }

  private record(
    event: AsyncEventHeader,
    fn: FunctionRecord,
    condition: Condition,
    payload: Buffer,
    response: ResponseSummary | undefined,
  ) {
    return invocationRecord({
      now: this.deps.clock.now(),
      requestId: event.requestId,
      functionArn: this.deps.functions.arn(fn.name, event.qualifier),
      condition,
      invokeCount: event.invokeCount,
      payload,
      executedVersion: fn.version,
      response,
    });
  }

  /** A failed delivery is logged and counted, as Lambda counts DestinationDeliveryFailures; the event is not retried for it. */
  private async deliver(
    event: AsyncEventHeader,
    kind: 'on_success' | 'on_failure' | 'dlq',
    arn: string,
    message: DestinationMessage,
  ): Promise<void> {
    const labels = { function: event.functionName, kind };
    try {
      await this.deps.destinations.deliver(arn, message);
      this.deps.metrics.deliveries.inc({ ...labels, outcome: 'ok' });
    } catch (err) {
      this.deps.metrics.deliveries.inc({ ...labels, outcome: 'error' });
      this.deps.log.warn({ err, requestId: event.requestId, destination: arn }, `could not deliver to the ${kind} destination`);
    }
  }
}
