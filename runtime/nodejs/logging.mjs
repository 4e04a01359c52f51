// @ts-check
/**
 * console.* as Lambda's Node runtime prints it: one line per call on stdout, so that the host turns
 * each line into one log event.
 *
 * TEXT (default): `${ISO time}\t${requestId}\t${LEVEL}\t${util.format(...args)}` with every "\n"
 * turned into "\r". Before the first invocation the request id prints as `undefined`, as on Lambda.
 * JSON (AWS_LAMBDA_LOG_FORMAT=JSON): `{"timestamp","level","requestId","message",...}` per line.
 * AWS_LAMBDA_LOG_LEVEL (TRACE..FATAL) drops the levels below it, as the RIC does.
 *
 * Lines are written with fs.writeSync on fd 1, so a line logged before the handler returns is in
 * the pipe before the response is POSTed.
 */

import { writeSync } from 'node:fs';
import { format } from 'node:util';
import { intoError, toFormatted } from './errors.mjs';

/** @typedef {'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL'} Level */

/** @type {Readonly<Record<Level, number>>} */
const PRIORITY = Object.freeze({ TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 });

/** Where the RIC keeps the current request id; mirrored there for code that reads it. */
const REQUEST_ID_SYMBOL = Symbol.for('aws.lambda.runtime.requestId');
const globalSlots = /** @type {Record<symbol, unknown>} */ (/** @type {unknown} */ (globalThis));

/** @type {string | undefined} */
let currentRequestId;

/** @param {string} id */
export function setCurrentRequestId(id) {
  currentRequestId = id;
  globalSlots[REQUEST_ID_SYMBOL] = id;
}

const STDOUT = 1;
/** Backoff for a full non-blocking pipe: Atomics.wait sleeps without spinning the CPU. */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `text` to `fd` synchronously. A full non-blocking pipe (EAGAIN, when something made
 * fd 1 non-blocking, e.g. user code touching process.stdout) is retried; a closed one drops the line
 * rather than throwing into the handler.
 * @param {number} fd
 * @param {string} text
 */
export function writeFully(fd, text) {
  /** @type {Buffer | undefined} */
  let buf;
  let offset = 0;
  for (;;) {
    try {
      if (buf === undefined) {
        const written = writeSync(fd, text);
        const total = Buffer.byteLength(text);
        if (written === total) return;
        buf = Buffer.from(text);
        offset = written;
      } else {
        offset += writeSync(fd, buf, offset, buf.length - offset);
        if (offset >= buf.length) return;
      }
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EAGAIN') return;
      Atomics.wait(sleepCell, 0, 0, 1);
    }
  }
}

/** @typedef {(level: Level, message: unknown, params: unknown[]) => void} Sink */

/** @type {Sink} */
function textSink(level, message, params) {
  const text = params.length === 0 ? format(message) : format(message, ...params);
  writeFully(STDOUT, `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text}`.replaceAll('\n', '\r') + '\n');
}

/** @type {Sink} */
function jsonSink(level, message, params) {
  const line = formatJson(level, message, params);
  writeFully(STDOUT, line.replaceAll('\n', '\r') + '\n');
}

/**
 * @param {unknown} _key
 * @param {unknown} value
 */
function jsonErrorReplacer(_key, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value.constructor?.name ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
}

/**
 * @param {Level} level
 * @param {unknown} message
 * @param {unknown[]} params
 * @returns {string}
 */
function formatJson(level, message, params) {
  /** @type {Record<string, unknown>} */
  const result = { timestamp: new Date().toISOString(), level, requestId: currentRequestId };
  if (params.length === 0) {
    result['message'] = message;
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch {
      result['message'] = format(message);
      return JSON.stringify(result);
    }
  }
  result['message'] = format(message, ...params);
  for (const param of [message, ...params]) {
    if (param instanceof Error) {
      result['errorType'] = param.constructor?.name ?? 'UnknownError';
      result['errorMessage'] = param.message;
      result['stackTrace'] = typeof param.stack === 'string' ? param.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(result);
}

/** @type {Sink} */
let sink = textSink;
let json = false;
let minPriority = PRIORITY.TRACE;

/**
 * Replaces console.trace/debug/info/log/warn/error (and adds console.fatal) with Lambda's format.
 * Other console methods (dir, table, time...) keep Node's behaviour, as on Lambda.
 * @param {NodeJS.ProcessEnv} env
 */
export function patchConsole(env) {
  json = env['AWS_LAMBDA_LOG_FORMAT']?.toUpperCase() === 'JSON';
  sink = json ? jsonSink : textSink;
  const wanted = /** @type {Level | undefined} */ (env['AWS_LAMBDA_LOG_LEVEL']?.toUpperCase());
  minPriority = (wanted !== undefined && Object.hasOwn(PRIORITY, wanted) ? PRIORITY[wanted] : undefined) ?? PRIORITY.TRACE;

  const c = /** @type {Console & { fatal?: (...args: unknown[]) => void }} */ (console);
  c.trace = method('TRACE');
  c.debug = method('DEBUG');
  c.info = method('INFO');
  c.log = c.info;
  c.warn = method('WARN');
  c.error = method('ERROR');
  c.fatal = logger('FATAL');
}

/**
 * @param {Level} level
 * @returns {(message?: unknown, ...params: unknown[]) => void}
 */
function method(level) {
  return PRIORITY[level] >= minPriority ? logger(level) : () => {};
}

/**
 * @param {Level} level
 * @returns {(message?: unknown, ...params: unknown[]) => void}
 */
function logger(level) {
  return (message, ...params) => sink(level, message, params);
}

/**
 * Logs a failure the way the RIC does: TEXT `Invoke Error \t{json}`, JSON the error object itself.
 * Written straight to the sink (not through console.error, which user code may have replaced).
 * @param {string} title e.g. "Invoke Error", "Uncaught Exception", "Unhandled Promise Rejection"
 * @param {unknown} err
 */
export function logError(title, err) {
  if (PRIORITY.ERROR < minPriority) return;
  if (json) sink('ERROR', intoError(err), []);
  else sink('ERROR', title, [toFormatted(intoError(err))]);
}

/**
 * A line from the runtime itself (not tied to a level filter), in the current format.
 * @param {string} message
 */
export function logRuntime(message) {
  sink('INFO', message, []);
}
