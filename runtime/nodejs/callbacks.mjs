// @ts-check
/**
 * The ways a handler finishes an invocation, with the RIC's semantics:
 *
 *  - `callback(err, result)` (third handler argument): an error is reported at once. A result is
 *    sent at once when `context.callbackWaitsForEmptyEventLoop` is false; while it is true (the
 *    default) it is sent only when the event loop runs dry (Node's `beforeExit`), so timers and
 *    sockets the handler left behind finish first.
 *  - `context.done(err, result)`, `context.succeed(result)`, `context.fail(err)`: report at once,
 *    whatever the flag says. `fail()` with no error reports the string "handled".
 *  - An async handler's promise settles into succeed/fail (wired in runtime.mjs).
 *
 * Only the first of these calls counts. A call that throws (the result could not be serialized)
 * does not count, so the failure can still be reported through `fail`.
 */

/**
 * What the callbacks need from the runtime loop.
 * @typedef {object} InvocationPort
 * @property {(err: unknown) => void} reportError logs "Invoke Error", posts it, then moves on
 * @property {(result: unknown) => void} reportResult posts the result, then moves on; throws if it
 *   cannot be serialized
 * @property {(listener: () => void) => void} setBeforeExit what to do when the event loop empties
 */

/**
 * @typedef {object} InvocationCallbacks
 * @property {(err?: unknown, result?: unknown) => void} callback
 * @property {import('./context.mjs').CallbackControls} controls
 * @property {() => void} markCompleted any later result is ignored (the runtime answered for the handler)
 */

const NO_OP = () => {};

/**
 * @param {InvocationPort} port
 * @returns {InvocationCallbacks}
 */
export function buildCallbacks(port) {
  let waitForEmptyEventLoop = true;
  let completed = false;
  let finished = false;

  /** @param {unknown} result */
  const complete = (result) => {
    if (completed) {
      console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
      return;
    }
    completed = true;
    port.reportResult(result);
  };

  /**
   * @param {unknown} err
   * @param {unknown} result
   */
  const callback = (err, result) => {
    port.setBeforeExit(NO_OP);
    if (err !== undefined && err !== null) {
      port.reportError(err);
    } else if (!waitForEmptyEventLoop) {
      complete(result);
    } else {
      port.setBeforeExit(() => {
        setImmediate(() => complete(result));
      });
    }
  };

  /**
   * @param {unknown} err
   * @param {unknown} result
   */
  const done = (err, result) => {
    port.setBeforeExit(NO_OP);
    if (err !== undefined && err !== null) port.reportError(err);
    else complete(result);
  };

  /**
   * First call wins; `finished` is set only once the call has returned.
   * @template {unknown[]} A
   * @param {(...args: A) => void} fn
   * @returns {(...args: A) => void}
   */
  const firstCallOnly =
    (fn) =>
    (...args) => {
      if (!finished) {
        fn(...args);
        finished = true;
      }
    };

  return {
    callback: firstCallOnly(callback),
    controls: {
      getWaitForEmptyEventLoop: () => waitForEmptyEventLoop,
      setWaitForEmptyEventLoop: (value) => {
        waitForEmptyEventLoop = value;
      },
      succeed: firstCallOnly((result) => done(null, result)),
      fail: firstCallOnly((err) => (err === undefined || err === null ? done('handled', undefined) : done(err, null))),
      done: firstCallOnly(done),
    },
    markCompleted: () => {
      completed = true;
    },
  };
}
