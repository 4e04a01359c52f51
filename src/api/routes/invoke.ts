import { Readable } from 'node:stream';
import { MAX_INVOKE_ASYNC_PAYLOAD, type AsyncService } from '../../async/index.js';
import { KumoError, invalidParameter } from '../../errors/index.js';
import { MAX_SYNC_PAYLOAD, type FunctionService, type InvokeInput, type ResponseStream } from '../../functions/index.js';
import { invokeComplete, payloadChunk } from '../event-stream.js';
import { header, type ApiRequest, type ApiResponse, type Route } from '../http.js';

const TAIL_BYTES = 4096;

/**
 * Invoke: the hot path. Headers in and out follow Lambda's Invoke exactly. InvocationType Event
 * (and the legacy InvokeAsync) answers 202 only once the event is on disk.
 */
export function invokeRoutes(functions: FunctionService, events: AsyncService): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/2015-03-31/functions/{FunctionName}/invocations',
      fromEnvironments: true,
      maxBody: MAX_SYNC_PAYLOAD,
      tooLarge: payloadTooLarge(MAX_SYNC_PAYLOAD, 'InvokeFunction'),
      handler: async (req): Promise<ApiResponse> => {
        const invocationType = invocationTypeOf(header(req, 'x-amz-invocation-type'));
        const logType = logTypeOf(req);
        if (invocationType === 'Event') {
          await events.accept({
            functionName: req.params.FunctionName ?? '',
            qualifier: req.query.get('Qualifier') ?? undefined,
            payload: req.body,
            requestId: req.requestId,
            operation: 'Invoke',
          });
          return { status: 202 };
        }
        const result = await functions.invoke({
          ...syncInput(req),
          invocationType,
          wantTail: logType === 'Tail' && invocationType === 'RequestResponse',
        });
        const outcome = result.outcome;
        if (!outcome) return { status: 204, headers: { 'X-Amz-Executed-Version': result.executedVersion } };
        const headers: Record<string, string> = {
          'Content-Type': 'application/json',
          'X-Amz-Executed-Version': result.executedVersion,
        };
        if (outcome.functionError) headers['X-Amz-Function-Error'] = outcome.functionError;
        if (outcome.logLines) headers['X-Amz-Log-Result'] = tail(outcome.logLines);
        return { status: 200, headers, body: outcome.payload };
      },
    },
    {
      // InvokeWithResponseStream: the response as an event stream of PayloadChunk events, sent as
      // the function writes them, then one InvokeComplete.
      method: 'POST',
      pattern: '/2021-11-15/functions/{FunctionName}/response-streaming-invocations',
      fromEnvironments: true,
      maxBody: MAX_SYNC_PAYLOAD,
      tooLarge: payloadTooLarge(MAX_SYNC_PAYLOAD, 'InvokeWithResponseStream'),
      handler: async (req): Promise<ApiResponse> => {
        const invocationType = streamInvocationTypeOf(header(req, 'x-amz-invocation-type'));
        const wantTail = logTypeOf(req) === 'Tail' && invocationType === 'RequestResponse';
        const result = await functions.invokeStream({ ...syncInput(req), invocationType, wantTail });
        const response = result.response;
        if (!response) return { status: 204, headers: { 'X-Amz-Executed-Version': result.executedVersion } };
        return {
          status: 200,
          // Lambda passes the function's Content-Type on (the SDKs' ResponseStreamContentType).
          headers: { 'Content-Type': response.contentType, 'X-Amz-Executed-Version': result.executedVersion },
          stream: Readable.from(eventStream(response, wantTail), { objectMode: false }),
        };
      },
    },
    {
      method: 'POST',
      pattern: '/2014-11-13/functions/{FunctionName}/invoke-async',
      fromEnvironments: true,
      maxBody: MAX_INVOKE_ASYNC_PAYLOAD,
      tooLarge: payloadTooLarge(MAX_INVOKE_ASYNC_PAYLOAD, 'InvokeAsync'),
      handler: async (req): Promise<ApiResponse> => {
        await events.accept({
          functionName: req.params.FunctionName ?? '',
          qualifier: undefined,
          payload: req.body,
          requestId: req.requestId,
          operation: 'InvokeAsync',
        });
        return { status: 202, body: { Status: 202 } };
      },
    },
  ];
}

function payloadTooLarge(limit: number, operation: string): () => KumoError {
  return () =>
    new KumoError('RequestEntityTooLargeException', `Request must be smaller than ${limit} bytes for the ${operation} operation`);
}

/** What Invoke and InvokeWithResponseStream read alike from a request. */
function syncInput(req: ApiRequest): Omit<InvokeInput, 'invocationType' | 'wantTail'> {
  return {
    functionName: req.params.FunctionName ?? '',
    qualifier: req.query.get('Qualifier') ?? undefined,
    payload: req.body,
    clientContext: clientContext(header(req, 'x-amz-client-context')),
    requestId: req.requestId,
  };
}

/** The event stream of a streamed invocation: its chunks as they come, then how it ended. */
async function* eventStream(response: ResponseStream, wantTail: boolean): AsyncGenerator<Buffer> {
  for await (const chunk of response.body as AsyncIterable<Buffer>) yield payloadChunk(chunk);
  const { error, logLines } = await response.completion;
  yield invokeComplete({
    ErrorCode: error?.type,
    ErrorDetails: error?.message,
    LogResult: wantTail && logLines ? tail(logLines) : undefined,
  });
}

function logTypeOf(req: ApiRequest): 'None' | 'Tail' {
  const logType = header(req, 'x-amz-log-type') ?? 'None';
  if (logType !== 'None' && logType !== 'Tail') {
    throw new KumoError(
      'ValidationException',
      `1 validation error detected: Value '${logType}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]`,
    );
  }
  return logType;
}

function streamInvocationTypeOf(value: string | undefined): 'RequestResponse' | 'DryRun' {
  if (value === undefined || value === 'RequestResponse' || value === 'DryRun') return value ?? 'RequestResponse';
  throw new KumoError(
    'ValidationException',
    `1 validation error detected: Value '${value}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [RequestResponse, DryRun]`,
  );
}

function invocationTypeOf(value: string | undefined): InvokeInput['invocationType'] {
  if (value === undefined || value === 'RequestResponse') return 'RequestResponse';
  if (value === 'Event' || value === 'DryRun') return value;
  throw invalidParameter(
    `1 validation error detected: Value '${value}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
  );
}

/** `X-Amz-Client-Context` is base64 (up to 3,583 bytes); runtimes receive the JSON it encodes. */
function clientContext(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length > 3583) {
    throw new KumoError(
      'ValidationException',
      `1 validation error detected: Value '${value}' at 'clientContext' failed to satisfy constraint: Member must have length less than or equal to 3583`,
    );
  }
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  try {
    JSON.parse(decoded);
  } catch {
    throw new KumoError('InvalidRequestContentException', 'Client context must be a valid Base64-encoded JSON object.');
  }
  return decoded;
}

/** The last 4 KB of the invocation's log, base64-encoded, as `X-Amz-Log-Result` carries it. */
function tail(lines: string[]): string {
  const text = Buffer.from(lines.join('\n') + '\n', 'utf8');
  return (text.length > TAIL_BYTES ? text.subarray(text.length - TAIL_BYTES) : text).toString('base64');
}
