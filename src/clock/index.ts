/**
 * Time as Kumo's subsystems see it (retries, visibility timeouts, long polls): injected, so tests
 * and simulations drive it without sleeping (CONVENTIONS.md point 13).
 */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the handle cancels it. Timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): Timer;
}

export interface Timer {
  cancel(): void;
}

/** Node's longest timer; a longer wait fires early and is expected to re-check the time. */
const MAX_TIMER_MS = 2_147_483_647;

/** The wall clock and Node's timers, unref'd. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, Math.min(ms, MAX_TIMER_MS)));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
