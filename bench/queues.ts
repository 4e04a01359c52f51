/**
 * `node dist/bench/queues.js`: the SQS-compatible queue service's throughput, measured as messages
 * that go through SendMessage + ReceiveMessage + DeleteMessage, per second, over loopback.
 *
 * The server runs as its own process (`bin/kumo.js server`), as a user runs it; the clients are
 * plain keep-alive HTTP clients speaking SQS's JSON protocol in this process, so the figures are
 * Kumo's, not an SDK's. Two shapes:
 * - single: each worker loops SendMessage(1) → ReceiveMessage(1) → DeleteMessage(1);
 * - batch: each worker loops SendMessageBatch(10) → ReceiveMessage(10) → DeleteMessageBatch(10).
 * Prints a table and writes bench/results/queues.json. `--seconds=N` sets each run's length (default 5).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agent, send } from './http.js';
import { ROOT, startServer, stopServer } from './server.js';

const SECONDS = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice('--seconds='.length) ?? 5);
const WORKERS = Number(process.argv.find((a) => a.startsWith('--workers='))?.slice('--workers='.length) ?? 16);
const BODY = JSON.stringify({ order: 12345, item: 'widget', quantity: 3, note: 'a typical small event payload' });

/** One call of SQS's JSON protocol; throws unless it answers 200. */
async function sqs<T>(url: URL, operation: string, input: object): Promise<T> {
  const res = await send(url, 'POST', '/', Buffer.from(JSON.stringify(input)), {
    'Content-Type': 'application/x-amz-json-1.0',
    'X-Amz-Target': `AmazonSQS.${operation}`,
  });
  const text = res.body.toString('utf8');
  if (res.status !== 200) throw new Error(`${operation}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

interface Received {
  Messages?: Array<{ ReceiptHandle: string }>;
}

/** Runs `workers` loops of `cycle` for `seconds`; each cycle returns how many messages it completed. */
async function measure(workers: number, seconds: number, cycle: () => Promise<number>): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let messages = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < deadline) {
        // Not `messages += await cycle()`: that reads `messages` before the await and loses other workers' counts.
        const done = await cycle();
        messages += done;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return messages / elapsed;
}

async function main(): Promise<void> {
  const server = await startServer('kumo-bench-queues-');
  try {
    const single = (await sqs<{ QueueUrl: string }>(server.url, 'CreateQueue', { QueueName: 'bench-single' })).QueueUrl;
    const batch = (await sqs<{ QueueUrl: string }>(server.url, 'CreateQueue', { QueueName: 'bench-batch' })).QueueUrl;

    const singleCycle = async (): Promise<number> => {
      await sqs(server.url, 'SendMessage', { QueueUrl: single, MessageBody: BODY });
      const got = await sqs<Received>(server.url, 'ReceiveMessage', { QueueUrl: single, MaxNumberOfMessages: 1 });
      for (const m of got.Messages ?? []) await sqs(server.url, 'DeleteMessage', { QueueUrl: single, ReceiptHandle: m.ReceiptHandle });
      return got.Messages?.length ?? 0;
    };
    const entries = Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: BODY }));
    const batchCycle = async (): Promise<number> => {
      await sqs(server.url, 'SendMessageBatch', { QueueUrl: batch, Entries: entries });
      const got = await sqs<Received>(server.url, 'ReceiveMessage', { QueueUrl: batch, MaxNumberOfMessages: 10 });
      const messages = got.Messages ?? [];
      if (messages.length > 0) {
        await sqs(server.url, 'DeleteMessageBatch', {
          QueueUrl: batch,
          Entries: messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
        });
      }
      return messages.length;
    };

    await measure(WORKERS, 1, singleCycle); // warm-up
    const singleRate = await measure(WORKERS, SECONDS, singleCycle);
    const batchRate = await measure(WORKERS, SECONDS, batchCycle);

    const report = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
      workers: WORKERS,
      seconds: SECONDS,
      singleMessagesPerSecond: Math.round(singleRate),
      batchMessagesPerSecond: Math.round(batchRate),
      goal: 3000,
    };
    fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench/results/queues.json'), JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(
      `| queue service, Send + Receive + Delete | messages/s |\n| --- | --- |\n` +
        `| one message per call (${WORKERS} clients) | ${report.singleMessagesPerSecond} |\n` +
        `| batches of 10 (${WORKERS} clients) | ${report.batchMessagesPerSecond} |\n\n` +
        `Measured ${report.date.slice(0, 10)} on ${report.machine}, ${SECONDS} s per shape; durable (SQLite WAL) before each answer.\n` +
        `wrote bench/results/queues.json\n`,
    );
  } finally {
    await stopServer(server);
    agent.destroy();
  }
}

await main();
