/** Why an event left the queue, as the invocation record's `requestContext.condition` says. */
export type Condition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded' | 'ZeroReservedConcurrency';

/** What the last attempt answered (kept with the event between attempts). */
export interface ResponseSummary {
  statusCode: number;
  functionError: string | undefined;
  /** The response payload as the function returned it (UTF-8). */
  payload: string;
}

export interface InvocationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: Condition; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext?: { statusCode: number; executedVersion: string; functionError?: string };
  responsePayload?: unknown;
}

/**
 * Lambda's invocation record, sent to OnSuccess / OnFailure destinations. Events that never ran
 * (throttled until they aged out, or a function with reserved concurrency 0) have no response.
 */
export function invocationRecord(input: {
  now: number;
  requestId: string;
  functionArn: string;
  condition: Condition;
  invokeCount: number;
  payload: Buffer;
  executedVersion: string;
  response: ResponseSummary | undefined;
}): InvocationRecord {
  const record: InvocationRecord = {
    version: '1.0',
    timestamp: new Date(input.now).toISOString(),
    requestContext: {
      requestId: input.requestId,
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.invokeCount,
    },
    requestPayload: parseLoose(input.payload.toString('utf8')),
  };
  if (input.response) {
    record.responseContext = { statusCode: input.response.statusCode, executedVersion: input.executedVersion };
    if (input.response.functionError) record.responseContext.functionError = input.response.functionError;
    record.responsePayload = parseLoose(input.response.payload);
  }
  return record;
}

/** JSON when it parses, the text itself otherwise (a function may answer with anything). */
function parseLoose(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The DLQ's `ErrorMessage` attribute: the error's message, truncated to 1 KB. */
export function errorMessageOf(response: ResponseSummary | undefined, fallback: string): string {
  let message = fallback;
  if (response) {
    const parsed = parseLoose(response.payload);
    message =
      parsed !== null && typeof parsed === 'object' && 'errorMessage' in parsed && typeof parsed.errorMessage === 'string'
        ? parsed.errorMessage
        : response.payload;
  }
  const bytes = Buffer.from(message, 'utf8');
  return bytes.length <= 1024 ? message : bytes.subarray(0, 1024).toString('utf8');
}
