/**
 * The one catalog of errors Kumo reports over its HTTP API.
 *
 * Each entry is a Lambda error type with the HTTP status AWS uses for it, whose fault it is
 * ("User" for a bad request, "Service" for a server fault) and how Lambda spells the body:
 * `{"Type":..,"message":..}`, `{"Type":..,"Message":..}` (the model's member case differs per
 * exception) or, for the model-validation ValidationException, just `{"message":..}`.
 * docs/errors.md documents every entry; a unit test fails when one is missing there.
 */
export const ERROR_CATALOG = {
  ValidationException: { status: 400, fault: 'User', body: 'message-only' },
  InvalidParameterValueException: { status: 400, fault: 'User', body: 'message' },
  InvalidRequestContentException: { status: 400, fault: 'User', body: 'message' },
  // CloudWatch Logs' bad-argument error (its ResourceNotFoundException shares Lambda's entry).
  InvalidParameterException: { status: 400, fault: 'User', body: 'message' },
  // Lambda's model calls it RequestTooLargeException; on the wire AWS sends this name.
  RequestEntityTooLargeException: { status: 413, fault: 'User', body: 'message' },
  ResourceNotFoundException: { status: 404, fault: 'User', body: 'Message' },
  ResourceConflictException: { status: 409, fault: 'User', body: 'message' },
  PreconditionFailedException: { status: 412, fault: 'User', body: 'message' },
  PolicyLengthExceededException: { status: 400, fault: 'User', body: 'message' },
  ProvisionedConcurrencyConfigNotFoundException: { status: 404, fault: 'User', body: 'message' },
  CodeSigningConfigNotFoundException: { status: 404, fault: 'User', body: 'Message' },
  CodeVerificationFailedException: { status: 400, fault: 'User', body: 'Message' },
  InvalidCodeSignatureException: { status: 400, fault: 'User', body: 'Message' },
  TooManyRequestsException: { status: 429, fault: 'User', body: 'message' },
  UnsupportedMediaTypeException: { status: 415, fault: 'User', body: 'message' },
  CodeStorageExceededException: { status: 400, fault: 'User', body: 'message' },
  UnknownOperationException: { status: 404, fault: 'User', body: 'Message' },
  // A caller that may not call the operation (an execution environment on Kumo's API, src/api/callers.ts).
  AccessDeniedException: { status: 403, fault: 'User', body: 'Message', query: 'AccessDenied' },
  ServiceException: { status: 500, fault: 'Service', body: 'Message' },
  ResourceNotReadyException: { status: 502, fault: 'Service', body: 'message' },
  InvalidRuntimeException: { status: 502, fault: 'Service', body: 'Message' },
  InvalidZipFileException: { status: 502, fault: 'Service', body: 'Message' },
  // The SQS-compatible queue service. The key is the JSON protocol's type (`__type`
  // `com.amazonaws.sqs#<key>`); `query` is the code of the query protocol and of the
  // `x-amzn-query-error` header, when it differs from the key.
  QueueDoesNotExist: { status: 400, fault: 'User', body: 'message', query: 'AWS.SimpleQueueService.NonExistentQueue' },
  QueueNameExists: { status: 400, fault: 'User', body: 'message', query: 'QueueAlreadyExists' },
  InvalidAttributeName: { status: 400, fault: 'User', body: 'message' },
  InvalidAttributeValue: { status: 400, fault: 'User', body: 'message' },
  InvalidParameterValue: { status: 400, fault: 'User', body: 'message' },
  MissingParameter: { status: 400, fault: 'User', body: 'message' },
  InvalidAction: { status: 400, fault: 'User', body: 'message' },
  InvalidMessageContents: { status: 400, fault: 'User', body: 'message' },
  ReceiptHandleIsInvalid: { status: 404, fault: 'User', body: 'message' },
  MessageNotInflight: { status: 400, fault: 'User', body: 'message', query: 'AWS.SimpleQueueService.MessageNotInflight' },
  TooManyEntriesInBatchRequest: {
    status: 400,
    fault: 'User',
    body: 'message',
    query: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  },
  BatchEntryIdsNotDistinct: { status: 400, fault: 'User', body: 'message', query: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' },
  EmptyBatchRequest: { status: 400, fault: 'User', body: 'message', query: 'AWS.SimpleQueueService.EmptyBatchRequest' },
  InvalidBatchEntryId: { status: 400, fault: 'User', body: 'message', query: 'AWS.SimpleQueueService.InvalidBatchEntryId' },
  BatchRequestTooLong: { status: 400, fault: 'User', body: 'message', query: 'AWS.SimpleQueueService.BatchRequestTooLong' },
  PurgeQueueInProgress: { status: 403, fault: 'User', body: 'message', query: 'AWS.SimpleQueueService.PurgeQueueInProgress' },
  OverLimit: { status: 403, fault: 'User', body: 'message' },
  UnsupportedOperation: { status: 400, fault: 'User', body: 'message', query: 'AWS.SimpleQueueService.UnsupportedOperation' },
} as const satisfies Record<
  string,
  { status: number; fault: 'User' | 'Service'; body: 'message' | 'Message' | 'message-only'; query?: string }
>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/**
 * A failure the API reports to its caller in Lambda's shape. `code` is the Lambda error type
 * (`X-Amzn-ErrorType`); status and fault come from the catalog.
 */
export class KumoError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fault: 'User' | 'Service';
  readonly bodyStyle: 'message' | 'Message' | 'message-only';
  /** Extra fields merged into the JSON error body (e.g. `Reason` for throttles). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { fields?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.fault = ERROR_CATALOG[code].fault;
    this.bodyStyle = ERROR_CATALOG[code].body;
    this.fields = options.fields ?? {};
    this.headers = options.headers ?? {};
  }
}

export function isKumoError(err: unknown): err is KumoError {
  return err instanceof KumoError;
}
