import { z } from 'zod';
import type { CompiledOptions } from '../../config/index.js';
import { KumoError, validationError } from '../../errors/index.js';
import { compileFilterPattern } from '../../logs/index.js';
import type { LogRepo, LogStreamInfo } from '../../store/index.js';
import { jsonBody, type ApiRequest, type ApiResponse } from '../http.js';

/**
 * CloudWatch Logs, read side, over the AWS JSON 1.1 protocol: `POST /` with
 * `X-Amz-Target: Logs_20140328.<Operation>` and a JSON body. Enough of the API for the AWS CLI,
 * the SDKs and `kumo logs` to read what functions wrote: FilterLogEvents, GetLogEvents,
 * DescribeLogGroups, DescribeLogStreams and DeleteLogGroup.
 *
 * Paging tokens are opaque to callers. Event tokens carry the store's monotonic event id (the
 * cursor `LogRepo.query` pages on); GetLogEvents' look like AWS's (`f/<digits>`, `b/<digits>`).
 * Group and stream listings page by offset, which is plenty for one machine's log groups.
 *
 * Filter patterns: the term subset only (see `compileFilterPattern`).
 */

const TARGET_PREFIX = 'Logs_20140328.';
const JSON_11 = 'application/x-amz-json-1.1';
const GROUP_NOT_FOUND = 'The specified log group does not exist.';
const STREAM_NOT_FOUND = 'The specified log stream does not exist.';
const INVALID_TOKEN = 'The specified nextToken is invalid.';
/** Most rows one FilterLogEvents call scans when a pattern rejects most of them; AWS also returns short pages with a token. */
const MAX_SCAN = 100_000;

const str = z.string();
const millis = z.number().int().nonnegative();
const GroupRef = { logGroupName: str.optional(), logGroupIdentifier: str.optional() };

const FilterLogEvents = z.object({
  ...GroupRef,
  logStreamNames: z.array(str).optional(),
  logStreamNamePrefix: str.optional(),
  startTime: millis.optional(),
  endTime: millis.optional(),
  filterPattern: str.optional(),
  nextToken: str.optional(),
  limit: z.number().int().optional(),
  interleaved: z.boolean().optional(),
  unmask: z.boolean().optional(),
});

const GetLogEvents = z.object({
  ...GroupRef,
  logStreamName: str,
  startTime: millis.optional(),
  endTime: millis.optional(),
  nextToken: str.optional(),
  limit: z.number().int().optional(),
  startFromHead: z.boolean().optional(),
  unmask: z.boolean().optional(),
});

const DescribeLogGroups = z.object({
  logGroupNamePrefix: str.optional(),
  logGroupNamePattern: str.optional(),
  nextToken: str.optional(),
  limit: z.number().int().optional(),
});

const DescribeLogStreams = z.object({
  ...GroupRef,
  logStreamNamePrefix: str.optional(),
  orderBy: z.enum(['LogStreamName', 'LastEventTime']).optional(),
  descending: z.boolean().optional(),
  nextToken: str.optional(),
  limit: z.number().int().optional(),
});

const DeleteLogGroup = z.object({ logGroupName: str });

type Operation = (body: unknown) => Promise<object | undefined>;

/** The Logs_20140328.* target handler; `undefined` for targets of other services. */
export function logsTargets(
  logs: LogRepo,
  options: CompiledOptions,
): (target: string, req: ApiRequest) => Promise<ApiResponse> | undefined {
  const api = new LogsApi(logs, options);
  const operations: Record<string, Operation> = {
    FilterLogEvents: (b) => api.filterLogEvents(parse(FilterLogEvents, b)),
    GetLogEvents: (b) => api.getLogEvents(parse(GetLogEvents, b)),
    DescribeLogGroups: (b) => api.describeLogGroups(parse(DescribeLogGroups, b)),
    DescribeLogStreams: (b) => api.describeLogStreams(parse(DescribeLogStreams, b)),
    DeleteLogGroup: (b) => api.deleteLogGroup(parse(DeleteLogGroup, b)),
  };
  return (target, req) => {
    if (!target.startsWith(TARGET_PREFIX)) return undefined;
    const name = target.slice(TARGET_PREFIX.length);
    const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
    return (async (): Promise<ApiResponse> => {
      if (!operation) {
        throw new KumoError(
          'UnknownOperationException',
          `Kumo does not implement the CloudWatch Logs operation ${name}; it supports ${Object.keys(operations).join(', ')}.`,
        );
      }
      const out = await operation(jsonBody(req));
      return out === undefined
        ? { status: 200, headers: { 'Content-Type': JSON_11 } }
        : { status: 200, headers: { 'Content-Type': JSON_11 }, body: out };
    })();
  };
}

class LogsApi {
  constructor(
    private readonly logs: LogRepo,
    private readonly options: CompiledOptions,
  ) {}

  async filterLogEvents(input: z.infer<typeof FilterLogEvents>): Promise<object> {
    const group = groupOf(input);
    const limit = checkLimit(input.limit, 10_000, 10_000);
    if (input.logStreamNames !== undefined && input.logStreamNamePrefix !== undefined) {
      throw invalidParameter('logStreamNames and logStreamNamePrefix are mutually exclusive.');
    }
    if (input.logStreamNames !== undefined && (input.logStreamNames.length < 1 || input.logStreamNames.length > 100)) {
      throw validationError('logStreamNames', input.logStreamNames, 'Member must have length between 1 and 100');
    }
    const pattern = compileFilterPattern(input.filterPattern ?? '');
    await this.requireGroup(group);
    const cursor = input.nextToken === undefined ? 0 : decodeToken(input.nextToken, 'a');

    const base = {
      group,
      ...(input.logStreamNames ? { streams: input.logStreamNames } : {}),
      ...(input.logStreamNamePrefix ? { streamPrefix: input.logStreamNamePrefix } : {}),
      ...(input.startTime !== undefined ? { startTime: input.startTime } : {}),
      ...(input.endTime !== undefined ? { endTime: input.endTime } : {}),
      ...(pattern.contains ? { contains: pattern.contains } : {}),
    };
    // Without a post-filter every row the store returns matches, so one query of limit+1 decides
    // whether there is more. With one, scan in batches until the page is full or MAX_SCAN is hit.
    const batchSize = pattern.test ? Math.max(1000, Math.min(limit + 1, 10_000)) : limit + 1;
    const events: object[] = [];
    let after = cursor;
    let scanned = 0;
    let more = false;
    for (;;) {
      const batch = await this.logs.query({ ...base, afterId: after, limit: batchSize });
      let i = 0;
      for (; i < batch.length && events.length < limit; i++) {
        const e = batch[i] as (typeof batch)[number];
        after = e.id;
        if (pattern.test && !pattern.test(e.message)) continue;
        events.push({
          logStreamName: e.stream,
          timestamp: e.timestamp,
          message: e.message,
          ingestionTime: e.ingestionTime,
          eventId: String(e.id),
        });
      }
      scanned += i;
      if (i === batch.length && batch.length < batchSize) break; // consumed everything there is
      if (events.length >= limit || scanned >= MAX_SCAN) {
        more = true;
        break;
      }
    }
    const streams = await this.logs.streams(group, input.logStreamNamePrefix);
    const wanted = input.logStreamNames ? new Set(input.logStreamNames) : undefined;
    const searchedLogStreams = streams
      .filter((s) => !wanted || wanted.has(s.stream))
      .map((s) => ({ logStreamName: s.stream, searchedCompletely: !more }));
    return more ? { events, searchedLogStreams, nextToken: encodeToken('a', after) } : { events, searchedLogStreams };
  }

  async getLogEvents(input: z.infer<typeof GetLogEvents>): Promise<object> {
    const group = groupOf(input);
    const limit = checkLimit(input.limit, 10_000, 10_000);
    const streams = await this.logs.streams(group, input.logStreamName);
    if (!streams.some((s) => s.stream === input.logStreamName)) {
      await this.requireGroup(group);
      throw new KumoError('ResourceNotFoundException', STREAM_NOT_FOUND);
    }
    const token = input.nextToken === undefined ? undefined : decodeDirectionToken(input.nextToken);
    const base = {
      group,
      streams: [input.logStreamName],
      limit,
      ...(input.startTime !== undefined ? { startTime: input.startTime } : {}),
      // GetLogEvents' endTime is exclusive (FilterLogEvents' is inclusive).
      ...(input.endTime !== undefined ? { endTime: input.endTime - 1 } : {}),
    };
    // A token carries its own direction, so startFromHead only matters on the first call.
    const backward = token ? token.direction === 'b' : input.startFromHead !== true;
    const rows = await this.logs.query({ ...base, descending: backward, ...(token ? { afterId: token.id } : {}) });
    if (backward) rows.reverse();
    const first = rows[0];
    const last = rows.at(-1);
    let forward: string;
    let back: string;
    if (first && last) {
      forward = directionToken('f', last.id);
      back = directionToken('b', first.id);
    } else if (token) {
      // At the end in the token's direction: AWS hands the same token back.
      forward = token.direction === 'f' ? (input.nextToken ?? '') : directionToken('f', Math.max(0, token.id - 1));
      back = token.direction === 'b' ? (input.nextToken ?? '') : directionToken('b', token.id + 1);
    } else {
      forward = directionToken('f', 0);
      back = directionToken('b', 0);
    }
    return {
      events: rows.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
      nextForwardToken: forward,
      nextBackwardToken: back,
    };
  }

  async describeLogGroups(input: z.infer<typeof DescribeLogGroups>): Promise<object> {
    if (input.logGroupNamePrefix !== undefined && input.logGroupNamePattern !== undefined) {
      throw invalidParameter('LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.');
    }
    const limit = checkLimit(input.limit, 50, 50);
    let groups = await this.logs.groups(input.logGroupNamePrefix);
    const pattern = input.logGroupNamePattern?.toLowerCase();
    if (pattern) groups = groups.filter((g) => g.group.toLowerCase().includes(pattern));
    const page = pageOf(groups, input.nextToken, limit);
    return {
      logGroups: page.items.map((g) => ({
        logGroupName: g.group,
        creationTime: g.createdAt,
        metricFilterCount: 0,
        arn: `${this.groupArn(g.group)}:*`,
        storedBytes: g.storedBytes,
        logGroupClass: 'STANDARD',
        logGroupArn: this.groupArn(g.group),
      })),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  }

  async describeLogStreams(input: z.infer<typeof DescribeLogStreams>): Promise<object> {
    const group = groupOf(input);
    const limit = checkLimit(input.limit, 50, 50);
    const byTime = input.orderBy === 'LastEventTime';
    if (byTime && input.logStreamNamePrefix !== undefined) {
      throw invalidParameter('Cannot order by LastEventTime with a logStreamNamePrefix.');
    }
    await this.requireGroup(group);
    const streams = await this.logs.streams(group, input.logStreamNamePrefix);
    if (byTime) streams.sort((a, b) => (a.lastEventAt ?? 0) - (b.lastEventAt ?? 0) || compare(a.stream, b.stream));
    if (input.descending) streams.reverse();
    const page = pageOf(streams, input.nextToken, limit);
    return {
      logStreams: page.items.map((s) => this.streamOut(s)),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  }

  async deleteLogGroup(input: z.infer<typeof DeleteLogGroup>): Promise<undefined> {
    await this.requireGroup(input.logGroupName);
    await this.logs.deleteGroup(input.logGroupName);
    return undefined;
  }

  private streamOut(s: LogStreamInfo): object {
    return {
      logStreamName: s.stream,
      creationTime: s.createdAt,
      ...(s.firstEventAt !== null ? { firstEventTimestamp: s.firstEventAt } : {}),
      // Kumo stores events as they are written, so the last ingestion is the last event.
      ...(s.lastEventAt !== null ? { lastEventTimestamp: s.lastEventAt, lastIngestionTime: s.lastEventAt } : {}),
      arn: `${this.groupArn(s.group)}:log-stream:${s.stream}`,
      storedBytes: s.storedBytes,
    };
  }

  private groupArn(group: string): string {
    return `arn:aws:logs:${this.options.region}:${this.options.accountId}:log-group:${group}`;
  }

  /** A group exists once something wrote to it (as Lambda creates its group on first log). */
  private async requireGroup(group: string): Promise<void> {
    const groups = await this.logs.groups(group);
    if (!groups.some((g) => g.group === group)) throw new KumoError('ResourceNotFoundException', GROUP_NOT_FOUND);
  }
}

/** The log group named by `logGroupName` or `logGroupIdentifier` (a name or an ARN): exactly one of them. */
function groupOf(input: { logGroupName?: string | undefined; logGroupIdentifier?: string | undefined }): string {
  if (input.logGroupName !== undefined && input.logGroupIdentifier !== undefined) {
    throw invalidParameter('LogGroup name and LogGroup ARN are mutually exclusive parameters.');
  }
  const ref = input.logGroupName ?? input.logGroupIdentifier;
  if (ref === undefined) throw invalidParameter('Should provide either name or ARN of the log group.');
  const arn = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:(.+?)(?::\*)?$/.exec(ref);
  const name = arn?.[1] ?? ref;
  if (name.length < 1 || name.length > 512) throw validationError('logGroupName', name, 'Member must have length between 1 and 512');
  return name;
}

function checkLimit(limit: number | undefined, max: number, fallback: number): number {
  if (limit === undefined) return fallback;
  if (limit < 1) throw validationError('limit', limit, 'Member must have value greater than or equal to 1');
  if (limit > max) throw validationError('limit', limit, `Member must have value less than or equal to ${max}`);
  return limit;
}

function invalidParameter(message: string): KumoError {
  return new KumoError('InvalidParameterException', message);
}

/** Validates a request body; a member of the wrong type is a ValidationException naming it. */
function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') || 'body';
  if (issue?.code === 'invalid_type' && issue.input === undefined) {
    throw validationError(field, null, 'Member must not be null');
  }
  throw new KumoError(
    'ValidationException',
    `1 validation error detected: Value at '${field}' failed to satisfy constraint: ${issue?.message ?? 'invalid'}`,
  );
}

// ---- paging tokens ----

function encodeToken(kind: string, n: number): string {
  return Buffer.from(`kumo1:${kind}:${n}`).toString('base64url');
}

function decodeToken(token: string, kind: string): number {
  const m = /^kumo1:([a-z]):(\d{1,15})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m || m[1] !== kind) throw invalidParameter(INVALID_TOKEN);
  return Number(m[2]);
}

/** GetLogEvents' `f/…` (events after the id) and `b/…` (events before it), padded to AWS's length. */
function directionToken(direction: 'f' | 'b', id: number): string {
  return `${direction}/${String(id).padStart(56, '0')}`;
}

function decodeDirectionToken(token: string): { direction: 'f' | 'b'; id: number } {
  const m = /^([fb])\/(\d{1,56})$/.exec(token);
  const id = Number(m?.[2]);
  if (!m || !Number.isSafeInteger(id)) throw invalidParameter(INVALID_TOKEN);
  return { direction: m[1] === 'f' ? 'f' : 'b', id };
}

function pageOf<T>(items: T[], nextToken: string | undefined, limit: number): { items: T[]; nextToken: string | undefined } {
  const offset = nextToken === undefined ? 0 : decodeToken(nextToken, 'o');
  const end = offset + limit;
  return { items: items.slice(offset, end), nextToken: end < items.length ? encodeToken('o', end) : undefined };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
