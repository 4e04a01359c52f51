export { AsyncService, MAX_ASYNC_PAYLOAD, MAX_INVOKE_ASYNC_PAYLOAD, type AsyncServiceDeps, type AcceptInput } from './service.js';
export type { EventInvokeConfigInput } from './invoke-config.js';
export type { PendingSummary } from './dispatcher.js';
export { RetryPolicy } from './policy.js';
export { invocationRecord, type InvocationRecord, type Condition } from './record.js';
export type { DestinationTarget, DestinationMessage, MessageAttribute, QueueSender } from './destinations.js';
