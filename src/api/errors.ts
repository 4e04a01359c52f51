import { KumoError, isKumoError } from '../errors/index.js';
import type { ApiResponse } from './http.js';

export type ErrorProtocol = 'rest-json' | 'json';

/**
 * The one error mapper at the HTTP edge. Lambda's REST-JSON protocol puts the type in
 * `X-Amzn-ErrorType` and `{"Type":"User","message":...}` in the body (member case per exception);
 * the JSON protocol (CloudWatch Logs, SQS) uses `{"__type":..., "message":...}`. Anything that is not
 * a KumoError is a bug: it becomes a 500 ServiceException and is logged with its stack.
 */
export function errorResponse(err: unknown, protocol: ErrorProtocol, logUnexpected: (err: unknown) => void): ApiResponse {
  const e = isKumoError(err) ? err : unexpected(err, logUnexpected);
  const headers: Record<string, string> = { 'X-Amzn-ErrorType': e.code, ...e.headers };
  if (protocol === 'json') {
    return { status: e.status, headers, body: { __type: e.code, message: e.message, ...e.fields } };
  }
  const body =
    e.bodyStyle === 'message-only'
      ? { message: e.message }
      : e.bodyStyle === 'Message'
        ? { Type: e.fault, Message: e.message, ...e.fields }
        : { Type: e.fault, message: e.message, ...e.fields };
  return { status: e.status, headers, body };
}

function unexpected(err: unknown, log: (err: unknown) => void): KumoError {
  log(err);
  return new KumoError('ServiceException', 'An internal error occurred in Kumo. The server log has the details.');
}
