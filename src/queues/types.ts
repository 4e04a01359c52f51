import type { StoredAttributeValue } from '../store/index.js';
import type { MessageAttributes } from './md5.js';

/** The queue service's inputs and outputs: SQS's shapes, with binary attribute values as bytes. */

export interface SendMessageInput {
  MessageBody: string;
  DelaySeconds?: number;
  MessageAttributes?: MessageAttributes;
  MessageSystemAttributes?: MessageAttributes;
  MessageDeduplicationId?: string;
  MessageGroupId?: string;
}

export interface SendMessageResult {
  MessageId: string;
  MD5OfMessageBody: string;
  MD5OfMessageAttributes?: string;
  MD5OfMessageSystemAttributes?: string;
  SequenceNumber?: string;
}

export interface ReceiveMessageInput {
  MaxNumberOfMessages?: number;
  VisibilityTimeout?: number;
  WaitTimeSeconds?: number;
  /** Message system attribute names (the older parameter name). */
  AttributeNames?: string[];
  MessageSystemAttributeNames?: string[];
  MessageAttributeNames?: string[];
}

export interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  MD5OfBody: string;
  Body: string;
  Attributes?: Record<string, string>;
  MD5OfMessageAttributes?: string;
  MessageAttributes?: MessageAttributes;
}

export interface BatchResultErrorEntry {
  Id: string;
  SenderFault: boolean;
  Code: string;
  Message: string;
}

export interface BatchResult<T> {
  Successful: T[];
  Failed: BatchResultErrorEntry[];
}

/** A message as `peek` shows it (binary attribute values base64). */
export interface PeekedMessage {
  MessageId: string;
  Body: string;
  State: 'visible' | 'in-flight' | 'delayed';
  ReceiveCount: number;
  /** Epoch ms. */
  SentTimestamp: number;
  VisibleAt: number;
  MessageGroupId?: string;
  SequenceNumber?: string;
  MessageAttributes?: Record<string, StoredAttributeValue>;
}
