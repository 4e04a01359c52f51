/**
 * The SQS-compatible queue service. Other subsystems use `QueueService` (e.g. `sendByArn` to
 * deliver dead-letter and destination records); the HTTP API maps SQS's two protocols onto it.
 */
export {
  QueueService,
  type BatchResult,
  type BatchResultErrorEntry,
  type PeekedMessage,
  type QueueServiceOptions,
  type ReceiveMessageInput,
  type ReceivedMessage,
  type SendMessageInput,
  type SendMessageResult,
} from './service.js';
export { md5Hex, md5OfAttributes, type MessageAttributeValue, type MessageAttributes } from './md5.js';
export { systemClock, type Clock } from './clock.js';
export { MAX_MESSAGE_SIZE } from './attributes.js';
