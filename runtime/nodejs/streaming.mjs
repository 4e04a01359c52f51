// @ts-check
/**
 * Response streaming, the part user code sees: the `awslambda` global that Lambda's Node.js
 * runtime installs before it loads the handler (unless AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA is
 * "1" or "true"):
 *
 *  - `awslambda.streamifyResponse(handler, options?)` marks an async `(event, responseStream,
 *    context)` handler as streaming (Symbol.for('aws.lambda.runtime.handler.streaming') =
 *    'response'; `options.highWaterMark` sizes the stream's buffer) and returns it;
 *  - `awslambda.HttpResponseStream.from(responseStream, prelude)` sets the Content-Type
 *    `application/vnd.awslambda.http-integration-response` and makes the stream's first write be
 *    preceded by `JSON.stringify(prelude)` and 8 NUL bytes (the function URL prelude).
 *
 * The stream itself (a Writable posting to the Runtime API) is in response-stream.mjs, loaded only
 * for streaming handlers.
 */

import { MalformedStreamingHandler } from './errors.mjs';

export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
export const HANDLER_HIGH_WATER_MARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const PRELUDE_DELIMITER_LENGTH = 8;

/**
 * What a response stream offers HttpResponseStream.from.
 * @typedef {object} PreludeTarget
 * @property {(contentType: string) => void} setContentType
 * @property {((write: (chunk: string | Uint8Array) => void) => void) | undefined} _onBeforeFirstWrite
 */

export class HttpResponseStream {
  /**
   * @template {PreludeTarget} S
   * @param {S} underlyingStream
   * @param {unknown} prelude `{ statusCode, headers, cookies }`
   * @returns {S}
   */
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    // JSON text never holds a NUL byte, so the delimiter cannot occur inside the prelude.
    const metadata = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(PRELUDE_DELIMITER_LENGTH));
    };
    return underlyingStream;
  }
}

/**
 * Installs `globalThis.awslambda`, as the RIC does before loading the handler.
 * @param {NodeJS.ProcessEnv} env
 */
export function installAwsLambdaGlobal(env) {
  const opt = env['AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA'];
  if (opt === '1' || opt === 'true') return;
  /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (globalThis))['awslambda'] = {
    /**
     * @param {Function & Record<symbol, unknown>} handler
     * @param {{ highWaterMark?: unknown }} [options]
     */
    streamifyResponse: (handler, options) => {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') handler[HANDLER_HIGH_WATER_MARK] = Math.trunc(options.highWaterMark);
      return handler;
    },
    HttpResponseStream,
  };
}

/**
 * Whether a handler streams its response, and its stream's highWaterMark. Any other mark than
 * 'response' is an init error, as on Lambda.
 * @param {Function & Record<symbol, unknown>} handler
 * @returns {{ highWaterMark: number | undefined } | undefined}
 */
export function streamingOf(handler) {
  const mark = handler[HANDLER_STREAMING];
  if (mark === undefined || mark === null || mark === false) return undefined;
  if (mark !== STREAM_RESPONSE) throw new MalformedStreamingHandler('Only response streaming is supported.');
  const hwm = Number.parseInt(String(handler[HANDLER_HIGH_WATER_MARK]), 10);
  return { highWaterMark: Number.isNaN(hwm) ? undefined : hwm };
}
