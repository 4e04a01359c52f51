/**
 * The SQS-compatible queue service. Other subsystems use `QueueService` (e.g. `sendByArn` to
 * deliver dead-letter and destination records); the HTTP API maps SQS's two protocols onto it.
 */
export { QueueService, type QueueServiceOptions } from './service.js';
export type {
  BatchResult,
  BatchResultErrorEntry,
  PeekedMessage,
  ReceiveMessageInput,
  ReceivedMessage,
  SendMessageInput,
  SendMessageResult,
} from './types.js';
export { md5Hex, md5OfAttributes, type MessageAttributeValue, type MessageAttributes } from './md5.js';
export { MAX_MESSAGE_SIZE } from './attributes.js';
