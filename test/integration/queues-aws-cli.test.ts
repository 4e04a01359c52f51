/**
 * Kumo's queue service through Debian's AWS CLI v2 (`/usr/bin/aws sqs ... --endpoint-url`,
 * unchanged), which speaks SQS's query protocol: every operation, FIFO, redrive, and errors with
 * the CLI's exit code 254 and SQS's query error codes. Skipped, with the reason printed, when the
 * CLI is not installed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AWS_CLI_MISSING, runAwsCli, type CliResult } from '../helpers/aws-cli.js';
import { startKumo, type TestKumo } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const SKIP = AWS_CLI_MISSING;
if (SKIP) console.log(`queues-aws-cli.test: skipping: ${SKIP}`);

let k: TestKumo;
let tmp: string;

/** A `file://` argument: the CLI reads the value from a file (big values exceed the argv limit). */
function fileArg(name: string, content: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  return `file://${file}`;
}

function sqs(...args: string[]): Promise<CliResult> {
  return runAwsCli(['--endpoint-url', k.url, '--output', 'json', 'sqs', ...args]);
}

/** Runs a command that must succeed; resolves to its parsed JSON output ({} when it prints nothing). */
async function ok<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const r = await sqs(...args);
  assert.equal(r.code, 0, `aws sqs ${args.join(' ')} failed: ${r.stderr}`);
  return (r.stdout.trim() === '' ? {} : JSON.parse(r.stdout)) as T;
}

/** Runs a command that must fail with the service error `code` (exit 254). */
async function fails(code: string, ...args: string[]): Promise<string> {
  const r = await sqs(...args);
  assert.equal(r.code, 254, `expected exit 254, got ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`An error occurred \\(${code.replace(/\./g, '\\.')}\\)`), r.stderr);
  return r.stderr;
}

interface CliMessage {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  MD5OfBody: string;
  Attributes?: Record<string, string>;
  MessageAttributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
  MD5OfMessageAttributes?: string;
}

async function receive(url: string, ...extra: string[]): Promise<CliMessage[]> {
  return (
    (await ok<{ Messages?: CliMessage[] }>('receive-message', '--queue-url', url, '--max-number-of-messages', '10', ...extra)).Messages ??
    []
  );
}

async function create(name: string, ...extra: string[]): Promise<string> {
  const out = await ok<{ QueueUrl: string }>('create-queue', '--queue-name', name, ...extra);
  return out.QueueUrl;
}

async function attributes(url: string, ...names: string[]): Promise<Record<string, string>> {
  return (
    (await ok<{ Attributes?: Record<string, string> }>('get-queue-attributes', '--queue-url', url, '--attribute-names', ...names))
      .Attributes ?? {}
  );
}

describe('SQS through the AWS CLI (query protocol)', { skip: SKIP }, () => {
  before(async () => {
    k = await startKumo();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-sqs-cli-'));
  });
  after(async () => {
    await k.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('create-queue, get-queue-url, list-queues (prefix, paging), tags, delete-queue', async () => {
    const url = await create('cli-basics', '--attributes', 'VisibilityTimeout=40,DelaySeconds=0', '--tags', 'team=a');
    assert.equal(url, `${k.url}/000000000000/cli-basics`);
    assert.equal(await create('cli-basics', '--attributes', 'VisibilityTimeout=40'), url);
    await fails('QueueAlreadyExists', 'create-queue', '--queue-name', 'cli-basics', '--attributes', 'VisibilityTimeout=41');
    assert.equal((await ok<{ QueueUrl: string }>('get-queue-url', '--queue-name', 'cli-basics')).QueueUrl, url);
    await fails('AWS.SimpleQueueService.NonExistentQueue', 'get-queue-url', '--queue-name', 'cli-nothing');

    await create('cli-basics-2');
    await create('cli-basics-3');
    const listed = await ok<{ QueueUrls: string[] }>('list-queues', '--queue-name-prefix', 'cli-basics');
    assert.deepEqual(
      listed.QueueUrls,
      ['cli-basics', 'cli-basics-2', 'cli-basics-3'].map((n) => `${k.url}/000000000000/${n}`),
    );
    // --page-size makes the CLI follow NextToken page by page; the result is the same list.
    const paged = await ok<{ QueueUrls: string[] }>('list-queues', '--queue-name-prefix', 'cli-basics', '--page-size', '1');
    assert.deepEqual(paged.QueueUrls, listed.QueueUrls);
    const first = await ok<{ QueueUrls: string[]; NextToken?: string }>(
      'list-queues',
      '--queue-name-prefix',
      'cli-basics',
      '--max-items',
      '2',
    );
    assert.equal(first.QueueUrls.length, 2);
    assert.ok(first.NextToken);

    await ok('tag-queue', '--queue-url', url, '--tags', 'env=test');
    assert.deepEqual((await ok<{ Tags: Record<string, string> }>('list-queue-tags', '--queue-url', url)).Tags, { team: 'a', env: 'test' });
    await ok('untag-queue', '--queue-url', url, '--tag-keys', 'team');
    assert.deepEqual((await ok<{ Tags: Record<string, string> }>('list-queue-tags', '--queue-url', url)).Tags, { env: 'test' });

    await ok('delete-queue', '--queue-url', `${k.url}/000000000000/cli-basics-3`);
    await fails('AWS.SimpleQueueService.NonExistentQueue', 'get-queue-url', '--queue-name', 'cli-basics-3');
  });

  test('get-queue-attributes and set-queue-attributes; bad names and values', async () => {
    const url = await create('cli-attrs');
    const all = await attributes(url, 'All');
    assert.equal(all.QueueArn, 'arn:aws:sqs:us-east-1:000000000000:cli-attrs');
    assert.equal(all.VisibilityTimeout, '30');
    assert.equal(all.ApproximateNumberOfMessages, '0');
    await ok('set-queue-attributes', '--queue-url', url, '--attributes', 'VisibilityTimeout=90,MessageRetentionPeriod=600');
    assert.deepEqual(await attributes(url, 'VisibilityTimeout', 'MessageRetentionPeriod'), {
      VisibilityTimeout: '90',
      MessageRetentionPeriod: '600',
    });
    await fails('InvalidAttributeName', 'set-queue-attributes', '--queue-url', url, '--attributes', 'Colour=blue');
    await fails('InvalidAttributeValue', 'set-queue-attributes', '--queue-url', url, '--attributes', 'DelaySeconds=901');
    await fails('InvalidAttributeName', 'get-queue-attributes', '--queue-url', url, '--attribute-names', 'Colour');
  });

  test('send-message, receive-message, change-message-visibility, delete-message', async () => {
    const url = await create('cli-messages');
    const sent = await ok<{ MessageId: string; MD5OfMessageBody: string; MD5OfMessageAttributes: string }>(
      'send-message',
      '--queue-url',
      url,
      '--message-body',
      'hello <world> & "friends"\r\nline two',
      '--message-attributes',
      JSON.stringify({
        s: { DataType: 'String', StringValue: 'x' },
        b: { DataType: 'Binary', BinaryValue: 'AAEC/w==' },
        n: { DataType: 'Number', StringValue: '42' },
      }),
    );
    assert.match(sent.MessageId, /^[0-9a-f-]{36}$/);
    const [m] = await receive(url, '--attribute-names', 'All', '--message-attribute-names', 'All', '--visibility-timeout', '60');
    assert.ok(m);
    assert.equal(m.Body, 'hello <world> & "friends"\r\nline two');
    assert.equal(m.MD5OfBody, sent.MD5OfMessageBody);
    assert.equal(m.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
    assert.equal(m.MessageAttributes?.b?.BinaryValue, 'AAEC/w==');
    assert.equal(m.MessageAttributes?.n?.StringValue, '42');
    assert.equal(m.Attributes?.ApproximateReceiveCount, '1');
    assert.deepEqual(await receive(url), []);

    await ok('change-message-visibility', '--queue-url', url, '--receipt-handle', m.ReceiptHandle, '--visibility-timeout', '0');
    const [again] = await receive(url, '--attribute-names', 'ApproximateReceiveCount');
    assert.equal(again?.MessageId, m.MessageId);
    assert.equal(again?.Attributes?.ApproximateReceiveCount, '2');
    await ok('delete-message', '--queue-url', url, '--receipt-handle', again.ReceiptHandle);
    assert.equal((await attributes(url, 'ApproximateNumberOfMessagesNotVisible')).ApproximateNumberOfMessagesNotVisible, '0');
    await fails('ReceiptHandleIsInvalid', 'delete-message', '--queue-url', url, '--receipt-handle', 'not-a-handle');
  });

  test('receive-message --wait-time-seconds returns as soon as a message arrives', async () => {
    const url = await create('cli-long-poll');
    const started = Date.now();
    const waiting = receive(url, '--wait-time-seconds', '20');
    await eventually(() => k.kumo.queues.waitingReceivers === 1, 'the CLI receive to be parked', 20_000);
    await ok('send-message', '--queue-url', url, '--message-body', 'ping');
    const got = await waiting;
    assert.equal(got[0]?.Body, 'ping');
    assert.ok(Date.now() - started < 15_000);
  });

  test('send-message-batch, delete-message-batch, change-message-visibility-batch, purge-queue', async () => {
    const url = await create('cli-batches');
    const sent = await ok<{ Successful: Array<{ Id: string }>; Failed?: Array<{ Id: string; Code: string; SenderFault: boolean }> }>(
      'send-message-batch',
      '--queue-url',
      url,
      '--entries',
      fileArg(
        'batch.json',
        JSON.stringify([
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'two', DelaySeconds: 0 },
          { Id: 'c', MessageBody: 'x'.repeat(200_000) + '\u0000' },
        ]),
      ),
    );
    assert.deepEqual(sent.Successful.map((e) => e.Id).sort(), ['a', 'b']);
    assert.equal(sent.Failed?.[0]?.Id, 'c');
    assert.equal(sent.Failed?.[0]?.Code, 'InvalidMessageContents');
    assert.equal(sent.Failed?.[0]?.SenderFault, true);

    const got = await receive(url);
    assert.equal(got.length, 2);
    const vis = await ok<{ Successful: Array<{ Id: string }> }>(
      'change-message-visibility-batch',
      '--queue-url',
      url,
      '--entries',
      JSON.stringify(got.map((m, i) => ({ Id: `v${i}`, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 120 }))),
    );
    assert.deepEqual(vis.Successful.map((e) => e.Id).sort(), ['v0', 'v1']);
    const del = await ok<{ Successful: Array<{ Id: string }> }>(
      'delete-message-batch',
      '--queue-url',
      url,
      '--entries',
      JSON.stringify(got.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle }))),
    );
    assert.deepEqual(del.Successful.map((e) => e.Id).sort(), ['d0', 'd1']);

    const eleven = JSON.stringify(Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' })));
    await fails('AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 'send-message-batch', '--queue-url', url, '--entries', eleven);
    const dup = JSON.stringify([
      { Id: 'same', MessageBody: 'x' },
      { Id: 'same', MessageBody: 'y' },
    ]);
    await fails('AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 'send-message-batch', '--queue-url', url, '--entries', dup);

    await ok('send-message', '--queue-url', url, '--message-body', 'to purge');
    await ok('purge-queue', '--queue-url', url);
    assert.equal((await attributes(url, 'ApproximateNumberOfMessages')).ApproximateNumberOfMessages, '0');
    await fails('AWS.SimpleQueueService.PurgeQueueInProgress', 'purge-queue', '--queue-url', url);
  });

  test('bad messages: over 1 MiB, unknown queue', async () => {
    const url = await create('cli-bad');
    const body = fileArg('big.txt', 'x'.repeat(1_048_577));
    const stderr = await fails('InvalidParameterValue', 'send-message', '--queue-url', url, '--message-body', body);
    assert.match(stderr, /Message must be shorter than 1048576 bytes/);
    await fails(
      'AWS.SimpleQueueService.NonExistentQueue',
      'send-message',
      '--queue-url',
      `${k.url}/000000000000/cli-none`,
      '--message-body',
      'x',
    );
  });

  test('FIFO queues: group order, deduplication, sequence numbers', async () => {
    const url = await create('cli-orders.fifo', '--attributes', 'FifoQueue=true,ContentBasedDeduplication=true');
    const a = await ok<{ MessageId: string; SequenceNumber: string }>(
      'send-message',
      '--queue-url',
      url,
      '--message-body',
      'first',
      '--message-group-id',
      'g',
    );
    const dup = await ok<{ MessageId: string }>('send-message', '--queue-url', url, '--message-body', 'first', '--message-group-id', 'g');
    assert.equal(dup.MessageId, a.MessageId);
    await ok('send-message', '--queue-url', url, '--message-body', 'second', '--message-group-id', 'g', '--message-deduplication-id', 'd2');
    const got = await receive(url, '--attribute-names', 'All');
    assert.deepEqual(
      got.map((m) => m.Body),
      ['first', 'second'],
    );
    assert.equal(got[0]?.Attributes?.SequenceNumber, a.SequenceNumber);
    assert.equal(got[0]?.Attributes?.MessageGroupId, 'g');
    await fails('MissingParameter', 'send-message', '--queue-url', url, '--message-body', 'no group');
  });

  test('redrive: after maxReceiveCount receives the message is in the dead-letter queue', async () => {
    const dlq = await create('cli-dlq');
    const policy = JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:cli-dlq', maxReceiveCount: '1' });
    const url = await create('cli-source', '--attributes', JSON.stringify({ RedrivePolicy: policy }));
    await ok('send-message', '--queue-url', url, '--message-body', 'poison');
    assert.equal((await receive(url, '--visibility-timeout', '0')).length, 1);
    assert.deepEqual(await receive(url, '--visibility-timeout', '0'), []);
    assert.equal((await receive(dlq))[0]?.Body, 'poison');
    assert.deepEqual((await ok<{ queueUrls: string[] }>('list-dead-letter-source-queues', '--queue-url', dlq)).queueUrls, [url]);
  });

  test('the query protocol also works POSTed to the queue URL and as GET with Action in the query string', async () => {
    const url = await create('cli-paths');
    const post = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'Action=SendMessage&Version=2012-11-05&MessageBody=via+path',
    });
    assert.equal(post.status, 200);
    assert.match(
      await post.text(),
      /<SendMessageResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><SendMessageResult><MD5OfMessageBody>/,
    );
    const get = await fetch(
      `${k.url}/?Action=GetQueueAttributes&QueueUrl=${encodeURIComponent(url)}&AttributeName.1=ApproximateNumberOfMessages`,
    );
    assert.match(await get.text(), /<Attribute><Name>ApproximateNumberOfMessages<\/Name><Value>1<\/Value><\/Attribute>/);
    const bad = await fetch(`${k.url}/?Action=Explode`);
    assert.equal(bad.status, 400);
    assert.match(
      await bad.text(),
      /<ErrorResponse xmlns="http:\/\/queue.amazonaws.com\/doc\/2012-11-05\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/,
    );
  });
});
