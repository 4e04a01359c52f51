import assert from 'node:assert/strict';

/**
 * Polls `check` every 20 ms until it holds, failing after `timeoutMs`. For state that changes
 * asynchronously (log events landing, a process exiting): tests wait for events, never for fixed times.
 * A check that throws has not held yet (a log group not stored yet, say); at the deadline the
 * failure names the last error.
 */
export async function eventually(check: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError === undefined ? '' : ` (last check threw: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})`;
      assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
