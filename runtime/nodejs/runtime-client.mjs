// @ts-check
/**
 * The client side of Lambda's Runtime API (2018-06-01), over node:http with one keep-alive socket.
 *
 * This is the invoke hot path. Per invocation it makes exactly two requests (GET next, POST
 * response|error) on the same connection, reuses the request options, hands Node's already
 * lower-cased header object to the caller untouched and decodes the event body once.
 *
 * Results are reported through callbacks, like the RIC: a POST calls back once the Runtime API has
 * answered, so the next GET never races the previous result. A transport failure (the Runtime API
 * went away) is fatal for the environment and goes to `onTransportError`.
 */

import http from 'node:http';
import { toRapidResponse } from './errors.mjs';

/** @typedef {import('./errors.mjs').RapidError} RapidError */

/**
 * One event from `GET /runtime/invocation/next`.
 * @typedef {object} NextInvocation
 * @property {http.IncomingHttpHeaders} headers lower-cased by Node: `lambda-runtime-aws-request-id`, ...
 * @property {string} body the event, as JSON text
 */

const NEXT_PATH = '/2018-06-01/runtime/invocation/next';
const INVOCATION_PATH = '/2018-06-01/runtime/invocation/';
const INIT_ERROR_PATH = '/2018-06-01/runtime/init/error';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
/** @type {Readonly<http.OutgoingHttpHeaders>} Node copies request headers, so one object serves all. */
const RESPONSE_HEADERS = Object.freeze({ 'Content-Type': 'application/json' });
/** Characters Node refuses in a header value; an odd `error.name` must not crash the POST. */
const INVALID_HEADER_CHARS = /[^\t\x20-\x7e\x80-\xff]/g;

export class RuntimeClient {
  /** @type {http.RequestOptions} */
  #nextOptions;
  /** @type {string} */
  #hostname;
  /** @type {number} */
  #port;
  /** @type {http.Agent} */
  #agent;
  /** @type {(err: Error) => void} */
  #onTransportError;

  /**
   * @param {string} hostPort AWS_LAMBDA_RUNTIME_API, e.g. "127.0.0.1:9001"
   * @param {(err: Error) => void} onTransportError
   */
  constructor(hostPort, onTransportError) {
    const colon = hostPort.lastIndexOf(':');
    this.#hostname = colon === -1 ? hostPort : hostPort.slice(0, colon);
    this.#port = colon === -1 ? 80 : Number(hostPort.slice(colon + 1));
    // Free keep-alive sockets are unref'd by the Agent, so an idle connection never keeps the event
    // loop alive: `callbackWaitsForEmptyEventLoop` relies on that.
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.#onTransportError = onTransportError;
    this.#nextOptions = { agent: this.#agent, hostname: this.#hostname, port: this.#port, path: NEXT_PATH, method: 'GET' };
  }

  /**
   * Long-polls for the next invocation.
   * @param {(inv: NextInvocation) => void} onInvocation
   */
  next(onInvocation) {
    const req = http.request(this.#nextOptions, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        this.#onTransportError(new Error(`Failed to get next invocation, status ${res.statusCode}`));
        return;
      }
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (/** @type {Buffer} */ chunk) => chunks.push(chunk));
      res.on('end', () => {
        const body = chunks.length === 1 ? /** @type {Buffer} */ (chunks[0]).toString('utf8') : Buffer.concat(chunks).toString('utf8');
        onInvocation({ headers: res.headers, body });
      });
    });
    req.on('error', this.#onTransportError);
    req.end();
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
    this.#post(INVOCATION_PATH + encodeURIComponent(requestId) + '/response', body, undefined, done);
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
    let body;
    try {
      body = JSON.stringify(response);
    } catch {
      // Only reachable with exotic values in name/message (e.g. a BigInt); keep the type.
      body = JSON.stringify({ errorType: String(response.errorType), errorMessage: 'Unable to stringify error', trace: [] });
    }
    const errorType = String(response.errorType).replace(INVALID_HEADER_CHARS, '');
    this.#post(path, body, errorType, done, last);
  }

  /**
   * @param {string} path
   * @param {string} body JSON text
   * @param {string | undefined} errorType
   * @param {() => void} done
   * @param {boolean} [last]
   */
  #post(path, body, errorType, done, last = false) {
    const headers = errorType === undefined ? RESPONSE_HEADERS : { 'Content-Type': 'application/json', [ERROR_TYPE_HEADER]: errorType };
    const agent = last ? false : this.#agent;
    const req = http.request({ agent, hostname: this.#hostname, port: this.#port, path, method: 'POST', headers }, (res) => {
      // 202 normally. A 4xx (unknown request id, payload over 6 MiB) is the platform's to report;
      // the runtime carries on to the next invocation, as the RIC does.
      res.on('end', done);
      res.resume();
    });
    req.on('error', last ? done : this.#onTransportError);
    // Node sets Content-Length itself when the whole body is given to end().
    req.end(body);
  }
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
