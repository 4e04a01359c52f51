/** Time as the queue service sees it: injected so tests and simulations can drive it. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the handle cancels it. Timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
