import crypto from 'node:crypto';
import { KumoError } from '../errors/index.js';
import type { QueueMessage, QueueRecord, QueueRepo } from '../store/index.js';
import {
  checkOverride,
  COMPUTED_ATTRIBUTES,
  initialAttributes,
  intAttribute,
  isFifo,
  isKnownAttribute,
  MAX_MESSAGE_SIZE,
  normalizeAttributes,
  parseRedrivePolicy,
  type RedrivePolicy,
} from './attributes.js';
import { batchError, checkBatch, eachEntry } from './batch.js';
import { withoutPermission, withPermission, type PermissionInput } from './permissions.js';
import { systemClock, type Clock } from '../clock/index.js';
import { checkVisibility, formatMessage, parseHandle, SYSTEM_ATTRIBUTE_NAMES } from './receive.js';
import { attributesSize, prepareSend } from './send.js';
import type {
  BatchResult,
  BatchResultErrorEntry,
  PeekedMessage,
  ReceiveMessageInput,
  ReceivedMessage,
  SendMessageInput,
  SendMessageResult,
} from './types.js';
import { Waiters } from './waiters.js';

export interface QueueServiceOptions {
  repo: QueueRepo;
  region: string;
  accountId: string;
  clock?: Clock;
}

const NO_QUEUE = 'The specified queue does not exist.';
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const FIFO_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
const PURGE_INTERVAL_MS = 60_000;
/** How often a receive also deletes the queue's expired messages (they are never delivered meanwhile). */
const SWEEP_INTERVAL_MS = 10_000;

/** What a change of a queue record sets (see `QueueService.changeQueue`); absent fields stay. */
interface QueueChange {
  attributes?: Record<string, string>;
  tags?: Record<string, string>;
  purgedAt?: number;
}

/**
 * Kumo's SQS-compatible queue service: SQS's rules (attributes, visibility, long polling, FIFO
 * groups and deduplication, redrive to dead-letter queues, batches) over the `QueueRepo` port.
 * Queue URLs are `<origin>/<accountId>/<name>`, where origin is the URL the caller used.
 */
export class QueueService {
  private readonly repo: QueueRepo;
  private readonly clock: Clock;
  private readonly waiters: Waiters;
  /** Queue records by name; this process is the database's only writer, so the cache stays true. */
  private readonly cache = new Map<string, QueueRecord>();
  /** Writes of queue records so far: a record read before one is not cached after it (see `find`). */
  private recordWrites = 0;
  /** When each queue's expired messages were last deleted. */
  private readonly swept = new Map<string, number>();
  /** The last step queued on each queue name (see `serially`). */
  private readonly steps = new Map<string, Promise<unknown>>();
  readonly region: string;
  readonly accountId: string;

  constructor(options: QueueServiceOptions) {
    this.repo = options.repo;
    this.clock = options.clock ?? systemClock;
    this.waiters = new Waiters(this.clock);
    this.region = options.region;
    this.accountId = options.accountId;
  }

  arnOf(name: string): string {
    return `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
  }

  urlOf(origin: string, name: string): string {
    return `${origin}/${this.accountId}/${name}`;
  }

  // ---- queues -------------------------------------------------------------------------------

  async createQueue(origin: string, name: string, given: Record<string, string> = {}, tags: Record<string, string> = {}): Promise<string> {
    const fifoFlag = given.FifoQueue?.toLowerCase();
    const fifo = name.endsWith('.fifo');
    if (fifo ? !FIFO_NAME.test(name) || fifoFlag !== 'true' : !QUEUE_NAME.test(name) || fifoFlag === 'true') {
      throw new KumoError(
        'InvalidParameterValue',
        fifo || fifoFlag === 'true'
          ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.'
          : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    const wanted = normalizeAttributes(given, fifo, true);
    if (!fifo) delete wanted.FifoQueue;
    if (wanted.RedrivePolicy) wanted.RedrivePolicy = await this.checkRedrive(wanted.RedrivePolicy, fifo);
    const created = await this.serially(name, async () => {
      const existing = await this.find(name);
      if (existing) {
        for (const [attr, value] of Object.entries(wanted)) {
          if ((existing.attributes[attr] ?? '') !== value) {
            throw new KumoError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${attr}`);
          }
        }
        return true;
      }
      const now = this.clock.now();
      const record: QueueRecord = {
        name,
        attributes: initialAttributes(fifo, wanted),
        tags,
        createdAt: now,
        lastModified: now,
        purgedAt: null,
      };
      if (!(await this.repo.create(record))) return false;
      this.recordWrites++;
      this.cache.set(name, record);
      return true;
    });
    // Not created: another writer made the queue between the look-up and the insert.
    if (!created) return this.createQueue(origin, name, given, tags);
    return this.urlOf(origin, name);
  }

  async getQueueUrl(origin: string, name: string, ownerAccountId?: string): Promise<string> {
    if (ownerAccountId !== undefined && ownerAccountId !== this.accountId) throw new KumoError('QueueDoesNotExist', NO_QUEUE);
    const q = await this.find(name);
    if (!q) throw new KumoError('QueueDoesNotExist', NO_QUEUE);
    return this.urlOf(origin, q.name);
  }

  async listQueues(
    origin: string,
    input: { QueueNamePrefix?: string; MaxResults?: number; NextToken?: string },
  ): Promise<{ QueueUrls: string[]; NextToken?: string }> {
    const max = input.MaxResults;
    if (max !== undefined && !(Number.isInteger(max) && max >= 1 && max <= 1000)) {
      throw new KumoError(
        'InvalidParameterValue',
        `Value ${max} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.`,
      );
    }
    let after: string | undefined;
    if (input.NextToken !== undefined) {
      after = Buffer.from(input.NextToken, 'base64').toString('utf8');
      if (!QUEUE_NAME.test(after) && !FIFO_NAME.test(after)) throw new KumoError('InvalidParameterValue', 'Invalid NextToken value.');
    }
    const limit = max ?? 1000;
    const rows = await this.repo.list(input.QueueNamePrefix ?? '', after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const more = max !== undefined && rows.length > limit && last !== undefined;
    return {
      QueueUrls: page.map((q) => this.urlOf(origin, q.name)),
      ...(more ? { NextToken: Buffer.from(last.name).toString('base64') } : {}),
    };
  }

  /** Queues whose RedrivePolicy names this queue as their dead-letter queue. */
  async listDeadLetterSourceQueues(
    origin: string,
    queueUrl: string,
    input: { MaxResults?: number; NextToken?: string },
  ): Promise<{ queueUrls: string[]; NextToken?: string }> {
    const dlqArn = this.arnOf((await this.queue(queueUrl)).name);
    const sources: string[] = [];
    for (const q of await this.repo.list('', undefined, 1_000_000)) {
      const policy = q.attributes.RedrivePolicy;
      if (policy && (JSON.parse(policy) as RedrivePolicy).deadLetterTargetArn === dlqArn) sources.push(q.name);
    }
    const max = input.MaxResults;
    if (max !== undefined && !(Number.isInteger(max) && max >= 1 && max <= 1000)) {
      throw new KumoError(
        'InvalidParameterValue',
        `Value ${max} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.`,
      );
    }
    const after = input.NextToken === undefined ? undefined : Buffer.from(input.NextToken, 'base64').toString('utf8');
    const rest = after === undefined ? sources : sources.filter((n) => n > after);
    const page = rest.slice(0, max ?? 1000);
    const last = page[page.length - 1];
    const more = max !== undefined && rest.length > page.length && last !== undefined;
    return { queueUrls: page.map((n) => this.urlOf(origin, n)), ...(more ? { NextToken: Buffer.from(last).toString('base64') } : {}) };
  }

  async deleteQueue(queueUrl: string): Promise<void> {
    await this.serially(this.addressed(queueUrl), async () => {
      const q = await this.queue(queueUrl);
      await this.repo.delete(q.name);
      this.recordWrites++;
      this.cache.delete(q.name);
      this.swept.delete(q.name);
      this.waiters.signal(q.name);
    });
  }

  async purgeQueue(queueUrl: string): Promise<void> {
    await this.changeQueue(queueUrl, (q) => {
      const now = this.clock.now();
      if (q.purgedAt !== null && now - q.purgedAt < PURGE_INTERVAL_MS) {
        throw new KumoError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${q.name} is allowed every 60 seconds.`);
      }
      return { purgedAt: now };
    });
  }

  async getQueueAttributes(queueUrl: string, names: readonly string[] = []): Promise<Record<string, string>> {
    const q = await this.queue(queueUrl);
    for (const n of names) if (n !== 'All' && !isKnownAttribute(n)) throw new KumoError('InvalidAttributeName', `Unknown Attribute ${n}.`);
    if (names.length === 0) return {};
    const all = names.includes('All');
    const want = (n: string) => all || names.includes(n);
    const out: Record<string, string> = {};
    const now = this.clock.now();
    if (
      want('ApproximateNumberOfMessages') ||
      want('ApproximateNumberOfMessagesNotVisible') ||
      want('ApproximateNumberOfMessagesDelayed')
    ) {
      const c = await this.repo.counts(q.name, now, this.expiredBefore(q, now));
      if (want('ApproximateNumberOfMessages')) out.ApproximateNumberOfMessages = String(c.visible);
      if (want('ApproximateNumberOfMessagesNotVisible')) out.ApproximateNumberOfMessagesNotVisible = String(c.inFlight);
      if (want('ApproximateNumberOfMessagesDelayed')) out.ApproximateNumberOfMessagesDelayed = String(c.delayed);
    }
    if (want('QueueArn')) out.QueueArn = this.arnOf(q.name);
    if (want('CreatedTimestamp')) out.CreatedTimestamp = String(Math.floor(q.createdAt / 1000));
    if (want('LastModifiedTimestamp')) out.LastModifiedTimestamp = String(Math.floor(q.lastModified / 1000));
    for (const [k, v] of Object.entries(q.attributes)) if (want(k) && !(COMPUTED_ATTRIBUTES as readonly string[]).includes(k)) out[k] = v;
    return out;
  }

  async setQueueAttributes(queueUrl: string, given: Record<string, string>): Promise<void> {
    await this.changeQueue(queueUrl, async (q) => {
      const fifo = isFifo(q);
      const changes = normalizeAttributes(given, fifo, false);
      const attributes = { ...q.attributes, ...changes };
      if (changes.RedrivePolicy !== undefined) {
        if (changes.RedrivePolicy === '') delete attributes.RedrivePolicy;
        else attributes.RedrivePolicy = await this.checkRedrive(changes.RedrivePolicy, fifo);
      }
      for (const k of ['Policy', 'KmsMasterKeyId', 'RedriveAllowPolicy']) if (attributes[k] === '') delete attributes[k];
      return { attributes };
    });
  }

  /** AddPermission: a statement for the accounts and actions in the queue's `Policy` (not enforced). */
  async addPermission(queueUrl: string, input: PermissionInput): Promise<void> {
    await this.changeQueue(queueUrl, (q) => ({
      attributes: { ...q.attributes, Policy: withPermission(q.attributes.Policy, this.arnOf(q.name), input) },
    }));
  }

  /** RemovePermission: the statement labelled `label` leaves the queue's `Policy` (the attribute goes with the last one). */
  async removePermission(queueUrl: string, label: string): Promise<void> {
    await this.changeQueue(queueUrl, (q) => {
      const policy = withoutPermission(q.attributes.Policy, label);
      const { Policy: _old, ...attributes } = q.attributes;
      return { attributes: policy === undefined ? attributes : { ...attributes, Policy: policy } };
    });
  }

  async listQueueTags(queueUrl: string): Promise<Record<string, string>> {
    return (await this.queue(queueUrl)).tags;
  }

  async tagQueue(queueUrl: string, tags: Record<string, string>): Promise<void> {
    await this.changeQueue(queueUrl, (q) => ({ tags: { ...q.tags, ...tags } }));
  }

  async untagQueue(queueUrl: string, keys: readonly string[]): Promise<void> {
    await this.changeQueue(queueUrl, (q) => ({ tags: Object.fromEntries(Object.entries(q.tags).filter(([k]) => !keys.includes(k))) }));
  }

  /**
   * The queue's oldest messages, without receiving them (no receive count, no visibility change):
   * Kumo's own view for `kumo queues peek`, not an SQS operation.
   */
  async peek(queueUrl: string, limit: number): Promise<PeekedMessage[]> {
    const q = await this.queue(queueUrl);
    const now = this.clock.now();
    const rows = await this.repo.peek(q.name, Math.max(1, Math.min(limit, 100)));
    return rows
      .filter((m) => m.sentAt >= this.expiredBefore(q, now))
      .map((m) => ({
        MessageId: m.id,
        Body: m.body,
        State: m.visibleAt <= now ? 'visible' : m.receiveCount > 0 ? 'in-flight' : 'delayed',
        ReceiveCount: m.receiveCount,
        SentTimestamp: m.sentAt,
        VisibleAt: m.visibleAt,
        ...(m.groupId !== null ? { MessageGroupId: m.groupId } : {}),
        ...(m.sequenceNumber !== null ? { SequenceNumber: m.sequenceNumber } : {}),
        ...(m.attributes ? { MessageAttributes: m.attributes } : {}),
      }));
  }

  // ---- messages -----------------------------------------------------------------------------

  async sendMessage(queueUrl: string, input: SendMessageInput): Promise<SendMessageResult> {
    const q = await this.queue(queueUrl);
    const now = this.clock.now();
    const prepared = prepareSend(q, input, now);
    const [stored] = await this.repo.send(q.name, [prepared.message], isFifo(q), now);
    this.waiters.signal(q.name, prepared.message.visibleAt);
    return {
      ...prepared.result,
      MessageId: stored?.id ?? prepared.message.id,
      ...(stored?.sequenceNumber ? { SequenceNumber: stored.sequenceNumber } : {}),
    };
  }

  async sendMessageBatch(
    queueUrl: string,
    entries: ReadonlyArray<SendMessageInput & { Id: string }>,
  ): Promise<BatchResult<SendMessageResult & { Id: string }>> {
    const q = await this.queue(queueUrl);
    checkBatch(entries, 'SendMessageBatchRequestEntry');
    const now = this.clock.now();
    const total = entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody ?? '') + attributesSize(e.MessageAttributes), 0);
    if (total > MAX_MESSAGE_SIZE) {
      throw new KumoError(
        'BatchRequestTooLong',
        `Batch requests cannot be longer than ${MAX_MESSAGE_SIZE} bytes. You have sent ${total} bytes.`,
      );
    }
    const failed: BatchResultErrorEntry[] = [];
    const ok: Array<{ id: string; prepared: ReturnType<typeof prepareSend> }> = [];
    for (const e of entries) {
      try {
        ok.push({ id: e.Id, prepared: prepareSend(q, e, now) });
      } catch (err) {
        failed.push(batchError(e.Id, err));
      }
    }
    const stored = await this.repo.send(
      q.name,
      ok.map((o) => o.prepared.message),
      isFifo(q),
      now,
    );
    for (const o of ok) this.waiters.signal(q.name, o.prepared.message.visibleAt);
    return {
      Successful: ok.map((o, i) => {
        const s = stored[i];
        return {
          Id: o.id,
          ...o.prepared.result,
          MessageId: s?.id ?? o.prepared.message.id,
          ...(s?.sequenceNumber ? { SequenceNumber: s.sequenceNumber } : {}),
        };
      }),
      Failed: failed,
    };
  }

  /**
   * Sends a message to the queue with this ARN: the door for other subsystems (async invocation's
   * dead-letter queues and destinations). Throws QueueDoesNotExist when there is no such queue.
   */
  async sendByArn(
    queueArn: string,
    body: string,
    attributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: Buffer }>,
  ): Promise<{ messageId: string }> {
    const name = this.nameFromArn(queueArn);
    const q = name === undefined ? undefined : await this.find(name);
    if (!q) throw new KumoError('QueueDoesNotExist', `The specified queue does not exist: ${queueArn}`);
    const input: SendMessageInput = { MessageBody: body, ...(attributes ? { MessageAttributes: attributes } : {}) };
    if (isFifo(q)) {
      input.MessageGroupId = 'kumo';
      input.MessageDeduplicationId = crypto.randomUUID();
    }
    const result = await this.sendMessage(q.name, input);
    return { messageId: result.MessageId };
  }

  /** ReceiveMessage; a long poll ends early, with nothing, when `signal` aborts (the client hung up). */
  async receiveMessage(queueUrl: string, input: ReceiveMessageInput = {}, signal?: AbortSignal): Promise<ReceivedMessage[]> {
    let q = await this.queue(queueUrl);
    const max = input.MaxNumberOfMessages ?? 1;
    if (!(Number.isInteger(max) && max >= 1 && max <= 10)) {
      throw new KumoError(
        'InvalidParameterValue',
        `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      );
    }
    const wait = input.WaitTimeSeconds ?? intAttribute(q.attributes, 'ReceiveMessageWaitTimeSeconds');
    checkOverride('WaitTimeSeconds', wait, 'ReceiveMessageWaitTimeSeconds', (r) => `Must be >= ${r.min} and <= ${r.max}, if provided.`);
    if (input.VisibilityTimeout !== undefined) checkVisibility(input.VisibilityTimeout);
    const systemNames = [...(input.AttributeNames ?? []), ...(input.MessageSystemAttributeNames ?? [])];
    for (const n of systemNames) {
      if (n !== 'All' && !SYSTEM_ATTRIBUTE_NAMES.includes(n)) throw new KumoError('InvalidAttributeName', `Unknown Attribute ${n}.`);
    }
    const deadline = this.clock.now() + wait * 1000;
    for (;;) {
      const version = this.waiters.version(q.name);
      const got = await this.take(q, max, input.VisibilityTimeout);
      if (got.length > 0) return got.map((m) => formatMessage(q.name, this.accountId, m, systemNames, input.MessageAttributeNames ?? []));
      const now = this.clock.now();
      if (now >= deadline || this.waiters.isClosed || signal?.aborted) return [];
      const next = await this.repo.nextVisibleAt(q.name, now);
      await this.waiters.wait(q.name, Math.min(deadline, next ?? deadline), version, signal);
      if (this.waiters.isClosed || signal?.aborted) return [];
      q = await this.queue(q.name);
    }
  }

  async deleteMessage(queueUrl: string, receiptHandle: string): Promise<void> {
    const q = await this.queue(queueUrl);
    const h = parseHandle(q.name, receiptHandle);
    const outcome = await this.repo.deleteMessage(q.name, h.seq, h.token);
    // A FIFO group unlocks when its in-flight message goes.
    if (outcome === 'deleted' && isFifo(q)) this.waiters.signal(q.name);
  }

  async deleteMessageBatch(
    queueUrl: string,
    entries: ReadonlyArray<{ Id: string; ReceiptHandle: string }>,
  ): Promise<BatchResult<{ Id: string }>> {
    await this.queue(queueUrl);
    checkBatch(entries, 'DeleteMessageBatchRequestEntry');
    return eachEntry(entries, (e) => this.deleteMessage(queueUrl, e.ReceiptHandle));
  }

  async changeMessageVisibility(queueUrl: string, receiptHandle: string, visibilityTimeout: number): Promise<void> {
    const q = await this.queue(queueUrl);
    const h = parseHandle(q.name, receiptHandle);
    checkVisibility(visibilityTimeout);
    const now = this.clock.now();
    const visibleAt = now + visibilityTimeout * 1000;
    const outcome = await this.repo.changeVisibility(q.name, h.seq, h.token, now, visibleAt);
    const invalid = (reason: string) =>
      new KumoError('InvalidParameterValue', `Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: ${reason}`);
    if (outcome === 'missing') throw invalid('Message does not exist or is not available for visibility timeout change.');
    if (outcome === 'stale') throw invalid('The receipt handle has expired.');
    if (outcome === 'not-in-flight') throw new KumoError('MessageNotInflight', 'Message is not in flight.');
    this.waiters.signal(q.name, visibleAt);
  }

  async changeMessageVisibilityBatch(
    queueUrl: string,
    entries: ReadonlyArray<{ Id: string; ReceiptHandle: string; VisibilityTimeout: number }>,
  ): Promise<BatchResult<{ Id: string }>> {
    await this.queue(queueUrl);
    checkBatch(entries, 'ChangeMessageVisibilityBatchRequestEntry');
    return eachEntry(entries, (e) => this.changeMessageVisibility(queueUrl, e.ReceiptHandle, e.VisibilityTimeout));
  }

  /** Long-poll receivers parked right now, waiting for a message. */
  get waitingReceivers(): number {
    return this.waiters.count;
  }

  /** Ends every long poll (they return no messages); later receives do not wait. */
  close(): void {
    this.waiters.close();
  }

  // ---- internals ----------------------------------------------------------------------------

  /** The queue a QueueUrl (or bare name) names; QueueDoesNotExist when there is none. */
  private async queue(queueUrl: string): Promise<QueueRecord> {
    const name = this.nameFromUrl(queueUrl);
    const q = name === undefined ? undefined : await this.find(name);
    if (!q) throw new KumoError('QueueDoesNotExist', NO_QUEUE);
    return q;
  }

  /** The queue name a QueueUrl (or bare name) addresses; QueueDoesNotExist when it names another account's. */
  private addressed(queueUrl: string): string {
    const name = this.nameFromUrl(queueUrl);
    if (name === undefined) throw new KumoError('QueueDoesNotExist', NO_QUEUE);
    return name;
  }

  /**
   * Runs `step` after every step queued before it on the queue `name` has settled (failed or
   * not). Each write of a queue record (creating, changing or deleting the queue) is such a step, so
   * a step's read of the record and its write are never interleaved with another's.
   */
  private serially<T>(name: string, step: () => Promise<T>): Promise<T> {
    const previous = this.steps.get(name) ?? Promise.resolve();
    const run = previous.then(step);
    const settled = run.catch(() => undefined);
    this.steps.set(name, settled);
    void settled.then(() => {
      if (this.steps.get(name) === settled) this.steps.delete(name);
    });
    return run;
  }

  /**
   * Applies to a queue what `change` makes of its current record: new attributes (LastModified
   * moves), new tags, or a purge (`purgedAt`: every message goes). A step of `serially`, queued
   * when the call arrives: concurrent changes (two TagQueues, an AddPermission and a
   * SetQueueAttributes, ...) each start from the record the one before left, so all of them land.
   * Creating and deleting the queue are steps too, so a change waiting its turn applies to the queue
   * that existed when it arrived, or finds none (QueueDoesNotExist); it never writes onto a queue of
   * the same name created after it. A change that throws writes nothing.
   */
  private async changeQueue(queueUrl: string, change: (q: QueueRecord) => QueueChange | Promise<QueueChange>): Promise<void> {
    await this.serially(this.addressed(queueUrl), async () => {
      const q = await this.queue(queueUrl);
      const { attributes, tags, purgedAt } = await change(q);
      const next: QueueRecord = { ...q };
      if (attributes !== undefined) {
        next.attributes = attributes;
        next.lastModified = this.clock.now();
        await this.repo.update(q.name, attributes, next.lastModified);
      }
      if (tags !== undefined) {
        next.tags = tags;
        await this.repo.setTags(q.name, tags);
      }
      if (purgedAt !== undefined) {
        next.purgedAt = purgedAt;
        await this.repo.purge(q.name, purgedAt);
      }
      this.recordWrites++;
      this.cache.set(q.name, next);
    });
  }

  private async find(name: string): Promise<QueueRecord | undefined> {
    const cached = this.cache.get(name);
    if (cached) return cached;
    const writes = this.recordWrites;
    const q = await this.repo.get(name);
    // A record read before a write (of any queue) may be stale by now: answer with it, cache it not.
    if (q && writes === this.recordWrites && !this.cache.has(name)) this.cache.set(name, q);
    return q;
  }

  private nameFromUrl(queueUrl: string): string | undefined {
    if (!queueUrl.includes('/')) return queueUrl;
    let path: string;
    try {
      path = new URL(queueUrl).pathname;
    } catch {
      path = queueUrl;
    }
    const parts = path.split('/').filter((p) => p !== '');
    const name = parts.pop();
    const account = parts.pop();
    if (account !== undefined && account !== this.accountId) return undefined;
    return name;
  }

  private nameFromArn(arn: string): string | undefined {
    const m = /^arn:aws[a-z-]*:sqs:([^:]+):(\d{12}):([^:]+)$/.exec(arn);
    if (!m || m[1] !== this.region || m[2] !== this.accountId) return undefined;
    return m[3];
  }

  private async checkRedrive(value: string, fifo: boolean): Promise<string> {
    const policy = parseRedrivePolicy(value);
    const dlqName = this.nameFromArn(policy.deadLetterTargetArn);
    const dlq = dlqName === undefined ? undefined : await this.find(dlqName);
    const bad = (reason: string) =>
      new KumoError('InvalidParameterValue', `Value ${value} for parameter RedrivePolicy is invalid. Reason: ${reason}`);
    if (!dlq) throw bad('Dead letter target does not exist.');
    if (isFifo(dlq) !== fifo) throw bad('Dead-letter queue must be same type of queue as the source.');
    return JSON.stringify({ deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: policy.maxReceiveCount });
  }

  private redrive(q: QueueRecord): (RedrivePolicy & { dlq: string }) | undefined {
    const raw = q.attributes.RedrivePolicy;
    if (!raw) return undefined;
    const policy = JSON.parse(raw) as RedrivePolicy;
    const dlq = this.nameFromArn(policy.deadLetterTargetArn);
    return dlq === undefined ? undefined : { ...policy, dlq };
  }

  private expiredBefore(q: QueueRecord, now: number): number {
    return now - intAttribute(q.attributes, 'MessageRetentionPeriod') * 1000;
  }

  private async take(q: QueueRecord, max: number, visibilityTimeout: number | undefined): Promise<QueueMessage[]> {
    const now = this.clock.now();
    const visibleUntil = now + (visibilityTimeout ?? intAttribute(q.attributes, 'VisibilityTimeout')) * 1000;
    const redrive = this.redrive(q);
    const dlqExists = redrive !== undefined && (await this.find(redrive.dlq)) !== undefined;
    const { messages, deadLettered } = await this.repo.receive({
      queue: q.name,
      now,
      max,
      visibleUntil,
      fifo: isFifo(q),
      expiredBefore: this.expiredBefore(q, now),
      sweep: this.sweepDue(q.name, now),
      ...(redrive && dlqExists
        ? { redrive: { maxReceiveCount: redrive.maxReceiveCount, deadLetterQueue: redrive.dlq, sourceArn: this.arnOf(q.name) } }
        : {}),
      newReceipt: () => crypto.randomBytes(16).toString('hex'),
    });
    if (redrive && deadLettered > 0) this.waiters.signal(redrive.dlq);
    if (messages.length > 0) this.waiters.signal(q.name, visibleUntil);
    return messages;
  }

  private sweepDue(queue: string, now: number): boolean {
    if (now - (this.swept.get(queue) ?? 0) < SWEEP_INTERVAL_MS) return false;
    this.swept.set(queue, now);
    return true;
  }
}
