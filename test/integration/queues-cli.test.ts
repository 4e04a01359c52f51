/**
 * `kumo queues ls|show|peek` as users run them (`node bin/kumo.js ... --endpoint <url>`) against a
 * real Kumo whose queues were filled through the real `@aws-sdk/client-sqs`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { sqsClient } from '../helpers/clients.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { repoPath } from '../helpers/server.js';

const KUMO_BIN = repoPath('bin', 'kumo.js');
let sqs: SQSClient;

function kumo(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [KUMO_BIN, '--endpoint', k.url, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(new Error(`kumo ${args.join(' ')}: ${error.message}`, { cause: error }));
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

const k = useKumo({}, async ({ url }) => {
  sqs = sqsClient(url);
  await sqs.send(new CreateQueueCommand({ QueueName: 'cli-dlq' }));
  const policy = JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:cli-dlq', maxReceiveCount: 3 });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'cli-work', Attributes: { RedrivePolicy: policy } }));
  await sqs.send(new CreateQueueCommand({ QueueName: 'cli-events.fifo', Attributes: { FifoQueue: 'true' } }));
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'first message' }));
  await sqs.send(
    new SendMessageCommand({
      QueueUrl,
      MessageBody: 'second\nmessage',
      MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } },
    }),
  );
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'later', DelaySeconds: 900 }));
  await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 600 }));
});

after(() => {
  sqs?.destroy();
});

test('kumo queues ls lists every queue with its type, counts and dead-letter queue', async () => {
  const r = await kumo('queues', 'ls');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^NAME\s+TYPE\s+VISIBLE\s+IN FLIGHT\s+DELAYED\s+DEAD-LETTER QUEUE$/);
  assert.match(r.stdout, /cli-work\s+standard\s+1\s+1\s+1\s+cli-dlq/);
  assert.match(r.stdout, /cli-events\.fifo\s+fifo\s+0\s+0\s+0\s+-/);
  const only = await kumo('queues', 'ls', '--prefix', 'cli-e');
  assert.equal(only.stdout.trim().split('\n').length, 2);
});

test('kumo queues show prints the URL and every attribute', async () => {
  const r = await kumo('queues', 'show', 'cli-work');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`QueueUrl\\s+${k.url}/000000000000/cli-work`));
  assert.match(r.stdout, /ApproximateNumberOfMessages\s+1\n/);
  assert.match(r.stdout, /QueueArn\s+arn:aws:sqs:us-east-1:000000000000:cli-work/);
  assert.match(r.stdout, /RedrivePolicy\s+\{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:cli-dlq","maxReceiveCount":3\}/);
  const json = JSON.parse((await kumo('queues', 'show', 'cli-work', '--json')).stdout) as { Attributes: Record<string, string> };
  assert.equal(json.Attributes.VisibilityTimeout, '30');
});

test('kumo queues peek shows messages and their state without receiving them', async () => {
  const r = await kumo('queues', 'peek', 'cli-work');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /in-flight\s+1\s+\S+\s+-\s+first message/);
  assert.match(r.stdout, /visible\s+0\s+\S+\s+-\s+second message/);
  assert.match(r.stdout, /delayed\s+0\s+\S+\s+-\s+later/);
  const again = JSON.parse((await kumo('queues', 'peek', 'cli-work', '--json')).stdout) as Array<{
    Body: string;
    ReceiveCount: number;
    MessageAttributes?: object;
  }>;
  assert.deepEqual(
    again.map((m) => [m.Body, m.ReceiveCount]),
    [
      ['first message', 1],
      ['second\nmessage', 0],
      ['later', 0],
    ],
  );
  assert.deepEqual(again[1]?.MessageAttributes, { k: { DataType: 'String', StringValue: 'v' } });
});

test('an unknown queue is exit code 1 with the SQS error type', async () => {
  for (const args of [
    ['show', 'nope'],
    ['peek', 'nope'],
  ]) {
    const r = await kumo('queues', ...args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^kumo: QueueDoesNotExist: The specified queue does not exist\./);
  }
  const bad = await kumo('queues', 'peek', 'cli-work', '--limit', '0');
  assert.equal(bad.code, 2);
});
