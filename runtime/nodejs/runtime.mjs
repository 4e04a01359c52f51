// @ts-check
/**
 * The invoke loop: GET next → run the handler → POST response|error → GET next ...
 *
 * Lifecycle of the environment, from this side:
 *   'init'     loading the handler; a failure goes to /init/error and the process exits (129)
 *   'running'  the loop runs; errors are reported against the current (or last) request id
 *   'fatal'    an uncaught exception (exit 129) or unhandled rejection (exit 128) is being
 *              reported; the process exits once the Runtime API has it
 * Between invocations the loop is parked in a long-poll GET; Lambda would freeze the process there.
 *
 * The event loop must be able to run dry while a handler runs (that is how callback handlers and
 * never-settling async handlers are detected, through `beforeExit`), so the runtime holds no
 * ref'd handle during an invocation: the keep-alive socket is idle and unref'd by the client (http-wire.mjs).
 */

import { buildCallbacks } from './callbacks.mjs';
import { buildContext, environmentData } from './context.mjs';
import { NodeJsExit, UnhandledPromiseRejection } from './errors.mjs';
import { logError, logRuntime, setCurrentRequestId } from './logging.mjs';
import { RuntimeClient } from './runtime-client.mjs';

/** @typedef {import('./handler-loader.mjs').LoadedHandler} LoadedHandler */
/** @typedef {import('./runtime-client.mjs').NextInvocation} NextInvocation */
/** @typedef {'init' | 'running' | 'fatal'} RuntimeState */

const EXIT_UNCAUGHT_EXCEPTION = 129;
const EXIT_UNHANDLED_REJECTION = 128;
const NO_OP = () => {};

export class Runtime {
  /** @type {RuntimeState} */
  #state = 'init';
  /** The invocation errors are reported against; the last one between invocations, as in the RIC. */
  /** @type {string | undefined} */
  #requestId;
  /** @type {() => void} */
  #beforeExit = NO_OP;
  /** @type {LoadedHandler | undefined} */
  #loaded;
  /** @type {RuntimeClient} */
  #client;
  /** @type {NodeJS.ProcessEnv} */
  #env;
  #envData;
  /** AWS_LAMBDA_RUNTIME_API (streamed responses open connections of their own to it). */
  /** @type {string} */
  #api;
  /**
   * Bound once: these run on every invocation. The next GET goes out in the same write as the
   * previous result's POST (HTTP pipelining; the RIC waits for the POST's answer, then a
   * setImmediate turn: nothing depends on either, and each costs a wake-up per invocation).
   */
  #scheduleNext = () => {
    this.#client.next(this.#onInvocation);
  };
  #onInvocation = (/** @type {NextInvocation} */ inv) => {
    this.#invoke(inv);
  };

  /**
   * @param {NodeJS.ProcessEnv} env
   * @param {RuntimeClient} [early] a client a stem cell connected before it had a function (used when it talks to this env's Runtime API)
   */
  constructor(env, early) {
    const api = env['AWS_LAMBDA_RUNTIME_API'];
    if (!api) throw new Error('Missing Runtime API Server configuration.');
    this.#env = env;
    this.#api = api;
    this.#envData = environmentData(env);
    const onTransportError = (/** @type {Error} */ err) => this.#onTransportError(err);
    if (early && early.hostPort === api) {
      early.setTransportErrorHandler(onTransportError);
      this.#client = early;
    } else {
      this.#client = new RuntimeClient(api, onTransportError);
    }
  }

  /**
   * Opens the Runtime API connection ahead of the first request: Kumo checks a new connection's
   * peer (docs/sandbox.md), and this way it does so while the handler loads.
   */
  preconnect() {
    void this.#client.preconnect();
  }

  /**
   * Installs the process-wide listeners. Call before loading user code, so that errors thrown by
   * it (even asynchronously, during init) are reported.
   */
  installProcessListeners() {
    process.on('uncaughtException', (err) => {
      logError('Uncaught Exception', err);
      this.#fail(err, EXIT_UNCAUGHT_EXCEPTION);
    });
    process.on('unhandledRejection', (reason, promise) => {
      const err = new UnhandledPromiseRejection(reason, promise);
      logError('Unhandled Promise Rejection', err);
      this.#fail(err, EXIT_UNHANDLED_REJECTION);
    });
    process.on('beforeExit', () => this.#beforeExit());
  }

  /**
   * Reports a failure to load the handler (or any error during init) and exits.
   * @param {unknown} err
   */
  failInit(err) {
    logError('Uncaught Exception', err);
    this.#fail(err, EXIT_UNCAUGHT_EXCEPTION);
  }

  /**
   * Starts the invoke loop with the loaded handler.
   * @param {LoadedHandler} loaded
   */
  start(loaded) {
    this.#loaded = loaded;
    if (this.#state === 'init') this.#state = 'running';
    this.#scheduleNext();
  }

  /**
   * @param {NextInvocation} inv
   */
  #invoke(inv) {
    if (this.#state === 'fatal') return; // about to exit: never start a handler
    const loaded = /** @type {LoadedHandler} */ (this.#loaded);
    const headers = inv.headers;
    const requestId = /** @type {string | undefined} */ (headers['lambda-runtime-aws-request-id']);
    if (!requestId) {
      this.#onTransportError(new Error('invocation id is missing or invalid'));
      return;
    }
    setCurrentRequestId(requestId);
    if (loaded.streaming) {
      this.#invokeStreaming(loaded, loaded.streaming, inv, requestId);
      return;
    }

    const client = this.#client;
    const onInvocation = this.#onInvocation;
    const { callback, controls, markCompleted } = buildCallbacks({
      reportError: (err) => {
        logError('Invoke Error', err);
        client.postErrorThenNext(err, requestId, onInvocation);
      },
      reportResult: (result) => client.postResponseThenNext(result, requestId, onInvocation),
      setBeforeExit: (listener) => {
        this.#beforeExit = listener;
      },
    });

    try {
      this.#requestId = requestId;
      // The handler never settled and the event loop is empty: an async handler fails
      // (Runtime.NodeJsExit), any other succeeds with null, as on Lambda.
      this.#beforeExit = () => {
        markCompleted();
        if (loaded.isAsync) {
          const err = new NodeJsExit();
          logError('Invoke Error', err);
          client.postErrorThenNext(err, requestId, onInvocation);
        } else {
          client.postResponseThenNext(null, requestId, onInvocation);
        }
      };
      this.#setTraceId(headers);
      const result = loaded.handler(JSON.parse(inv.body), buildContext(headers, requestId, this.#envData, controls), callback);
      if (isThenable(result)) {
        // Promise.resolve returns a native promise as is; it only adopts other thenables.
        Promise.resolve(result).then(controls.succeed, controls.fail).catch(controls.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  /**
   * A handler wrapped in `awslambda.streamifyResponse`: called `(event, responseStream, context)`,
   * it must return a promise; the invocation ends when that promise has settled and the response
   * stream has ended (the Runtime API answered it). A failure (a throw, a rejection, a handler that
   * is not async) ends the response with error trailers after what was written. As in Lambda's
   * runtime, the next event is asked for once the event loop is empty, unless the handler set
   * `context.callbackWaitsForEmptyEventLoop = false`.
   * @param {LoadedHandler} loaded
   * @param {NonNullable<LoadedHandler['streaming']>} streaming
   * @param {NextInvocation} inv
   * @param {string} requestId
   */
  #invokeStreaming(loaded, streaming, inv, requestId) {
    const headers = inv.headers;
    this.#requestId = requestId;
    this.#setTraceId(headers);
    const stream = new streaming.ResponseStream({ hostPort: this.#api, requestId, highWaterMark: streaming.highWaterMark });
    let waitForEmptyEventLoop = true;
    let settled = false;
    let failed = false;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      if (waitForEmptyEventLoop) {
        this.#beforeExit = () => {
          this.#beforeExit = NO_OP;
          setImmediate(this.#scheduleNext);
        };
      } else {
        this.#beforeExit = NO_OP;
        this.#scheduleNext();
      }
    };
    /** @param {unknown} err */
    const fail = (err) => {
      if (failed || finished) return;
      failed = true;
      logError('Invoke Error', err);
      void stream.fail(err).then(done);
    };
    // The event loop ran dry before the response ended: it never will.
    this.#beforeExit = () => fail(settled ? new Error('Response stream is not finished.') : new NodeJsExit());
    const context = /** @type {Record<string, unknown>} */ (
      buildContext(headers, requestId, this.#envData, {
        getWaitForEmptyEventLoop: () => waitForEmptyEventLoop,
        setWaitForEmptyEventLoop: (value) => {
          waitForEmptyEventLoop = value;
        },
        succeed: NO_OP,
        fail: NO_OP,
        done: NO_OP,
      })
    );
    // A streaming handler's context has no succeed/fail/done (it answers through its stream).
    delete context['succeed'];
    delete context['fail'];
    delete context['done'];
    /** @type {unknown} */
    let result;
    try {
      const handler = /** @type {(event: unknown, responseStream: unknown, context: unknown) => unknown} */ (
        /** @type {unknown} */ (loaded.handler)
      );
      result = handler(JSON.parse(inv.body), stream, context);
    } catch (err) {
      fail(err);
      return;
    }
    if (!isThenable(result)) {
      fail(new Error('Streaming does not support non-async handlers.'));
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        settled = true;
        if (value !== undefined) console.warn('Streaming handlers ignore return values.');
        void stream.answered.then(() => (stream.writableFinished ? done() : fail(new Error('Response stream is not finished.'))));
      },
      (err) => {
        settled = true;
        fail(err);
      },
    );
  }

  /** @param {NextInvocation['headers']} headers */
  #setTraceId(headers) {
    const traceId = /** @type {string | undefined} */ (headers['lambda-runtime-trace-id']);
    if (traceId) this.#env['_X_AMZN_TRACE_ID'] = traceId;
    else delete this.#env['_X_AMZN_TRACE_ID'];
  }

  /**
   * An uncaught exception or unhandled rejection: report it (against the current invocation, or as
   * an init error before the first one) and exit once the Runtime API has it. Later ones are only logged.
   * @param {unknown} err
   * @param {number} exitCode
   */
  #fail(err, exitCode) {
    if (this.#state === 'fatal') return;
    const requestId = this.#requestId;
    this.#state = 'fatal';
    const exit = () => process.exit(exitCode);
    // On its own connection: the shared one may be parked in a long-poll GET.
    if (requestId === undefined) this.#client.postInitError(err, exit);
    else this.#client.postFatalInvocationError(err, requestId, exit);
  }

  /**
   * The Runtime API is unreachable or answered nonsense: nothing more can be reported.
   * @param {Error} err
   */
  #onTransportError(err) {
    logRuntime(`Unexpected Top Level Error: ${String(err)}`);
    process.exit(EXIT_UNCAUGHT_EXCEPTION);
  }
}

/**
 * @param {unknown} value
 * @returns {value is PromiseLike<unknown>}
 */
function isThenable(value) {
  return !!value && typeof (/** @type {{ then?: unknown }} */ (value).then) === 'function';
}
