import type { Command } from 'commander';
import { clientOf, type KumoClient } from './client.js';
import { err, out, table, UsageError } from './output.js';

/**
 * `kumo queues ...`: Kumo's SQS-compatible queues. `ls` and `show` use SQS's own API (ListQueues,
 * GetQueueUrl, GetQueueAttributes); `peek` uses Kumo's `GET /_kumo/queues/<name>/messages`, which
 * looks at messages without receiving them (SQS has no such operation).
 */

interface PeekedMessage {
  MessageId: string;
  Body: string;
  State: string;
  ReceiveCount: number;
  SentTimestamp: number;
  MessageGroupId?: string;
  MessageAttributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
}

const COUNTS = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'];

export function registerQueues(program: Command): void {
  const queues = program.command('queues').description("inspect Kumo's SQS-compatible queues");

  queues
    .command('ls')
    .alias('list')
    .description('list queues with their message counts')
    .option('-p, --prefix <prefix>', 'only queues whose names start with this')
    .action(async (flags: { prefix?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      const urls: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.sqs<{ QueueUrls?: string[]; NextToken?: string }>('ListQueues', {
          MaxResults: 1000,
          ...(flags.prefix ? { QueueNamePrefix: flags.prefix } : {}),
          ...(token ? { NextToken: token } : {}),
        });
        urls.push(...(page.QueueUrls ?? []));
        token = page.NextToken;
      } while (token);
      if (urls.length === 0) {
        err('No queues.');
        return;
      }
      const rows: string[][] = [];
      for (const url of urls) {
        const a = await attributes(client, url, [...COUNTS, 'FifoQueue', 'RedrivePolicy']);
        rows.push([
          url.slice(url.lastIndexOf('/') + 1),
          a.FifoQueue === 'true' ? 'fifo' : 'standard',
          a.ApproximateNumberOfMessages ?? '0',
          a.ApproximateNumberOfMessagesNotVisible ?? '0',
          a.ApproximateNumberOfMessagesDelayed ?? '0',
          dlqName(a.RedrivePolicy) ?? '-',
        ]);
      }
      out(table(['NAME', 'TYPE', 'VISIBLE', 'IN FLIGHT', 'DELAYED', 'DEAD-LETTER QUEUE'], rows));
    });

  queues
    .command('show')
    .description("a queue's URL, attributes and message counts")
    .argument('<name>', 'queue name')
    .option('--json', 'print GetQueueAttributes output as JSON')
    .action(async (name: string, flags: { json?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const { QueueUrl } = await client.sqs<{ QueueUrl: string }>('GetQueueUrl', { QueueName: name });
      const a = await attributes(client, QueueUrl, ['All']);
      if (flags.json) {
        out(JSON.stringify({ QueueUrl, Attributes: a }, null, 2));
        return;
      }
      const rows: string[][] = [['QueueUrl', QueueUrl]];
      for (const key of Object.keys(a).sort()) {
        const value = a[key] ?? '';
        rows.push([key, key.endsWith('Timestamp') ? `${value} (${new Date(Number(value) * 1000).toISOString()})` : value]);
      }
      out(table(['ATTRIBUTE', 'VALUE'], rows));
    });

  queues
    .command('peek')
    .description("show a queue's oldest messages without receiving them")
    .argument('<name>', 'queue name')
    .option('-n, --limit <n>', 'how many messages (1-100)', '10')
    .option('--json', 'print the messages as JSON')
    .action(async (name: string, flags: { limit: string; json?: boolean }, cmd: Command) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError(`--limit must be 1-100, got ${flags.limit}`);
      const client = clientOf(cmd);
      const { Messages } = await client.json<{ Messages: PeekedMessage[] }>('GET', `/_kumo/queues/${encodeURIComponent(name)}/messages`, {
        query: { limit: String(limit) },
      });
      if (flags.json) {
        out(JSON.stringify(Messages, null, 2));
        return;
      }
      if (Messages.length === 0) {
        err(`Queue ${name} is empty.`);
        return;
      }
      const rows = Messages.map((m) => [
        m.MessageId,
        m.State,
        String(m.ReceiveCount),
        new Date(m.SentTimestamp).toISOString(),
        m.MessageGroupId ?? '-',
        oneLine(m.Body, 80),
      ]);
      out(table(['MESSAGE ID', 'STATE', 'RECEIVES', 'SENT', 'GROUP', 'BODY'], rows));
    });
}

async function attributes(client: KumoClient, url: string, names: string[]): Promise<Record<string, string>> {
  const res = await client.sqs<{ Attributes?: Record<string, string> }>('GetQueueAttributes', { QueueUrl: url, AttributeNames: names });
  return res.Attributes ?? {};
}

function dlqName(policy: string | undefined): string | undefined {
  if (!policy) return undefined;
  try {
    const arn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
    return arn?.slice(arn.lastIndexOf(':') + 1);
  } catch {
    return undefined;
  }
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
