import { KumoError, invalidParameter, validationError } from '../errors/index.js';
import { isQueueArn } from '../functions/index.js';
import type { EventInvokeConfigRecord } from '../store/index.js';
import { serviceOf } from './destinations.js';

/** The settings of Put/UpdateFunctionEventInvokeConfig, shape-checked at the API edge. */
export interface EventInvokeConfigInput {
  MaximumRetryAttempts?: number | undefined;
  MaximumEventAgeInSeconds?: number | undefined;
  DestinationConfig?:
    | { OnSuccess?: { Destination?: string | undefined } | undefined; OnFailure?: { Destination?: string | undefined } | undefined }
    | undefined;
}

const DESTINATION_PATTERN = '^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)';
const DESTINATION_RE = new RegExp(DESTINATION_PATTERN);
const FUNCTION_ARN_RE =
  /^arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d:\d{12}:function:([a-zA-Z0-9-_]{1,64})(?::(\$LATEST|[a-zA-Z0-9-_]+))?$/;
/** Destinations Lambda takes that Kumo cannot deliver to yet, by ARN service. */
const NOT_YET: Record<string, string> = { sns: 'SNS topics', events: 'EventBridge event buses', s3: 'S3 buckets' };

/** Range checks as Lambda's model does them (ValidationException, AWS's wording). */
export function checkRanges(input: EventInvokeConfigInput): void {
  const retry = input.MaximumRetryAttempts;
  if (retry !== undefined) {
    if (!Number.isInteger(retry)) throw validationError('maximumRetryAttempts', retry, 'Member must be an integer');
    if (retry < 0) throw validationError('maximumRetryAttempts', retry, 'Member must have value greater than or equal to 0');
    if (retry > 2) throw validationError('maximumRetryAttempts', retry, 'Member must have value less than or equal to 2');
  }
  const age = input.MaximumEventAgeInSeconds;
  if (age !== undefined) {
    if (!Number.isInteger(age)) throw validationError('maximumEventAgeInSeconds', age, 'Member must be an integer');
    if (age < 60) throw validationError('maximumEventAgeInSeconds', age, 'Member must have value greater than or equal to 60');
    if (age > 21600) throw validationError('maximumEventAgeInSeconds', age, 'Member must have value less than or equal to 21600');
  }
  for (const [field, arn] of [
    ['onSuccess', input.DestinationConfig?.OnSuccess?.Destination],
    ['onFailure', input.DestinationConfig?.OnFailure?.Destination],
  ] as const) {
    if (arn === undefined) continue;
    if (arn.length > 350)
      throw validationError(`destinationConfig.${field}.destination`, arn, 'Member must have length less than or equal to 350');
    if (!DESTINATION_RE.test(arn)) {
      throw validationError(
        `destinationConfig.${field}.destination`,
        arn,
        `Member must satisfy regular expression pattern: ${DESTINATION_PATTERN}`,
      );
    }
  }
}

/**
 * Checks destinations as Lambda does: a function must exist and not be the function itself; a
 * queue ARN must be a queue's. Topics, event buses and buckets are refused with a clear message
 * until Kumo has them (accepting them would drop records silently).
 */
export async function checkDestinations(
  functionName: string,
  success: string | undefined,
  failure: string | undefined,
  functionExists: (name: string) => Promise<boolean>,
): Promise<void> {
  let invalid = false;
  for (const arn of [success, failure]) {
    if (arn === undefined || arn === '') continue;
    const service = serviceOf(arn);
    if (service === 'lambda') {
      const m = FUNCTION_ARN_RE.exec(arn);
      if (!m?.[1] || !(await functionExists(m[1]))) throw invalidParameter(`The destination ARN ${arn} is invalid.`);
      if (m[1] === functionName) throw invalidParameter("You can't specify the function as a destination for itself.");
    } else if (service === 'sqs') {
      // Lambda refuses FIFO queues as destinations (400 InvalidParameterValueException).
      if (!isQueueArn(arn) || arn.endsWith('.fifo')) invalid = true;
    } else if (NOT_YET[service]) {
      throw invalidParameter(
        `Kumo cannot deliver to ${NOT_YET[service]} yet; use a Lambda function or an SQS queue ARN as the destination: ${arn}`,
      );
    } else invalid = true;
  }
  if (invalid) {
    const part = (name: string, arn: string | undefined) => (arn ? `${name}(destination=${arn})` : 'null');
    throw invalidParameter(
      `The provided destination config DestinationConfig(onSuccess=${part('OnSuccess', success)}, onFailure=${part('OnFailure', failure)}) is invalid.`,
    );
  }
}

/** A FunctionEventInvokeConfig document as Lambda returns it. */
export function toEventInvokeConfigView(record: EventInvokeConfigRecord, functionArn: string): Record<string, unknown> {
  const out: Record<string, unknown> = { LastModified: record.lastModified / 1000, FunctionArn: functionArn };
  if (record.maximumRetryAttempts !== undefined) out.MaximumRetryAttempts = record.maximumRetryAttempts;
  if (record.maximumEventAgeInSeconds !== undefined) out.MaximumEventAgeInSeconds = record.maximumEventAgeInSeconds;
  out.DestinationConfig = {
    OnSuccess: record.onSuccess ? { Destination: record.onSuccess } : {},
    OnFailure: record.onFailure ? { Destination: record.onFailure } : {},
  };
  return out;
}

export function noEventInvokeConfig(functionArn: string): KumoError {
  return new KumoError('ResourceNotFoundException', `The function ${functionArn} doesn't have an EventInvokeConfig`);
}
