// @ts-check
/**
 * The client side of Lambda's Runtime API (2018-06-01), over one keep-alive socket.
 *
 * This is the invoke hot path. Per invocation it makes exactly two requests (GET next, POST
 * response|error) on the same connection, through the small HTTP/1.1 client in http-wire.mjs
 * rather than node:http (which cost ~290 µs of CPU per invocation): the GET is one prebuilt
 * string, a POST is built as one string (or Buffer) and written at once, the response's headers
 * are handed to the caller lower-cased (as Node would) and the event body is decoded once.
 *
 * Results are reported through callbacks, like the RIC: a POST calls back once the Runtime API has
 * answered, so the next GET never races the previous result. A transport failure (the Runtime API
 * went away) is fatal for the environment and goes to `onTransportError`.
 *
 * The socket is ref'd only while a request is outstanding: between a response and the next
 * request (that is, while a handler runs) it keeps nothing alive, so `beforeExit` fires when the
 * handler's own work is done.
 */

import { HttpConnection } from './http-wire.mjs';
import { toRapidResponse } from './errors.mjs';

/** @typedef {import('./errors.mjs').RapidError} RapidError */

/**
 * One event from `GET /runtime/invocation/next`.
 * @typedef {object} NextInvocation
 * @property {import('node:http').IncomingHttpHeaders} headers lower-cased: `lambda-runtime-aws-request-id`, ...
 * @property {string} body the event, as JSON text
 */

const NEXT_PATH = '/2018-06-01/runtime/invocation/next';
const INVOCATION_PATH = '/2018-06-01/runtime/invocation/';
const INIT_ERROR_PATH = '/2018-06-01/runtime/init/error';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
/** Characters a header value may not hold (Node's rule; CR/LF would split the head): an odd `error.name` must not break the POST. */
const INVALID_HEADER_CHARS = /[^\t\x20-\x7e\x80-\xff]/g;
const NON_ASCII = /[^\x00-\x7f]/;
/** Bodies up to this size go out as one string with their head; larger ones as one Buffer. */
const STRING_WRITE_MAX = 16 * 1024;

export class RuntimeClient {
  /** @type {string} */
  #hostname;
  /** @type {number} */
  #port;
  /** The keep-alive connection for next/response/error. */
  /** @type {HttpConnection} */
  #conn;
  /** @type {string} */
  #nextRequest;
  /** What follows "POST <path> " in every POST head, up to the per-request headers. */
  /** @type {string} */
  #postHead;
  /** @type {(err: Error) => void} */
  #onTransportError;
  /** @type {string} */
  #hostPort;

  /**
   * @param {string} hostPort AWS_LAMBDA_RUNTIME_API, e.g. "127.0.0.1:9001"
   * @param {(err: Error) => void} onTransportError
   */
  constructor(hostPort, onTransportError) {
    const colon = hostPort.lastIndexOf(':');
    const hostname = colon === -1 ? hostPort : hostPort.slice(0, colon);
    // "[::1]:9001": connect to ::1, keep the brackets in the Host header.
    this.#hostname = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    this.#port = colon === -1 ? 80 : Number(hostPort.slice(colon + 1));
    this.#onTransportError = onTransportError;
    this.#hostPort = hostPort;
    this.#conn = new HttpConnection(this.#hostname, this.#port, true);
    this.#nextRequest = `GET ${NEXT_PATH} HTTP/1.1\r\nHost: ${hostPort}\r\n\r\n`;
    this.#postHead = `HTTP/1.1\r\nHost: ${hostPort}\r\nContent-Type: application/json\r\n`;
  }

  /**
   * Connects now (resolves once connected, or failed: never rejects), so that Kumo's check of the
   * new connection (docs/sandbox.md) is not on the way of the first request.
   * @returns {Promise<void>}
   */
  preconnect() {
    return this.#conn.open();
  }

  /** The Runtime API this client talks to (AWS_LAMBDA_RUNTIME_API). */
  get hostPort() {
    return this.#hostPort;
  }

  /**
   * Where transport failures go from now on (a client made by a stem cell, before its runtime).
   * @param {(err: Error) => void} onTransportError
   */
  setTransportErrorHandler(onTransportError) {
    this.#onTransportError = onTransportError;
  }

  /**
   * Long-polls for the next invocation.
   * @param {(inv: NextInvocation) => void} onInvocation
   */
  next(onInvocation) {
    this.#conn.request(this.#next(onInvocation));
  }

  /**
   * @param {(inv: NextInvocation) => void} onInvocation
   * @returns {import('./http-wire.mjs').WireRequest}
   */
  #next(onInvocation) {
    return {
      data: this.#nextRequest,
      wantBody: true,
      onResponse: (status, headers, body) => {
        if (status !== 200) {
          this.#onTransportError(new Error(`Failed to get next invocation, status ${status}`));
          return;
        }
        onInvocation({ headers, body });
      },
      onError: this.#onTransportError,
    };
  }

  /**
   * Posts the invocation's response and, in the same write, asks for the next event (HTTP
   * pipelining): the hot path's one write per invocation. Throws synchronously, before anything
   * is sent, when `result` cannot be serialized.
   * @param {unknown} result
   * @param {string} requestId
   * @param {(inv: NextInvocation) => void} onInvocation
   */
  postResponseThenNext(result, requestId, onInvocation) {
    const body = serialize(result === undefined ? null : result);
    this.#conn.pipeline(this.#post(INVOCATION_PATH + encodeURIComponent(requestId) + '/response', body, undefined, NO_OP), this.#next(onInvocation));
  }

  /**
   * Posts the invocation's error and asks for the next event, in one write.
   * @param {unknown} error any thrown value
   * @param {string} requestId
   * @param {(inv: NextInvocation) => void} onInvocation
   */
  postErrorThenNext(error, requestId, onInvocation) {
    const [body, errorType] = errorBody(toRapidResponse(error));
    this.#conn.pipeline(this.#post(INVOCATION_PATH + encodeURIComponent(requestId) + '/error', body, errorType, NO_OP), this.#next(onInvocation));
  }

  /**
   * Serializes `result` (undefined becomes `null`) and POSTs it as the invocation's response.
   * Throws synchronously, before anything is sent, when `result` cannot be serialized.
   * @param {unknown} result
   * @param {string} requestId
   * @param {() => void} done
   */
  postInvocationResponse(result, requestId, done) {
    const body = serialize(result === undefined ? null : result);
    this.#conn.request(this.#post(INVOCATION_PATH + encodeURIComponent(requestId) + '/response', body, undefined, done));
  }

  /**
   * @param {unknown} error any thrown value
   * @param {string} requestId
   * @param {() => void} done
   */
  postInvocationError(error, requestId, done) {
    this.#postError(INVOCATION_PATH + encodeURIComponent(requestId) + '/error', toRapidResponse(error), done);
  }

  /**
   * The error that ends the environment (uncaught exception, unhandled rejection). Sent on a
   * connection of its own, since the shared one may be parked in a long-poll GET; `done` runs once
   * it is delivered or could not be.
   * @param {unknown} error
   * @param {string} requestId
   * @param {() => void} done
   */
  postFatalInvocationError(error, requestId, done) {
    this.#postError(INVOCATION_PATH + encodeURIComponent(requestId) + '/error', toRapidResponse(error), done, true);
  }

  /**
   * Reports a failed init; `done` runs once it is delivered or could not be.
   * @param {unknown} error
   * @param {() => void} done
   */
  postInitError(error, done) {
    this.#postError(INIT_ERROR_PATH, toRapidResponse(error), done, true);
  }

  /**
   * @param {string} path
   * @param {RapidError} response
   * @param {() => void} done
   * @param {boolean} [last] the environment ends after this: own connection, errors go to `done`
   */
  #postError(path, response, done, last = false) {
    const [body, errorType] = errorBody(response);
    const req = this.#post(path, body, errorType, done, last);
    if (last) new HttpConnection(this.#hostname, this.#port, false).request(req);
    else this.#conn.request(req);
  }

  /**
   * @param {string} path
   * @param {string} body JSON text
   * @param {string | undefined} errorType
   * @param {() => void} done
   * @param {boolean} [last] for a connection of its own, closed after it: errors go to `done` too
   * @returns {import('./http-wire.mjs').WireRequest}
   */
  #post(path, body, errorType, done, last = false) {
    const length = Buffer.byteLength(body, 'utf8');
    let head = 'POST ' + path + ' ' + this.#postHead;
    if (errorType !== undefined) head += ERROR_TYPE_HEADER + ': ' + errorType + '\r\n';
    if (last) head += 'Connection: close\r\n';
    head += 'Content-Length: ' + length + '\r\n\r\n';
    /** @type {string | Buffer} */
    let data;
    if (length <= STRING_WRITE_MAX && (errorType === undefined || !NON_ASCII.test(errorType))) {
      data = head + body; // all-ASCII head: one UTF-8 string is the same bytes
    } else {
      // Header values are latin1 on the wire (as Node writes them); one buffer, one write.
      const headLength = Buffer.byteLength(head, 'latin1');
      data = Buffer.allocUnsafe(headLength + length);
      data.write(head, 0, 'latin1');
      data.write(body, headLength, 'utf8');
    }
    // 202 normally. A 4xx (unknown request id, payload over 6 MiB) is the platform's to report;
    // the runtime carries on to the next invocation, as the RIC does.
    const onAnswered = () => done();
    return { data, wantBody: false, onResponse: onAnswered, onError: last ? onAnswered : this.#onTransportError };
  }
}

const NO_OP = () => {};

/**
 * The error document as JSON, and its type as a header value.
 * @param {RapidError} response
 * @returns {[string, string]}
 */
function errorBody(response) {
  let body;
  try {
    body = JSON.stringify(response);
  } catch {
    // Only reachable with exotic values in name/message (e.g. a BigInt); keep the type.
    body = JSON.stringify({ errorType: String(response.errorType), errorMessage: 'Unable to stringify error', trace: [] });
  }
  return [body, String(response.errorType).replace(INVALID_HEADER_CHARS, '')];
}

/**
 * @param {unknown} value
 * @returns {string}
 */
function serialize(value) {
  /** @type {string | undefined} */
  let json;
  try {
    json = JSON.stringify(value);
  } catch {
    throw new Error('Unable to stringify response body');
  }
  // A function or a symbol has no JSON form; send null rather than an empty body.
  return json === undefined ? 'null' : json;
}
