import { KumoError } from '../errors/index.js';
import type { QueueMessage } from '../store/index.js';
import { checkOverride } from './attributes.js';
import { md5Hex, md5OfAttributes } from './md5.js';
import { fromStored, selectAttributes } from './messages.js';
import type { ReceivedMessage } from './types.js';

/** What ReceiveMessage hands out: message system attributes, receipt handles, visibility checks. */

export const SYSTEM_ATTRIBUTE_NAMES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
];

/** A received message as SQS answers it, with the system attributes and message attributes asked for. */
export function formatMessage(
  queue: string,
  senderId: string,
  m: QueueMessage,
  systemNames: readonly string[],
  attributeNames: readonly string[],
): ReceivedMessage {
  const out: ReceivedMessage = {
    MessageId: m.id,
    ReceiptHandle: Buffer.from(`${queue} ${m.seq} ${m.receipt ?? ''}`).toString('base64'),
    MD5OfBody: md5Hex(m.body),
    Body: m.body,
  };
  if (systemNames.length > 0) {
    const all = systemNames.includes('All');
    const values: Record<string, string | null | undefined> = {
      SenderId: senderId,
      SentTimestamp: String(m.sentAt),
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
      SequenceNumber: m.sequenceNumber,
      MessageDeduplicationId: m.dedupId,
      MessageGroupId: m.groupId,
      AWSTraceHeader: m.systemAttributes?.AWSTraceHeader?.StringValue,
      DeadLetterQueueSourceArn: m.deadLetterSourceArn,
    };
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if ((all || systemNames.includes(k)) && v !== null && v !== undefined) attrs[k] = v;
    out.Attributes = attrs;
  }
  const selected = selectAttributes(m.attributes ? fromStored(m.attributes) : {}, attributeNames);
  if (Object.keys(selected).length > 0) {
    out.MessageAttributes = selected;
    out.MD5OfMessageAttributes = md5OfAttributes(selected);
  }
  return out;
}

/** Receipt handles are base64 of `<queue> <message seq> <receipt token>`; the token changes per receive. */
export function parseHandle(queue: string, handle: string): { seq: number; token: string } {
  const parts = Buffer.from(handle, 'base64').toString('utf8').split(' ');
  const [name, seq, token] = parts;
  if (parts.length !== 3 || name !== queue || !seq || !/^\d{1,16}$/.test(seq) || !token || !/^[0-9a-f]{32}$/.test(token)) {
    throw new KumoError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
  }
  return { seq: Number(seq), token };
}

export function checkVisibility(v: number): void {
  checkOverride('VisibilityTimeout', v, 'VisibilityTimeout', (r) => `Must be between ${r.min} and ${r.max}, if provided.`);
}
