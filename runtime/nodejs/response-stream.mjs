// @ts-check
/**
 * The `responseStream` a streaming handler writes to: a Writable whose bytes go to the Runtime
 * API as the body of `POST /invocation/{id}/response` with `Lambda-Runtime-Function-Response-Mode:
 * streaming` and chunked transfer coding, as they are written. Loaded only for streaming handlers
 * (it costs node:http), so the buffered hot path is untouched.
 *
 * As in Lambda's runtime:
 *  - the POST starts with the first write (or the end), so `setContentType` (default
 *    `application/octet-stream`) may be called until then and throws after;
 *  - a chunk that is neither a string nor bytes is written as its JSON text;
 *  - `_onBeforeFirstWrite` (set by HttpResponseStream.from) writes the prelude ahead of the first chunk;
 *  - a failure ends the POST with the trailers `Lambda-Runtime-Function-Error-Type` and
 *    `Lambda-Runtime-Function-Error-Body` (the error document, base64), after what was written.
 *
 * The POST goes on a connection of its own (closed after it), while the runtime's keep-alive
 * connection stays free for the next `GET /next`.
 */

import http from 'node:http';
import { Writable } from 'node:stream';
import { InvalidStreamingOperation, toRapidResponse } from './errors.mjs';

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const ERROR_TYPE_TRAILER = 'Lambda-Runtime-Function-Error-Type';
const ERROR_BODY_TRAILER = 'Lambda-Runtime-Function-Error-Body';
/**
 * One kept-alive connection for streamed responses: the Runtime API serves a connection only once it
 * has checked who opened it, so a new one per invocation would pay that check every time. Idle, its
 * socket does not keep the process alive.
 */
const STREAM_AGENT = new http.Agent({ keepAlive: true, maxSockets: 1 });
/** Characters a header value may not hold (Node's rule): an odd `error.name` must not break the trailer. */
const INVALID_HEADER_CHARS = /[^\t\x20-\x7e\x80-\xff]/g;

/**
 * @typedef {object} ResponseStreamOptions
 * @property {string} hostPort AWS_LAMBDA_RUNTIME_API
 * @property {string} requestId
 * @property {number | undefined} highWaterMark
 */

export class ResponseStream extends Writable {
  /** @type {ResponseStreamOptions} */
  #options;
  #contentType = DEFAULT_CONTENT_TYPE;
  /** write() was called: too late for setContentType. */
  #writeCalled = false;
  /** @type {http.ClientRequest | null} */
  #request = null;
  /** @type {Record<string, string> | null} */
  #errorTrailers = null;
  /** Settles once the Runtime API has answered the POST (or could not be reached). */
  /** @type {Promise<void>} */
  answered;
  /** @type {() => void} */
  #onAnswered = () => {};
  /**
   * Set by HttpResponseStream.from: called once, before the first chunk, with a write function.
   * @type {((write: (chunk: string | Uint8Array) => void) => void) | undefined}
   */
  _onBeforeFirstWrite = undefined;

  /** @param {ResponseStreamOptions} options */
  constructor(options) {
    super(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark });
    this.#options = options;
    this.answered = new Promise((resolve) => (this.#onAnswered = resolve));
  }

  /** @param {string} contentType */
  setContentType(contentType) {
    if (this.#writeCalled) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    this.#contentType = contentType;
  }

  /**
   * @param {unknown} chunk
   * @param {BufferEncoding | ((err?: Error | null) => void)} [encoding]
   * @param {(err?: Error | null) => void} [callback]
   * @returns {boolean}
   * @override
   */
  write(chunk, encoding, callback) {
    const data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    if (!this.#writeCalled) {
      this.#writeCalled = true;
      const before = this._onBeforeFirstWrite;
      if (typeof before === 'function') before((ch) => super.write(ch));
    }
    // @ts-expect-error Writable#write's overloads do not survive forwarding the optional arguments
    return super.write(data, encoding, callback);
  }

  /**
   * @param {unknown} [chunk]
   * @param {BufferEncoding | (() => void)} [encoding]
   * @param {() => void} [callback]
   * @returns {this}
   * @override
   */
  end(chunk, encoding, callback) {
    if (typeof chunk === 'function') return super.end(/** @type {() => void} */ (chunk));
    if (chunk !== undefined && chunk !== null) {
      if (typeof encoding === 'function') this.write(chunk);
      else this.write(chunk, encoding);
    }
    return super.end(typeof encoding === 'function' ? encoding : callback);
  }

  /**
   * Ends the response with error trailers after what was written (the handler failed). Returns once
   * the Runtime API has the end, or at once when the response already ended.
   * @param {unknown} err
   * @returns {Promise<void>}
   */
  fail(err) {
    this.#setError(err);
    if (this.writableFinished) return this.answered; // it all went out already: too late
    if (this.destroyed) this.#finishRequest();
    else if (!this.writableEnded) super.end(); // _final adds the trailers after what was written
    return this.answered;
  }

  /** @param {unknown} err */
  #setError(err) {
    const error = toRapidResponse(err);
    this.#errorTrailers = {
      [ERROR_TYPE_TRAILER]: String(error.errorType).replace(INVALID_HEADER_CHARS, ''),
      [ERROR_BODY_TRAILER]: Buffer.from(JSON.stringify(error)).toString('base64'),
    };
  }

  /**
   * @param {Buffer} chunk
   * @param {BufferEncoding} _encoding
   * @param {(err?: Error | null) => void} callback
   * @override
   */
  _write(chunk, _encoding, callback) {
    this.#open().write(chunk, callback);
  }

  /**
   * @param {(err?: Error | null) => void} callback
   * @override
   */
  _final(callback) {
    this.#finishRequest();
    callback();
  }

  /**
   * Destroyed by the handler before its end: the response ends there, as a failure.
   * @param {Error | null} err
   * @param {(err?: Error | null) => void} callback
   * @override
   */
  _destroy(err, callback) {
    if (!this.writableFinished) {
      if (this.#errorTrailers === null) this.#setError(err ?? new Error('Response stream destroyed before its end.'));
      this.#finishRequest();
    }
    callback(err);
  }

  #finishRequest() {
    const request = this.#open();
    if (request.writableEnded) return;
    if (this.#errorTrailers !== null) request.addTrailers(this.#errorTrailers);
    request.end();
  }

  /** The POST, started on first use. */
  #open() {
    if (this.#request !== null) return this.#request;
    const { hostPort, requestId } = this.#options;
    const colon = hostPort.lastIndexOf(':');
    const host = colon === -1 ? hostPort : hostPort.slice(0, colon);
    const request = http.request({
      host: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host,
      port: colon === -1 ? 80 : Number(hostPort.slice(colon + 1)),
      method: 'POST',
      path: `/2018-06-01/runtime/invocation/${encodeURIComponent(requestId)}/response`,
      agent: STREAM_AGENT,
      headers: {
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: `${ERROR_TYPE_TRAILER}, ${ERROR_BODY_TRAILER}`,
        'Content-Type': this.#contentType,
      },
    });
    request.on('response', (res) => {
      res.resume();
      res.once('end', this.#onAnswered);
      res.once('error', this.#onAnswered);
    });
    // The Runtime API went away: the host ends the invocation (and the environment) its own way.
    request.on('error', this.#onAnswered);
    this.#request = request;
    return request;
  }
}
