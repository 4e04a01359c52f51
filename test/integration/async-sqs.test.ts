/**
 * Dead-letter queues and destinations that are Kumo queues, read back with @aws-sdk/client-sqs
 * and the AWS CLI. Async time runs 100 times faster (asyncTimeScale 0.01).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { InvokeCommand, PutFunctionEventInvokeConfigCommand } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { awsCli } from '../helpers/aws-cli.js';
import { sqsClient } from '../helpers/clients.js';
import { Collector, createRecorderFunction } from '../helpers/collector.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { pendingEvents } from '../helpers/pending.js';
import { eventually } from '../helpers/wait.js';

const QARN = 'arn:aws:sqs:us-east-1:000000000000:';
const FARN = 'arn:aws:lambda:us-east-1:000000000000:function:';

let sqs: SQSClient;
let collector: Collector;
const urls = new Map<string, string>();
const k = useKumo({ asyncTimeScale: 0.01 }, async ({ url }) => {
  collector = await Collector.start();
  sqs = sqsClient(url);
  await queue('dlq');
  await queue('records');
});

async function queue(name: string): Promise<string> {
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const url = out.QueueUrl ?? assert.fail('no QueueUrl');
  urls.set(name, url);
  return url;
}

async function deploy(name: string, dlq?: string): Promise<void> {
  await createRecorderFunction(k.lambda, name, collector, dlq ? { DeadLetterConfig: { TargetArn: dlq } } : {});
}

async function invokeEvent(name: string, event: unknown): Promise<string> {
  const out = await k.lambda.send(
    new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }),
  );
  assert.equal(out.StatusCode, 202);
  return out.$metadata.requestId ?? assert.fail('no request id');
}

/** Receives from `queue` until one message satisfies `match`. */
async function receive(queueName: string, match: (m: Message) => boolean): Promise<Message> {
  const url = urls.get(queueName) ?? assert.fail(`no queue ${queueName}`);
  let found: Message | undefined;
  await eventually(
    async () => {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          WaitTimeSeconds: 1,
          VisibilityTimeout: 0,
        }),
      );
      found = out.Messages?.find(match);
      return found !== undefined;
    },
    `a message in ${queueName}`,
    15_000,
  );
  return found ?? assert.fail('unreachable');
}

after(async () => {
  sqs?.destroy();
  await collector?.close();
});

describe('dead-letter queue', () => {
  test('gets the original event with RequestID, ErrorCode and ErrorMessage once retries are exhausted', async () => {
    await deploy('to-dlq', `${QARN}dlq`);
    await k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'to-dlq', MaximumRetryAttempts: 1 }));
    const payload = { fail: true, tag: 'dlq-test', n: 42 };
    const id = await invokeEvent('to-dlq', payload);
    const message = await receive('dlq', (m) => m.MessageAttributes?.RequestID?.StringValue === id);
    assert.deepEqual(JSON.parse(message.Body ?? ''), payload);
    assert.deepEqual(message.MessageAttributes, {
      RequestID: { DataType: 'String', StringValue: id },
      ErrorCode: { DataType: 'Number', StringValue: '200' },
      ErrorMessage: { DataType: 'String', StringValue: 'failed on purpose: dlq-test' },
    });
    assert.equal(collector.byId(id).length, 2);
  });
});

describe('queue destinations', () => {
  test('OnSuccess and OnFailure records arrive in a queue, exactly', async () => {
    await deploy('to-queue');
    await k.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'to-queue',
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnSuccess: { Destination: `${QARN}records` }, OnFailure: { Destination: `${QARN}records` } },
      }),
    );
    const ok = await invokeEvent('to-queue', { n: 1 });
    const bad = await invokeEvent('to-queue', { fail: true, tag: 'q' });
    const byId = (id: string) => (m: Message) =>
      (JSON.parse(m.Body ?? '{}') as { requestContext?: { requestId?: string } }).requestContext?.requestId === id;
    const success = JSON.parse((await receive('records', byId(ok))).Body ?? '') as Record<string, unknown>;
    const { timestamp: _t1, ...s } = success;
    assert.deepEqual(s, {
      version: '1.0',
      requestContext: { requestId: ok, functionArn: `${FARN}to-queue:$LATEST`, condition: 'Success', approximateInvokeCount: 1 },
      requestPayload: { n: 1 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { echo: { n: 1 } },
    });
    const failure = JSON.parse((await receive('records', byId(bad))).Body ?? '') as Record<string, unknown> & {
      responsePayload: { errorMessage: string };
    };
    const { timestamp: _t2, responsePayload, ...f } = failure;
    assert.deepEqual(f, {
      version: '1.0',
      requestContext: { requestId: bad, functionArn: `${FARN}to-queue:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: 1 },
      requestPayload: { fail: true, tag: 'q' },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    });
    assert.equal(responsePayload.errorMessage, 'failed on purpose: q');
  });

  test('the AWS CLI reads a dead-lettered event', async () => {
    await deploy('cli-dlq', `${QARN}dlq`);
    await k.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'cli-dlq', MaximumRetryAttempts: 0 }));
    const id = await invokeEvent('cli-dlq', { fail: true, tag: 'cli' });
    await eventually(() => collector.byId(id).length === 1, 'the event to run');
    let found = false;
    await eventually(
      async () => {
        const out = await awsCli(k, 'sqs').json<{
          Messages?: Array<{ Body: string; MessageAttributes?: Record<string, { StringValue?: string }> }>;
        }>(
          'receive-message',
          '--queue-url',
          urls.get('dlq') ?? '',
          '--message-attribute-names',
          'All',
          '--max-number-of-messages',
          '10',
          '--visibility-timeout',
          '0',
        );
        found = (out.Messages ?? []).some(
          (m) => m.MessageAttributes?.RequestID?.StringValue === id && (JSON.parse(m.Body) as { tag?: string }).tag === 'cli',
        );
        return found;
      },
      'the CLI to receive the dead-lettered event',
      15_000,
    );
    assert.ok(found);
  });

  test('a queue that does not exist: the delivery fails, is counted, and the event still leaves the queue', async () => {
    await queue('short-lived');
    await deploy('to-nowhere');
    await k.lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'to-nowhere',
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnFailure: { Destination: `${QARN}short-lived` } },
      }),
    );
    await sqs.send(new DeleteQueueCommand({ QueueUrl: urls.get('short-lived') }));
    const id = await invokeEvent('to-nowhere', { fail: true });
    await eventually(async () => {
      const metrics = await (await fetch(`${k.url}/metrics`)).text();
      return /kumo_async_destination_deliveries_total\{function="to-nowhere",kind="on_failure",outcome="error"\} 1/.test(metrics);
    }, 'the failed delivery to be counted');
    assert.equal(collector.byId(id).length, 1);
    await eventually(async () => (await pendingEvents(k.url, 'to-nowhere')).Count === 0, 'the event to leave the queue');
  });
});
