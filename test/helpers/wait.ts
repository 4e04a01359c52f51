import assert from 'node:assert/strict';

/**
 * Polls `check` every 20 ms until it holds, failing after `timeoutMs`. For state that changes
 * asynchronously (log events landing, a process exiting): tests wait for events, never for fixed times.
 */
export async function eventually(check: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
