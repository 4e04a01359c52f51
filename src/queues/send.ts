import crypto from 'node:crypto';
import { KumoError } from '../errors/index.js';
import type { NewQueueMessage, QueueRecord } from '../store/index.js';
import { checkOverride, intAttribute, isFifo } from './attributes.js';
import { md5Hex, md5OfAttributes, type MessageAttributes } from './md5.js';
import { checkAttributes, checkBody, toStored } from './messages.js';
import type { SendMessageInput, SendMessageResult } from './types.js';

/** SQS's rules for one message sent: size, delay, FIFO group and deduplication, and the MD5 fields. */

const DEDUP_WINDOW_MS = 5 * 60_000;

/** Validates one SendMessage(-BatchEntry) and builds its stored form and its answer (all but the MessageId). */
export function prepareSend(
  q: QueueRecord,
  input: SendMessageInput,
  now: number,
): { message: NewQueueMessage; result: Omit<SendMessageResult, 'MessageId'> } {
  if (typeof input.MessageBody !== 'string') throw new KumoError('MissingParameter', 'The request must contain the parameter MessageBody.');
  checkBody(input.MessageBody);
  const attributes = input.MessageAttributes ?? {};
  const system = input.MessageSystemAttributes ?? {};
  const size = Buffer.byteLength(input.MessageBody) + checkAttributes(attributes) + checkAttributes(system, true);
  const maxSize = intAttribute(q.attributes, 'MaximumMessageSize');
  if (size > maxSize) {
    throw new KumoError(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${maxSize} bytes.`,
    );
  }
  const fifo = isFifo(q);
  const notForThisQueue = (param: string, value: string | number) =>
    new KumoError(
      'InvalidParameterValue',
      `Value ${value} for parameter ${param} is invalid. Reason: The request include parameter that is not valid for this queue type.`,
    );
  let delay = intAttribute(q.attributes, 'DelaySeconds');
  if (input.DelaySeconds !== undefined) {
    if (fifo) throw notForThisQueue('DelaySeconds', input.DelaySeconds);
    checkOverride('DelaySeconds', input.DelaySeconds, 'DelaySeconds', (r) => `DelaySeconds must be >= ${r.min} and <= ${r.max}.`);
    delay = input.DelaySeconds;
  }
  let dedup: NewQueueMessage['dedup'];
  let dedupId: string | null = null;
  if (fifo) {
    if (!input.MessageGroupId) throw new KumoError('MissingParameter', 'The request must contain the parameter MessageGroupId.');
    checkFifoToken('MessageGroupId', input.MessageGroupId);
    if (input.MessageDeduplicationId !== undefined) {
      checkFifoToken('MessageDeduplicationId', input.MessageDeduplicationId);
      dedupId = input.MessageDeduplicationId;
    } else if (q.attributes.ContentBasedDeduplication === 'true') {
      dedupId = crypto.createHash('sha256').update(input.MessageBody).digest('hex');
    } else {
      throw new KumoError(
        'InvalidParameterValue',
        'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      );
    }
    const scope = q.attributes.DeduplicationScope === 'messageGroup' ? `${input.MessageGroupId}\u0000` : '';
    dedup = { key: scope + dedupId, expiresAt: now + DEDUP_WINDOW_MS };
  } else if (input.MessageDeduplicationId !== undefined) {
    throw notForThisQueue('MessageDeduplicationId', input.MessageDeduplicationId);
  } else if (input.MessageGroupId !== undefined) {
    checkFifoToken('MessageGroupId', input.MessageGroupId);
  }
  const message: NewQueueMessage = {
    id: crypto.randomUUID(),
    body: input.MessageBody,
    attributes: toStored(attributes),
    systemAttributes: toStored(system),
    groupId: input.MessageGroupId ?? null,
    dedupId,
    sentAt: now,
    visibleAt: now + delay * 1000,
    ...(dedup ? { dedup } : {}),
  };
  const result: Omit<SendMessageResult, 'MessageId'> = { MD5OfMessageBody: md5Hex(input.MessageBody) };
  if (Object.keys(attributes).length > 0) result.MD5OfMessageAttributes = md5OfAttributes(attributes);
  if (Object.keys(system).length > 0) result.MD5OfMessageSystemAttributes = md5OfAttributes(system);
  return { message, result };
}

/** The bytes a message's attributes count toward a batch's size (name, type and value). */
export function attributesSize(attributes: MessageAttributes | undefined): number {
  let n = 0;
  for (const [name, v] of Object.entries(attributes ?? {})) {
    n += Buffer.byteLength(name) + Buffer.byteLength(v.DataType ?? '') + (v.BinaryValue?.length ?? Buffer.byteLength(v.StringValue ?? ''));
  }
  return n;
}

function checkFifoToken(param: string, value: string): void {
  if (!/^[!-~]{1,128}$/.test(value)) {
    throw new KumoError(
      'InvalidParameterValue',
      `Value ${value} for parameter ${param} is invalid. Reason: ${param} can only include alphanumeric and punctuation characters. 1 to 128 in length.`,
    );
  }
}
