import { ERROR_CATALOG, KumoError, isKumoError } from '../errors/index.js';
import type { ApiResponse } from './http.js';

/** Lambda's REST-JSON, AWS JSON (CloudWatch Logs), and SQS's JSON and query (XML) protocols. */
export type ErrorProtocol = 'rest-json' | 'json' | 'sqs-json' | 'sqs-query';

/**
 * The one error mapper at the HTTP edge. Lambda's REST-JSON protocol puts the type in
 * `X-Amzn-ErrorType` and `{"Type":"User","message":...}` in the body (member case per exception);
 * the JSON protocol (CloudWatch Logs, SQS) uses `{"__type":..., "message":...}`. Anything that is not
 * a KumoError is a bug: it becomes a 500 ServiceException and is logged with its stack.
 */
export function errorResponse(err: unknown, protocol: ErrorProtocol, logUnexpected: (err: unknown) => void, requestId = ''): ApiResponse {
  const e = isKumoError(err) ? err : unexpected(err, logUnexpected);
  if (protocol === 'sqs-json' || protocol === 'sqs-query') return sqsError(e, protocol, requestId);
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

/**
 * SQS's errors. JSON: `{"__type":"com.amazonaws.sqs#<type>","message":..}` plus the
 * `x-amzn-query-error: <code>;Sender` header the SDKs use to recover the query-protocol code.
 * Query: an XML ErrorResponse. `Sender`/`Receiver` is SQS's spelling of User/Service.
 */
function sqsError(e: KumoError, protocol: 'sqs-json' | 'sqs-query', requestId: string): ApiResponse {
  const entry = ERROR_CATALOG[e.code];
  const code = 'query' in entry ? entry.query : e.code;
  const type = e.fault === 'User' ? 'Sender' : 'Receiver';
  if (protocol === 'sqs-json') {
    return {
      status: e.status,
      headers: { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${code};${type}`, ...e.headers },
      body: { __type: `com.amazonaws.sqs#${e.code}`, message: e.message },
    };
  }
  const xml =
    '<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">' +
    `<Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(e.message)}</Message><Detail/></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: e.status, headers: { 'Content-Type': 'text/xml', ...e.headers }, body: Buffer.from(xml) };
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) => XML_ENTITIES[c] ?? c);
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#xD;' };
