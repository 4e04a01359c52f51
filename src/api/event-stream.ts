import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';

/**
 * Messages of Amazon's event stream encoding (`application/vnd.amazon.eventstream`), as
 * InvokeWithResponseStream answers with them: each a prelude, headers and a payload framed with
 * CRCs. The framing is the codec's; this file only names Lambda's events.
 */
const codec = new EventStreamCodec(
  (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  (text: string) => Buffer.from(text, 'utf8'),
);

function event(type: string, contentType: string, body: Uint8Array): Buffer {
  const headers: MessageHeaders = {
    ':event-type': { type: 'string', value: type },
    ':message-type': { type: 'string', value: 'event' },
    ':content-type': { type: 'string', value: contentType },
  };
  const encoded = codec.encode({ headers, body });
  return Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/** `PayloadChunk`: a piece of the function's response (its `Payload` member is the event's payload). */
export function payloadChunk(data: Uint8Array): Buffer {
  return event('PayloadChunk', 'application/octet-stream', data);
}

export interface InvokeCompleteFields {
  ErrorCode?: string | undefined;
  ErrorDetails?: string | undefined;
  LogResult?: string | undefined;
}

/** `InvokeComplete`: the stream's last event, with the error, if any, and the log tail, if asked for. */
export function invokeComplete(fields: InvokeCompleteFields): Buffer {
  return event('InvokeComplete', 'application/json', Buffer.from(JSON.stringify(fields), 'utf8'));
}
