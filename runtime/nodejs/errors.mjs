// @ts-check
/**
 * Errors the runtime raises, and the two shapes a failure takes on its way out:
 *  - `toRapidResponse`: the body POSTed to the Runtime API (`{errorType, errorMessage, trace}`),
 *    which is what the caller of Invoke receives;
 *  - `toFormatted`: the JSON written to the log after "Invoke Error" / "Uncaught Exception".
 *
 * Both follow AWS's runtime interface client (RIC) for nodejs20.x/22.x. In particular `errorType`
 * is `error.name`, not the constructor's name: `class MyError extends Error {}` reports "Error"
 * unless the class sets `this.name`, exactly as on Lambda.
 */

import { types } from 'node:util';

/** The body of `POST /runtime/invocation/{id}/error` and `POST /runtime/init/error`. */
/** @typedef {{ errorType: string, errorMessage: string, trace: string[] }} RapidError */

/**
 * The runtime's own error types. Their `name` lives on the prototype (so it stays out of the
 * logged JSON and V8 prints it in the stack header): "Runtime.ImportModuleError", and so on.
 */
export class ImportModuleError extends Error {}
export class HandlerNotFound extends Error {}
export class MalformedHandlerName extends Error {}
export class UserCodeSyntaxError extends Error {}
/** A streamed response used out of order (a Content-Type set after the first write). */
export class InvalidStreamingOperation extends Error {}
/** `Symbol.for('aws.lambda.runtime.handler.streaming')` holds something else than 'response'. */
export class MalformedStreamingHandler extends Error {}
/** An async handler's promise never settled and the event loop ran dry (Lambda's Node 18+ behaviour). */
export class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
export class UnhandledPromiseRejection extends Error {
  /**
   * @param {unknown} reason
   * @param {Promise<unknown>} promise
   */
  constructor(reason, promise) {
    // Like the RIC: the message is the reason's string form, e.g. "Error: boom". (A symbol would
    // make Error's own conversion throw, so it is converted explicitly.)
    super(typeof reason === 'symbol' ? String(reason) : /** @type {string} */ (reason));
    this.reason = reason;
    this.promise = promise;
  }
}

for (const cls of [
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  InvalidStreamingOperation,
  MalformedStreamingHandler,
  NodeJsExit,
  UnhandledPromiseRejection,
]) {
  Object.defineProperty(cls.prototype, 'name', { value: `Runtime.${cls.name}`, writable: true, configurable: true });
}

/**
 * Duck-typed Error (an Error from another realm, or a plain object built to look like one).
 * @param {unknown} obj
 * @returns {obj is Error & { stack: string }}
 */
function looksLikeError(obj) {
  if (!obj || typeof obj !== 'object') return false;
  const o = /** @type {{ name?: unknown, message?: unknown, stack?: unknown }} */ (obj);
  return typeof o.name === 'string' && o.name !== '' && typeof o.message === 'string' && o.message !== '' && typeof o.stack === 'string' && o.stack !== '';
}

/**
 * What the Runtime API receives for a failed invocation or init.
 * Non-Error values report their `typeof` as the type: `throw "x"` gives `{"errorType":"string","errorMessage":"x","trace":[]}`.
 * @param {unknown} error
 * @returns {RapidError}
 */
export function toRapidResponse(error) {
  try {
    if (types.isNativeError(error) || looksLikeError(error)) {
      const e = /** @type {Error} */ (error);
      return { errorType: e.name, errorMessage: e.message, trace: /** @type {string} */ (e.stack).split('\n') };
    }
    return { errorType: typeof error, errorMessage: String(/** @type {{ toString(): string }} */ (error).toString()), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}

/**
 * @param {unknown} err
 * @returns {Error}
 */
export function intoError(err) {
  return err instanceof Error ? err : new Error(/** @type {string} */ (err));
}

/**
 * The log form of an error: a tab, then JSON with `errorType`, `errorMessage`, `code`, the error's
 * own enumerable properties and `stack` as an array of lines. Nested errors get the same treatment.
 * @param {unknown} error
 * @returns {string}
 */
export function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

/**
 * @param {unknown} value
 * @returns {unknown}
 */
function withEnumerableProperties(value) {
  if (!(value instanceof Error)) return value;
  /** @type {Record<string, unknown>} */
  const ret = { errorType: value.name, errorMessage: value.message, code: /** @type {{ code?: unknown }} */ (value).code };
  Object.assign(ret, value);
  if (typeof value.stack === 'string') ret['stack'] = value.stack.split('\n');
  return ret;
}
