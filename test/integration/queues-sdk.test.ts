/**
 * Kumo's SQS-compatible queue service through the real `@aws-sdk/client-sqs` (JSON protocol):
 * every operation, FIFO ordering and deduplication, redrive to a dead-letter queue, visibility
 * timeouts, long polling, persistence across a restart, and bad input with SQS's exact errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { after, describe, test } from 'node:test';
import type { SQSServiceException } from '@aws-sdk/client-sqs';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  type Message,
  type SQSClient,
  type QueueAttributeName,
} from '@aws-sdk/client-sqs';
import { md5OfAttributes } from '../../src/queues/index.js';
import { sqsClient } from '../helpers/clients.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { repoPath, startKumo } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

let sqs: SQSClient;

const k = useKumo({}, ({ url }) => {
  sqs = sqsClient(url);
});

after(() => {
  sqs?.destroy();
});

async function create(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  assert.ok(out.QueueUrl);
  return out.QueueUrl;
}

async function attributes(url: string, ...names: string[]): Promise<Record<string, string>> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names as QueueAttributeName[] }));
  return out.Attributes ?? {};
}

async function receive(url: string, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}): Promise<Message[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, ...extra }));
  return out.Messages ?? [];
}

/** Asserts that `p` rejects with the SQS error `name` (and, when given, a message matching `message`). */
async function rejectsWith(p: Promise<unknown>, name: string, message?: RegExp): Promise<SQSServiceException> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    assert.equal(err.name, name, `${err.name}: ${err.message}`);
    if (message) assert.match(err.message, message);
    return err as SQSServiceException;
  }
  assert.fail(`expected ${name}`);
}

describe('queues', () => {
  test('CreateQueue returns the queue URL <endpoint>/<account>/<name> and is idempotent with the same attributes', async () => {
    const url = await create('basics', { VisibilityTimeout: '45' });
    assert.equal(url, `${k.url}/000000000000/basics`);
    assert.equal(await create('basics', { VisibilityTimeout: '45' }), url);
    assert.equal(await create('basics'), url);
    await rejectsWith(create('basics', { VisibilityTimeout: '46' }), 'QueueNameExists', /different value for attribute VisibilityTimeout/);
  });

  test('GetQueueUrl finds a queue by name; an unknown one is QueueDoesNotExist with the query code', async () => {
    const url = await create('by-name');
    assert.equal((await sqs.send(new GetQueueUrlCommand({ QueueName: 'by-name' }))).QueueUrl, url);
    const err = await rejectsWith(sqs.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })), 'QueueDoesNotExist');
    assert.equal((err as unknown as { Code?: string }).Code, 'AWS.SimpleQueueService.NonExistentQueue');
    assert.equal(err.$metadata.httpStatusCode, 400);
  });

  test('ListQueues filters by prefix and pages with MaxResults/NextToken', async () => {
    for (const n of ['list-a', 'list-b', 'list-c']) await create(n);
    const all = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'list-' }));
    assert.deepEqual(
      all.QueueUrls,
      ['list-a', 'list-b', 'list-c'].map((n) => `${k.url}/000000000000/${n}`),
    );
    assert.equal(all.NextToken, undefined);
    const first = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'list-', MaxResults: 2 }));
    assert.equal(first.QueueUrls?.length, 2);
    assert.ok(first.NextToken);
    const second = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'list-', MaxResults: 2, NextToken: first.NextToken }));
    assert.deepEqual(second.QueueUrls, [`${k.url}/000000000000/list-c`]);
    assert.equal(second.NextToken, undefined);
  });

  test('DeleteQueue removes the queue and its messages', async () => {
    const url = await create('doomed');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    await rejectsWith(sqs.send(new GetQueueUrlCommand({ QueueName: 'doomed' })), 'QueueDoesNotExist');
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })), 'QueueDoesNotExist');
    const again = await create('doomed');
    assert.deepEqual(await receive(again), []);
  });

  test('GetQueueAttributes: All, named attributes, counts and timestamps; SetQueueAttributes changes them', async () => {
    const url = await create('attrs');
    const all = await attributes(url, 'All');
    assert.equal(all.QueueArn, 'arn:aws:sqs:us-east-1:000000000000:attrs');
    assert.equal(all.VisibilityTimeout, '30');
    assert.equal(all.MaximumMessageSize, '1048576');
    assert.equal(all.MessageRetentionPeriod, '345600');
    assert.equal(all.DelaySeconds, '0');
    assert.equal(all.ReceiveMessageWaitTimeSeconds, '0');
    assert.equal(all.ApproximateNumberOfMessages, '0');
    assert.match(all.CreatedTimestamp ?? '', /^\d{10}$/);
    assert.match(all.LastModifiedTimestamp ?? '', /^\d{10}$/);
    assert.deepEqual(await attributes(url, 'VisibilityTimeout', 'QueueArn'), {
      VisibilityTimeout: '30',
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:attrs',
    });
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '120', DelaySeconds: '5' } }));
    assert.deepEqual(await attributes(url, 'VisibilityTimeout', 'DelaySeconds'), { VisibilityTimeout: '120', DelaySeconds: '5' });
  });

  test('bad attributes: unknown names are InvalidAttributeName, out-of-range values InvalidAttributeValue, nothing changes', async () => {
    const url = await create('bad-attrs');
    await rejectsWith(attributes(url, 'Colour'), 'InvalidAttributeName', /Unknown Attribute Colour/);
    await rejectsWith(
      sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Colour: 'blue' } as Record<string, string> })),
      'InvalidAttributeName',
    );
    await rejectsWith(
      sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '43201', DelaySeconds: '1' } })),
      'InvalidAttributeValue',
      /VisibilityTimeout/,
    );
    assert.equal((await attributes(url, 'DelaySeconds')).DelaySeconds, '0');
    await rejectsWith(create('bad name!'), 'InvalidParameterValue', /alphanumeric/);
    await rejectsWith(create('not-fifo.fifo'), 'InvalidParameterValue', /FIFO queue/);
  });

  test('tags: CreateQueue tags, TagQueue, ListQueueTags', async () => {
    const out = await sqs.send(new CreateQueueCommand({ QueueName: 'tagged', tags: { team: 'a' } }));
    await sqs.send(new TagQueueCommand({ QueueUrl: out.QueueUrl, Tags: { env: 'test' } }));
    assert.deepEqual((await sqs.send(new ListQueueTagsCommand({ QueueUrl: out.QueueUrl }))).Tags, { team: 'a', env: 'test' });
  });
});

describe('messages', () => {
  test('SendMessage, ReceiveMessage and DeleteMessage with the MD5 fields SQS computes', async () => {
    const url = await create('send-receive');
    const attrs = {
      timestamp: { DataType: 'Number', StringValue: '1493147359900' },
      blob: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2, 255]) },
      'trace.id': { DataType: 'String.custom', StringValue: 'abc' },
    };
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'héllo wörld',
        MessageAttributes: attrs,
        MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' } },
      }),
    );
    assert.match(sent.MessageId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(sent.MD5OfMessageBody, crypto.createHash('md5').update('héllo wörld').digest('hex'));
    assert.equal(sent.MD5OfMessageAttributes, md5OfAttributes(attrs));
    assert.ok(sent.MD5OfMessageSystemAttributes);

    const [m] = await receive(url, { MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] });
    assert.ok(m);
    assert.equal(m.MessageId, sent.MessageId);
    assert.equal(m.Body, 'héllo wörld');
    assert.equal(m.MD5OfBody, sent.MD5OfMessageBody);
    assert.equal(m.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
    assert.deepEqual(Buffer.from(m.MessageAttributes?.blob?.BinaryValue ?? []), Buffer.from([0, 1, 2, 255]));
    assert.equal(m.MessageAttributes?.['trace.id']?.StringValue, 'abc');
    assert.equal(m.Attributes?.ApproximateReceiveCount, '1');
    assert.match(m.Attributes?.SentTimestamp ?? '', /^\d{13}$/);
    assert.match(m.Attributes?.ApproximateFirstReceiveTimestamp ?? '', /^\d{13}$/);
    assert.equal(m.Attributes?.AWSTraceHeader, 'Root=1-5759e988-bd862e3fe1be46a994272793');
    assert.equal(m.Attributes?.SenderId, '000000000000');

    assert.equal((await attributes(url, 'ApproximateNumberOfMessagesNotVisible')).ApproximateNumberOfMessagesNotVisible, '1');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    const counts = await attributes(url, 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible');
    assert.deepEqual(counts, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  test('MessageAttributeNames filters attributes by name and prefix; the MD5 covers what is returned', async () => {
    const url = await create('attr-filter');
    const attrs = {
      'a.one': { DataType: 'String', StringValue: '1' },
      'a.two': { DataType: 'String', StringValue: '2' },
      b: { DataType: 'Number', StringValue: '3' },
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageAttributes: attrs }));
    const [m] = await receive(url, { MessageAttributeNames: ['a.*'], VisibilityTimeout: 0 });
    assert.deepEqual(Object.keys(m?.MessageAttributes ?? {}).sort(), ['a.one', 'a.two']);
    assert.equal(m?.MD5OfMessageAttributes, md5OfAttributes({ 'a.one': attrs['a.one'], 'a.two': attrs['a.two'] }));
    const [plain] = await receive(url);
    assert.equal(plain?.MessageAttributes, undefined);
    assert.equal(plain?.Attributes, undefined);
  });

  test('a receipt handle changes per receive; a stale one deletes nothing; a forged one is ReceiptHandleIsInvalid', async () => {
    const url = await create('handles');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }));
    const [first] = await receive(url, { VisibilityTimeout: 0 });
    const [second] = await receive(url, { VisibilityTimeout: 30, MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    assert.ok(first?.ReceiptHandle && second?.ReceiptHandle);
    assert.notEqual(first.ReceiptHandle, second.ReceiptHandle);
    assert.equal(second.Attributes?.ApproximateReceiveCount, '2');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle }));
    assert.equal((await attributes(url, 'ApproximateNumberOfMessagesNotVisible')).ApproximateNumberOfMessagesNotVisible, '1');
    await rejectsWith(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'garbage' })), 'ReceiptHandleIsInvalid');
    await rejectsWith(
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 5 })),
      'InvalidParameterValue',
      /receipt handle has expired/,
    );
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle }));
    assert.equal((await attributes(url, 'ApproximateNumberOfMessagesNotVisible')).ApproximateNumberOfMessagesNotVisible, '0');
  });

  test('an expired visibility timeout redelivers the message; ChangeMessageVisibility 0 releases it at once', async () => {
    const url = await create('visibility', { VisibilityTimeout: '1' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'again' }));
    const [first] = await receive(url);
    assert.equal(first?.Body, 'again');
    assert.deepEqual(await receive(url), []);
    // The long poll wakes when the visibility timeout runs out.
    const [redelivered] = await receive(url, { WaitTimeSeconds: 10, MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    assert.equal(redelivered?.MessageId, first.MessageId);
    assert.equal(redelivered?.Attributes?.ApproximateReceiveCount, '2');

    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: redelivered.ReceiptHandle, VisibilityTimeout: 0 }));
    const [released] = await receive(url, { VisibilityTimeout: 60 });
    assert.equal(released?.MessageId, first.MessageId);
    // Visible again (timeout 0) means not in flight.
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: released!.ReceiptHandle, VisibilityTimeout: 0 }));
    await rejectsWith(
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: released!.ReceiptHandle, VisibilityTimeout: 10 })),
      'MessageNotInflight',
    );
  });

  test('long polling returns as soon as a message arrives', async () => {
    const url = await create('long-poll');
    const started = Date.now();
    const waiting = receive(url, { WaitTimeSeconds: 20 });
    await eventually(() => k.kumo.queues.waitingReceivers === 1, 'the receive to be parked');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake up' }));
    const got = await waiting;
    assert.equal(got[0]?.Body, 'wake up');
    assert.ok(Date.now() - started < 10_000, 'the long poll returned well before its 20 s wait');
  });

  test('a long poll whose client hangs up stops waiting and takes no message', async () => {
    const url = await create('hang-up');
    const abort = new AbortController();
    const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }), { abortSignal: abort.signal });
    await eventually(() => k.kumo.queues.waitingReceivers === 1, 'the receive to be parked');
    abort.abort();
    await assert.rejects(waiting);
    await eventually(() => k.kumo.queues.waitingReceivers === 0, 'the abandoned receive to stop waiting');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'for the living' }));
    const [m] = await receive(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    assert.equal(m?.Body, 'for the living');
    assert.equal(m?.Attributes?.ApproximateReceiveCount, '1');
  });

  test('the queue ReceiveMessageWaitTimeSeconds long-polls by default; delayed messages arrive when their delay ends', async () => {
    const url = await create('delayed', { ReceiveMessageWaitTimeSeconds: '10' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 1 }));
    const counts = await attributes(url, 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed');
    assert.deepEqual(counts, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesDelayed: '1' });
    const [m] = await receive(url);
    assert.equal(m?.Body, 'later');
  });

  test('SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch report per-entry results', async () => {
    const url = await create('batches');
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'two', MessageAttributes: { n: { DataType: 'Number', StringValue: '2' } } },
          { Id: 'bad', MessageBody: 'nul \u0000 inside' },
        ],
      }),
    );
    assert.deepEqual(sent.Successful?.map((e) => e.Id).sort(), ['a', 'b']);
    assert.equal(sent.Failed?.length, 1);
    assert.equal(sent.Failed?.[0]?.Id, 'bad');
    assert.equal(sent.Failed?.[0]?.Code, 'InvalidMessageContents');
    assert.equal(sent.Failed?.[0]?.SenderFault, true);

    const got = await receive(url);
    assert.equal(got.length, 2);
    const vis = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'x', ReceiptHandle: got[0]?.ReceiptHandle, VisibilityTimeout: 100 },
          { Id: 'y', ReceiptHandle: 'bogus', VisibilityTimeout: 100 },
        ],
      }),
    );
    assert.deepEqual(
      vis.Successful?.map((e) => e.Id),
      ['x'],
    );
    assert.equal(vis.Failed?.[0]?.Code, 'ReceiptHandleIsInvalid');
    const del = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: got.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    assert.deepEqual(del.Successful?.map((e) => e.Id).sort(), ['d0', 'd1']);
    assert.equal(del.Failed?.length ?? 0, 0);
    assert.equal((await attributes(url, 'ApproximateNumberOfMessagesNotVisible')).ApproximateNumberOfMessagesNotVisible, '0');
  });

  test('bad batches: too many entries, repeated ids, no entries, bad ids, over 1 MiB together', async () => {
    const url = await create('bad-batches');
    const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' }));
    await rejectsWith(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'a', MessageBody: 'x'.repeat(600_000) },
            { Id: 'b', MessageBody: 'x'.repeat(600_000) },
          ],
        }),
      ),
      'BatchRequestTooLong',
      /Batch requests cannot be longer than 1048576 bytes. You have sent 1200000 bytes./,
    );
    await rejectsWith(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(11) })),
      'TooManyEntriesInBatchRequest',
      /You have sent 11/,
    );
    await rejectsWith(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'same', MessageBody: 'x' },
            { Id: 'same', MessageBody: 'y' },
          ],
        }),
      ),
      'BatchEntryIdsNotDistinct',
    );
    await rejectsWith(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] })), 'EmptyBatchRequest');
    await rejectsWith(
      sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'not ok!', ReceiptHandle: 'x' }] })),
      'InvalidBatchEntryId',
    );
    assert.equal((await attributes(url, 'ApproximateNumberOfMessages')).ApproximateNumberOfMessages, '0');
  });

  test('a message of exactly 1 MiB (past the old 256 KiB limit) is accepted and received whole; a queue may lower the limit', async () => {
    const url = await create('one-mib');
    const body = 'y'.repeat(1_048_576);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    const [m] = await receive(url, {});
    assert.equal(m?.Body?.length, body.length);
    assert.equal(m?.Body, body);
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { MaximumMessageSize: '300000' } }));
    await rejectsWith(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'y'.repeat(300_001) })),
      'InvalidParameterValue',
      /Message must be shorter than 300000 bytes/,
    );
  });

  test('bad messages: over 1 MiB, invalid characters, bad receive parameters, unknown queue', async () => {
    const url = await create('bad-messages');
    await rejectsWith(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(1_048_577) })),
      'InvalidParameterValue',
      /Message must be shorter than 1048576 bytes/,
    );
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'bad \uFFFF' })), 'InvalidMessageContents');
    await rejectsWith(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })),
      'InvalidParameterValue',
      /MaxNumberOfMessages/,
    );
    await rejectsWith(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 21 })),
      'InvalidParameterValue',
      /WaitTimeSeconds/,
    );
    await rejectsWith(
      sqs.send(new SendMessageCommand({ QueueUrl: `${k.url}/000000000000/missing`, MessageBody: 'x' })),
      'QueueDoesNotExist',
    );
    await rejectsWith(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' })),
      'InvalidParameterValue',
      /not valid for this queue type/,
    );
    assert.equal((await attributes(url, 'ApproximateNumberOfMessages')).ApproximateNumberOfMessages, '0');
  });

  test('PurgeQueue deletes every message; a second purge within 60 s is PurgeQueueInProgress', async () => {
    const url = await create('purged');
    for (let i = 0; i < 3; i++) await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: `m${i}` }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    assert.equal((await attributes(url, 'ApproximateNumberOfMessages')).ApproximateNumberOfMessages, '0');
    await rejectsWith(sqs.send(new PurgeQueueCommand({ QueueUrl: url })), 'PurgeQueueInProgress');
  });

  test('JSON errors carry __type and the x-amzn-query-error header', async () => {
    const res = await fetch(k.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AmazonSQS.GetQueueUrl' },
      body: JSON.stringify({ QueueName: 'absent' }),
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-amzn-query-error'), 'AWS.SimpleQueueService.NonExistentQueue;Sender');
    assert.deepEqual(await res.json(), { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' });
  });
});

describe('redrive and FIFO', () => {
  test('a message received more than maxReceiveCount times moves to the dead-letter queue', async () => {
    const dlq = await create('orders-dlq');
    const dlqArn = (await attributes(dlq, 'QueueArn')).QueueArn;
    const url = await create('orders', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) });
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    assert.equal((await receive(url, { VisibilityTimeout: 0 }))[0]?.MessageId, sent.MessageId);
    assert.equal((await receive(url, { VisibilityTimeout: 0 }))[0]?.MessageId, sent.MessageId);
    assert.deepEqual(await receive(url, { VisibilityTimeout: 0 }), []);
    const [dead] = await receive(dlq, { MessageSystemAttributeNames: ['All'] });
    assert.equal(dead?.MessageId, sent.MessageId);
    assert.equal(dead?.Body, 'poison');
    assert.equal(dead?.Attributes?.DeadLetterQueueSourceArn, 'arn:aws:sqs:us-east-1:000000000000:orders');
    assert.equal(dead?.Attributes?.ApproximateReceiveCount, '1');

    const policy = JSON.parse((await attributes(url, 'RedrivePolicy')).RedrivePolicy ?? '{}') as Record<string, unknown>;
    assert.deepEqual(policy, { deadLetterTargetArn: dlqArn, maxReceiveCount: 2 });
    assert.deepEqual((await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }))).queueUrls, [url]);
    await rejectsWith(
      sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: url,
          Attributes: {
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:nope', maxReceiveCount: 2 }),
          },
        }),
      ),
      'InvalidParameterValue',
      /Dead letter target does not exist/,
    );
  });

  test('FIFO: order within a group, a group is locked while a message of it is in flight, SequenceNumber grows', async () => {
    const url = await create('orders.fifo', { FifoQueue: 'true' });
    const seqs: string[] = [];
    for (const [group, body] of [
      ['g1', 'g1-1'],
      ['g1', 'g1-2'],
      ['g2', 'g2-1'],
      ['g1', 'g1-3'],
    ] as const) {
      const out = await sqs.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: body }),
      );
      assert.ok(out.SequenceNumber);
      seqs.push(out.SequenceNumber);
    }
    assert.deepEqual([...seqs].sort(), seqs);
    const first = await receive(url, { MaxNumberOfMessages: 1, MessageSystemAttributeNames: ['All'] });
    assert.equal(first[0]?.Body, 'g1-1');
    assert.equal(first[0]?.Attributes?.MessageGroupId, 'g1');
    assert.equal(first[0]?.Attributes?.SequenceNumber, seqs[0]);
    // g1 is locked: only g2 comes out.
    assert.deepEqual(
      (await receive(url)).map((m) => m.Body),
      ['g2-1'],
    );
    assert.deepEqual(await receive(url), []);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first[0]?.ReceiptHandle }));
    assert.deepEqual(
      (await receive(url)).map((m) => m.Body),
      ['g1-2', 'g1-3'],
    );
  });

  test('FIFO deduplication: the same MessageDeduplicationId (or body, with ContentBasedDeduplication) within 5 minutes is stored once', async () => {
    const url = await create('dedup.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    const a = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' }));
    const b = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'same', MessageGroupId: 'g' }));
    assert.equal(b.MessageId, a.MessageId);
    assert.equal(b.SequenceNumber, a.SequenceNumber);
    const c = await sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'other', MessageGroupId: 'g', MessageDeduplicationId: 'id-1' }),
    );
    const d = await sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'other 2', MessageGroupId: 'g', MessageDeduplicationId: 'id-1' }),
    );
    assert.equal(d.MessageId, c.MessageId);
    assert.equal((await attributes(url, 'ApproximateNumberOfMessages')).ApproximateNumberOfMessages, '2');
    const [m] = await receive(url, { MessageSystemAttributeNames: ['MessageDeduplicationId'] });
    assert.equal(m?.Attributes?.MessageDeduplicationId?.length, 64);
  });

  test('FIFO bad input: no MessageGroupId, no deduplication id without content-based deduplication, per-message delay', async () => {
    const url = await create('strict.fifo', { FifoQueue: 'true' });
    await rejectsWith(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })), 'MissingParameter', /MessageGroupId/);
    await rejectsWith(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g' })),
      'InvalidParameterValue',
      /ContentBasedDeduplication/,
    );
    await rejectsWith(
      sqs.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd', DelaySeconds: 3 }),
      ),
      'InvalidParameterValue',
      /DelaySeconds/,
    );
  });
});

describe('service', () => {
  test('sendByArn delivers to a queue by ARN; an unknown ARN (or one of another region or account) is QueueDoesNotExist', async () => {
    const url = await create('by-arn');
    const { messageId } = await k.kumo.queues.sendByArn('arn:aws:sqs:us-east-1:000000000000:by-arn', '{"event":1}', {
      RequestID: { DataType: 'String', StringValue: 'req-1' },
    });
    const [m] = await receive(url, { MessageAttributeNames: ['All'] });
    assert.equal(m?.MessageId, messageId);
    assert.equal(m?.MessageAttributes?.RequestID?.StringValue, 'req-1');
    // An unknown name, and the queue's name in another region or account, name no queue.
    for (const arn of [
      'arn:aws:sqs:us-east-1:000000000000:nope',
      'arn:aws:sqs:eu-west-1:000000000000:by-arn',
      'arn:aws:sqs:us-east-1:111111111111:by-arn',
    ]) {
      await assert.rejects(k.kumo.queues.sendByArn(arn, 'x'), (err: Error) => {
        assert.equal(err.name, 'QueueDoesNotExist');
        assert.equal(err.message, `The specified queue does not exist: ${arn}`);
        return true;
      });
    }
  });

  test('messages survive a restart on the same data directory', async () => {
    const first = await startKumo();
    const c1 = sqsClient(first.url);
    const url = (await c1.send(new CreateQueueCommand({ QueueName: 'durable' }))).QueueUrl;
    await c1.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'kept', MessageAttributes: { a: { DataType: 'String', StringValue: 'b' } } }),
    );
    c1.destroy();
    await first.close({ keepData: true });

    const second = await startKumo({ dataDir: first.dataDir });
    const c2 = sqsClient(second.url);
    try {
      const url2 = (await c2.send(new GetQueueUrlCommand({ QueueName: 'durable' }))).QueueUrl;
      const out = await c2.send(new ReceiveMessageCommand({ QueueUrl: url2, MessageAttributeNames: ['All'] }));
      assert.equal(out.Messages?.[0]?.Body, 'kept');
      assert.equal(out.Messages?.[0]?.MessageAttributes?.a?.StringValue, 'b');
    } finally {
      c2.destroy();
      await second.close();
    }
  });

  test('kill -9 of `kumo server` under load loses no message SendMessage acknowledged', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-sqs-kill-'));
    const child = spawn(process.execPath, [repoPath('bin/kumo.js'), 'server', '--port', '0', '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, KUMO_LOG_LEVEL: 'warn' },
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.once('exit', () => reject(new Error('kumo server exited before starting')));
        readline.createInterface({ input: child.stdout ?? assert.fail('no stdout') }).on('line', (line) => {
          const m = /^Kumo is running at (http:\/\/\S+)$/.exec(line);
          if (m?.[1]) resolve(m[1]);
        });
      });
      const c = sqsClient(url);
      const queueUrl = (await c.send(new CreateQueueCommand({ QueueName: 'kill-9' }))).QueueUrl;
      const acked = new Set<string>();
      let stop = false;
      const workers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          try {
            const out = await c.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `w${w}-${i}` }));
            if (out.MessageId) acked.add(out.MessageId);
          } catch {
            return; // the server is gone
          }
        }
      });
      await eventually(() => acked.size >= 300, '300 acknowledged messages', 30_000);
      child.kill('SIGKILL');
      await exited;
      stop = true;
      await Promise.all(workers);
      c.destroy();

      const again = await startKumo({ dataDir });
      const c2 = sqsClient(again.url);
      try {
        const seen = new Set<string>();
        for (;;) {
          const out = await c2.send(
            new ReceiveMessageCommand({ QueueUrl: `${again.url}/000000000000/kill-9`, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }),
          );
          if (!out.Messages?.length) break;
          for (const m of out.Messages) if (m.MessageId) seen.add(m.MessageId);
        }
        const lost = [...acked].filter((id) => !seen.has(id));
        assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged messages were lost`);
      } finally {
        c2.destroy();
        await again.close();
      }
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('closing the server ends a waiting long poll cleanly', async () => {
    const own = await startKumo();
    const c = sqsClient(own.url);
    const url = (await c.send(new CreateQueueCommand({ QueueName: 'closing' }))).QueueUrl;
    const started = Date.now();
    const waiting = c.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));
    await eventually(() => own.kumo.queues.waitingReceivers === 1, 'the receive to be parked');
    await own.close();
    const out = await waiting;
    assert.equal(out.Messages, undefined);
    assert.ok(Date.now() - started < 10_000);
    c.destroy();
  });
});
