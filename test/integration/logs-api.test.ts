/**
 * The CloudWatch Logs API against a real Kumo: real functions write real logs, read back with the
 * real `@aws-sdk/client-cloudwatch-logs` client and with Debian's AWS CLI v2 (when installed).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  CloudWatchLogsServiceException,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  paginateFilterLogEvents,
  type CloudWatchLogsClient,
  type FilteredLogEvent,
  type FilterLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { AWS_CLI_MISSING, awsCli } from '../helpers/aws-cli.js';
import { logsClient } from '../helpers/clients.js';
import { createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { eventually } from '../helpers/wait.js';

const STREAM_RE = /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/;
const HANDLER = `
exports.handler = async (event) => {
  if (event.hold) await new Promise((resolve) => setTimeout(resolve, event.hold));
  for (const line of event.lines ?? []) console.log(line);
  return { ok: true };
};`;

let logs: CloudWatchLogsClient;

const k = useKumo({}, async () => {
  logs = logsClient(k.url, k.kumo.options.region);
  const zip = await zipEntries([{ name: 'index.js', content: HANDLER }]);
  for (const name of ['logs-main', 'logs-other', 'logs-doomed']) {
    await createNodeFunction(k.lambda, name, zip);
  }
  // Two overlapping invocations of logs-main run in two environments: two log streams.
  await Promise.all([
    invoke('logs-main', { hold: 300, lines: ['alpha one', 'ERROR disk full', 'beta two'] }),
    invoke('logs-main', { hold: 300, lines: ['gamma three', 'WARN disk slow', 'Task "quoted" done'] }),
  ]);
  await invoke('logs-other', { lines: ['other line'] });
  await invoke('logs-doomed', { lines: ['doomed line'] });
  // The log writer stores batches asynchronously: wait until every REPORT line is readable.
  await eventually(async () => (await filter({ logGroupName: '/aws/lambda/logs-main', filterPattern: 'REPORT' })).length === 2);
  await eventually(async () => (await filter({ logGroupName: '/aws/lambda/logs-other', filterPattern: 'REPORT' })).length === 1);
  await eventually(async () => (await filter({ logGroupName: '/aws/lambda/logs-doomed', filterPattern: 'REPORT' })).length === 1);
});
after(() => {
  logs?.destroy();
});

async function invoke(name: string, event: unknown): Promise<void> {
  const out = await k.lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }));
  assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
}

/** Every event FilterLogEvents returns for `input`, across pages. */
async function filter(input: FilterLogEventsCommandInput): Promise<FilteredLogEvent[]> {
  const events: FilteredLogEvent[] = [];
  for await (const page of paginateFilterLogEvents({ client: logs }, input)) events.push(...(page.events ?? []));
  return events;
}

async function rejects(fn: () => Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof CloudWatchLogsServiceException, `expected a CloudWatchLogsServiceException, got ${String(err)}`);
    assert.equal(err.name, name, err.message);
    if (message) assert.match(err.message, message);
    return;
  }
  assert.fail(`expected ${name}`);
}

describe('FilterLogEvents', () => {
  test('returns the function log in order, in the FilteredLogEvent shape', async () => {
    const out = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logs-other' }));
    assert.equal(out.nextToken, undefined);
    const messages = (out.events ?? []).map((e) => e.message ?? '');
    assert.equal(messages.length, 4, messages.join('\n'));
    assert.match(messages[0] ?? '', /^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/);
    assert.match(messages[1] ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z\t[0-9a-f-]{36}\tINFO\tother line$/);
    assert.match(messages[2] ?? '', /^END RequestId: /);
    assert.match(messages[3] ?? '', /^REPORT RequestId: .*\tDuration: /);
    for (const e of out.events ?? []) {
      assert.match(e.logStreamName ?? '', STREAM_RE);
      assert.equal(typeof e.timestamp, 'number');
      assert.ok(Math.abs((e.timestamp ?? 0) - Date.now()) < 60_000);
      assert.ok((e.ingestionTime ?? 0) >= (e.timestamp ?? 0));
      assert.match(e.eventId ?? '', /^\d+$/);
    }
    assert.equal(new Set(out.events?.map((e) => e.eventId)).size, 4);
    assert.deepEqual(
      out.searchedLogStreams?.map((s) => s.searchedCompletely),
      [true],
    );
  });

  test('two environments write two streams; each keeps its own order', async () => {
    const events = await filter({ logGroupName: '/aws/lambda/logs-main' });
    const streams = [...new Set(events.map((e) => e.logStreamName))];
    assert.equal(streams.length, 2);
    for (const stream of streams) {
      const lines = events.filter((e) => e.logStreamName === stream).map((e) => e.message ?? '');
      const app = lines.filter((l) => l.includes('\tINFO\t')).map((l) => l.split('\t')[3]);
      assert.ok(
        JSON.stringify(app) === JSON.stringify(['alpha one', 'ERROR disk full', 'beta two']) ||
          JSON.stringify(app) === JSON.stringify(['gamma three', 'WARN disk slow', 'Task "quoted" done']),
        JSON.stringify(app),
      );
    }
    const only = await filter({ logGroupName: '/aws/lambda/logs-main', logStreamNames: [streams[0] ?? ''] });
    assert.ok(only.length > 0 && only.every((e) => e.logStreamName === streams[0]));
    const byPrefix = await filter({ logGroupName: '/aws/lambda/logs-main', logStreamNamePrefix: (streams[1] ?? '').slice(0, 30) });
    assert.ok(byPrefix.length > 0 && byPrefix.every((e) => e.logStreamName === streams[1]));
  });

  test('filter patterns: terms, quoted phrases, ?any and -exclude', async () => {
    const group = { logGroupName: '/aws/lambda/logs-main' };
    const app = async (filterPattern: string) =>
      (await filter({ ...group, filterPattern })).map((e) => (e.message ?? '').split('\t')[3] ?? e.message).sort();
    assert.deepEqual(await app('disk'), ['ERROR disk full', 'WARN disk slow']);
    assert.deepEqual(await app('disk full'), ['ERROR disk full']); // every term
    assert.deepEqual(await app('full disk'), ['ERROR disk full']); // in any order
    assert.deepEqual(await app('"full disk"'), []); // a phrase is matched as written
    assert.deepEqual(await app('"disk full"'), ['ERROR disk full']);
    assert.deepEqual(await app('?ERROR ?WARN'), ['ERROR disk full', 'WARN disk slow']);
    assert.deepEqual(await app('disk -ERROR'), ['WARN disk slow']);
    assert.deepEqual(await app('"Task \\"quoted\\""'), ['Task "quoted" done']);
    assert.deepEqual(await app('error'), []); // case-sensitive, as CloudWatch's are
    assert.equal((await filter({ ...group, filterPattern: '' })).length, (await filter(group)).length);
    await rejects(
      () => logs.send(new FilterLogEventsCommand({ ...group, filterPattern: '{ $.level = "ERROR" }' })),
      'InvalidParameterException',
    );
    await rejects(() => logs.send(new FilterLogEventsCommand({ ...group, filterPattern: '"unterminated' })), 'InvalidParameterException');
  });

  test('pages with limit and nextToken, and the SDK paginator walks them all', async () => {
    const all = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logs-main' }));
    const expected = (all.events ?? []).map((e) => e.eventId);
    assert.ok(expected.length >= 10);
    const seen: Array<string | undefined> = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logs-main', limit: 3, nextToken }));
      assert.ok((page.events ?? []).length <= 3);
      seen.push(...(page.events ?? []).map((e) => e.eventId));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    assert.deepEqual(seen, expected);
    assert.equal(pages, Math.ceil(expected.length / 3));
    // With a pattern the store cannot decide alone, paging still finds every match once.
    const matches: string[] = [];
    for await (const page of paginateFilterLogEvents(
      { client: logs, pageSize: 1 },
      { logGroupName: '/aws/lambda/logs-main', filterPattern: '?alpha ?gamma ?beta' },
    )) {
      matches.push(...(page.events ?? []).map((e) => (e.message ?? '').split('\t')[3] ?? ''));
    }
    assert.deepEqual(matches.sort(), ['alpha one', 'beta two', 'gamma three']);
    await rejects(
      () => logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logs-main', nextToken: 'garbage' })),
      'InvalidParameterException',
    );
  });

  test('startTime and endTime bound the events (both inclusive)', async () => {
    const all = await filter({ logGroupName: '/aws/lambda/logs-other' });
    const first = all[0]?.timestamp ?? 0;
    const last = all.at(-1)?.timestamp ?? 0;
    assert.equal((await filter({ logGroupName: '/aws/lambda/logs-other', startTime: first, endTime: last })).length, all.length);
    assert.equal((await filter({ logGroupName: '/aws/lambda/logs-other', startTime: last + 1 })).length, 0);
    assert.equal((await filter({ logGroupName: '/aws/lambda/logs-other', endTime: first - 1 })).length, 0);
  });

  test('logGroupIdentifier takes a name or an ARN; argument errors', async () => {
    const arn = `arn:aws:logs:${k.kumo.options.region}:${k.kumo.options.accountId}:log-group:/aws/lambda/logs-other`;
    assert.equal((await filter({ logGroupIdentifier: arn })).length, 4);
    assert.equal((await filter({ logGroupIdentifier: `${arn}:*` })).length, 4);
    assert.equal((await filter({ logGroupIdentifier: '/aws/lambda/logs-other' })).length, 4);
    await rejects(
      () => logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/nothing-here' })),
      'ResourceNotFoundException',
      /^The specified log group does not exist\.$/,
    );
    await rejects(
      () => logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logs-other', logGroupIdentifier: arn })),
      'InvalidParameterException',
    );
    await rejects(() => logs.send(new FilterLogEventsCommand({})), 'InvalidParameterException');
    await rejects(
      () =>
        logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logs-other', logStreamNames: ['a'], logStreamNamePrefix: 'a' })),
      'InvalidParameterException',
    );
    await rejects(() => logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logs-other', limit: 0 })), 'ValidationException');
    await rejects(
      () => logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logs-other', limit: 10_001 })),
      'ValidationException',
    );
  });
});

describe('GetLogEvents', () => {
  test('reads one stream from the head, forward and backward, with f/ and b/ tokens', async () => {
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/logs-other' }));
    const logStreamName = streams.logStreams?.[0]?.logStreamName ?? '';
    const q = { logGroupName: '/aws/lambda/logs-other', logStreamName };
    const all = (await logs.send(new GetLogEventsCommand({ ...q, startFromHead: true }))).events ?? [];
    assert.equal(all.length, 4);
    assert.match(all[0]?.message ?? '', /^START /);
    assert.deepEqual(Object.keys(all[0] ?? {}).sort(), ['ingestionTime', 'message', 'timestamp']);

    const head = await logs.send(new GetLogEventsCommand({ ...q, startFromHead: true, limit: 3 }));
    assert.deepEqual(
      head.events?.map((e) => e.message),
      all.slice(0, 3).map((e) => e.message),
    );
    assert.match(head.nextForwardToken ?? '', /^f\/\d{56}$/);
    assert.match(head.nextBackwardToken ?? '', /^b\/\d{56}$/);
    const rest = await logs.send(new GetLogEventsCommand({ ...q, nextToken: head.nextForwardToken, limit: 3 }));
    assert.deepEqual(
      rest.events?.map((e) => e.message),
      all.slice(3).map((e) => e.message),
    );
    const end = await logs.send(new GetLogEventsCommand({ ...q, nextToken: rest.nextForwardToken }));
    assert.deepEqual(end.events, []);
    assert.equal(end.nextForwardToken, rest.nextForwardToken, 'the same token at the end of the stream');

    // Without startFromHead: the newest events (in order), then backward.
    const tail = await logs.send(new GetLogEventsCommand({ ...q, limit: 2 }));
    assert.deepEqual(
      tail.events?.map((e) => e.message),
      all.slice(2).map((e) => e.message),
    );
    const before = await logs.send(new GetLogEventsCommand({ ...q, nextToken: tail.nextBackwardToken, limit: 2 }));
    assert.deepEqual(
      before.events?.map((e) => e.message),
      all.slice(0, 2).map((e) => e.message),
    );
    const start = await logs.send(new GetLogEventsCommand({ ...q, nextToken: before.nextBackwardToken }));
    assert.deepEqual(start.events, []);
    assert.equal(start.nextBackwardToken, before.nextBackwardToken);

    // endTime is exclusive here.
    const firstTs = all[0]?.timestamp ?? 0;
    const upTo = await logs.send(new GetLogEventsCommand({ ...q, startFromHead: true, endTime: firstTs }));
    assert.deepEqual(upTo.events, []);

    await rejects(
      () => logs.send(new GetLogEventsCommand({ ...q, logStreamName: 'no-such-stream' })),
      'ResourceNotFoundException',
      /log stream does not exist/,
    );
    await rejects(
      () => logs.send(new GetLogEventsCommand({ ...q, logGroupName: '/aws/lambda/none' })),
      'ResourceNotFoundException',
      /log group does not exist/,
    );
    await rejects(() => logs.send(new GetLogEventsCommand({ ...q, nextToken: 'x/1' })), 'InvalidParameterException');
  });
});

describe('DescribeLogGroups and DescribeLogStreams', () => {
  test('groups: prefix, shape, paging', async () => {
    const out = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/logs-' }));
    const names = out.logGroups?.map((g) => g.logGroupName);
    assert.deepEqual(
      names?.filter((n) => n !== '/aws/lambda/logs-doomed'),
      ['/aws/lambda/logs-main', '/aws/lambda/logs-other'],
    );
    const g = out.logGroups?.find((x) => x.logGroupName === '/aws/lambda/logs-main');
    assert.equal(g?.arn, 'arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/logs-main:*');
    assert.equal(g?.logGroupArn, 'arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/logs-main');
    assert.equal(g?.metricFilterCount, 0);
    assert.ok((g?.storedBytes ?? 0) > 0);
    assert.ok(Math.abs((g?.creationTime ?? 0) - Date.now()) < 60_000);

    const first = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/logs-', limit: 1 }));
    assert.equal(first.logGroups?.length, 1);
    assert.ok(first.nextToken);
    const second = await logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/logs-', limit: 1, nextToken: first.nextToken }),
    );
    assert.notEqual(second.logGroups?.[0]?.logGroupName, first.logGroups?.[0]?.logGroupName);
    assert.deepEqual((await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/nope/' }))).logGroups, []);
    assert.deepEqual(
      (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePattern: 'OTHER' }))).logGroups?.map((x) => x.logGroupName),
      ['/aws/lambda/logs-other'],
    );
  });

  test('streams: shape, order by name or last event time, paging, errors', async () => {
    const out = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/logs-main' }));
    const streams = out.logStreams ?? [];
    assert.equal(streams.length, 2);
    const names = streams.map((s) => s.logStreamName ?? '');
    assert.deepEqual(names, [...names].sort());
    for (const s of streams) {
      assert.match(s.logStreamName ?? '', STREAM_RE);
      assert.equal(s.arn, `arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/logs-main:log-stream:${s.logStreamName}`);
      assert.ok((s.firstEventTimestamp ?? 0) <= (s.lastEventTimestamp ?? 0));
      assert.equal(typeof s.creationTime, 'number');
      assert.equal(typeof s.lastIngestionTime, 'number');
    }
    const desc = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/logs-main', descending: true }));
    assert.deepEqual(
      desc.logStreams?.map((s) => s.logStreamName),
      [...names].reverse(),
    );
    const byTime = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/logs-main', orderBy: 'LastEventTime', descending: true }),
    );
    const times = byTime.logStreams?.map((s) => s.lastEventTimestamp ?? 0) ?? [];
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );

    const page1 = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/logs-main', limit: 1 }));
    const page2 = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/logs-main', limit: 1, nextToken: page1.nextToken }),
    );
    assert.deepEqual(
      [...(page1.logStreams ?? []), ...(page2.logStreams ?? [])].map((s) => s.logStreamName),
      names,
    );
    assert.equal(page2.nextToken, undefined);

    const prefixed = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/logs-main', logStreamNamePrefix: names[1] }),
    );
    assert.deepEqual(
      prefixed.logStreams?.map((s) => s.logStreamName),
      [names[1]],
    );
    await rejects(
      () =>
        logs.send(
          new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/logs-main', orderBy: 'LastEventTime', logStreamNamePrefix: '2' }),
        ),
      'InvalidParameterException',
    );
    await rejects(() => logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/none' })), 'ResourceNotFoundException');
    await rejects(
      () => logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/logs-main', limit: 51 })),
      'ValidationException',
    );
  });
});

describe('DeleteLogGroup and the wire protocol', () => {
  test('deletes a group and everything in it', async () => {
    await logs.send(new DeleteLogGroupCommand({ logGroupName: '/aws/lambda/logs-doomed' }));
    const left = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/logs-doomed' }));
    assert.deepEqual(left.logGroups, []);
    await rejects(() => logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logs-doomed' })), 'ResourceNotFoundException');
    await rejects(() => logs.send(new DeleteLogGroupCommand({ logGroupName: '/aws/lambda/logs-doomed' })), 'ResourceNotFoundException');
  });

  test('JSON 1.1 responses; unknown operations and malformed bodies are JSON errors', async () => {
    const post = (target: string, body: string) =>
      fetch(`${k.url}/`, { method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target }, body });
    const ok = await post('Logs_20140328.DescribeLogGroups', '{}');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'application/x-amz-json-1.1');
    assert.ok(Array.isArray(((await ok.json()) as { logGroups: unknown }).logGroups));

    const unknown = await post('Logs_20140328.PutLogEvents', '{}');
    assert.equal(unknown.status, 404);
    const body = (await unknown.json()) as { __type: string; message: string };
    assert.equal(body.__type, 'UnknownOperationException');
    assert.match(body.message, /PutLogEvents/);

    const wrongType = await post('Logs_20140328.FilterLogEvents', '{"logGroupName": 5}');
    assert.equal(wrongType.status, 400);
    assert.equal(((await wrongType.json()) as { __type: string }).__type, 'ValidationException');

    const otherService = await post('AmazonSNS.ListTopics', '{}');
    assert.equal(((await otherService.json()) as { __type: string }).__type, 'UnknownOperationException');
  });
});

describe('AWS CLI v2', { skip: AWS_CLI_MISSING }, () => {
  const cli = awsCli(k, 'logs');
  /** Runs `aws logs …`, which must succeed; resolves to what it printed. */
  const aws = async (...args: string[]): Promise<string> => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `aws logs ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  test('aws logs filter-log-events (following its own pagination)', async () => {
    const out = JSON.parse(
      await aws('filter-log-events', '--log-group-name', '/aws/lambda/logs-main', '--filter-pattern', '?ERROR ?WARN', '--page-size', '1'),
    ) as { events: Array<{ message: string; logStreamName: string }> };
    assert.deepEqual(out.events.map((e) => e.message.split('\t')[3]).sort(), ['ERROR disk full', 'WARN disk slow']);
    assert.ok(out.events.every((e) => STREAM_RE.test(e.logStreamName)));
  });

  test('aws logs describe-log-groups and get-log-events', async () => {
    const groups = JSON.parse(await aws('describe-log-groups', '--log-group-name-prefix', '/aws/lambda/logs-o')) as {
      logGroups: Array<{ logGroupName: string }>;
    };
    assert.deepEqual(
      groups.logGroups.map((g) => g.logGroupName),
      ['/aws/lambda/logs-other'],
    );
    const streams = JSON.parse(await aws('describe-log-streams', '--log-group-name', '/aws/lambda/logs-other')) as {
      logStreams: Array<{ logStreamName: string }>;
    };
    const stream = streams.logStreams[0]?.logStreamName ?? '';
    const events = JSON.parse(
      await aws('get-log-events', '--log-group-name', '/aws/lambda/logs-other', '--log-stream-name', stream, '--start-from-head'),
    ) as {
      events: Array<{ message: string }>;
    };
    assert.equal(events.events.length, 4);
  });

  test('aws logs tail', async () => {
    const out = await aws('tail', '/aws/lambda/logs-other', '--since', '1h', '--format', 'short');
    assert.match(out, /other line/);
  });
});
