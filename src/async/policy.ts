import type { EventInvokeConfigRecord } from '../store/index.js';

/** Lambda's defaults for asynchronous invocation. */
export const DEFAULT_MAX_RETRY_ATTEMPTS = 2;
export const DEFAULT_MAX_EVENT_AGE_SECONDS = 21_600;
/** Waits before the retries after a function error: about 1 minute, then 2. */
export const FUNCTION_ERROR_DELAYS_MS = [60_000, 120_000] as const;
/** Backoff after throttles and system errors: 1 s doubling up to 5 minutes. */
export const THROTTLE_BASE_MS = 1_000;
export const THROTTLE_MAX_MS = 300_000;

/**
 * The retry and age rules of Lambda's asynchronous invocation, with every duration multiplied by
 * `timeScale` (KUMO_ASYNC_TIME_SCALE; 1 in production, small in tests).
 */
export class RetryPolicy {
  constructor(readonly timeScale: number) {}

  maxRetries(config: EventInvokeConfigRecord | undefined): number {
    return config?.maximumRetryAttempts ?? DEFAULT_MAX_RETRY_ATTEMPTS;
  }

  /** How long an event may wait in the queue, in (scaled) ms. */
  maxAgeMs(config: EventInvokeConfigRecord | undefined): number {
    return (config?.maximumEventAgeInSeconds ?? DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000 * this.timeScale;
  }

  /** Epoch ms after which the event must not run. */
  expiresAt(receivedAt: number, config: EventInvokeConfigRecord | undefined): number {
    return receivedAt + this.maxAgeMs(config);
  }

  /** The wait before the retry that follows the `functionErrors`-th function error (1-based). */
  functionErrorDelayMs(functionErrors: number): number {
    const base = FUNCTION_ERROR_DELAYS_MS[Math.min(functionErrors, FUNCTION_ERROR_DELAYS_MS.length) - 1] ?? FUNCTION_ERROR_DELAYS_MS[0];
    return base * this.timeScale;
  }

  /** The wait after the `throttles`-th throttle or system error in a row (1-based). */
  throttleDelayMs(throttles: number): number {
    return Math.min(THROTTLE_BASE_MS * 2 ** Math.max(0, throttles - 1), THROTTLE_MAX_MS) * this.timeScale;
  }
}
