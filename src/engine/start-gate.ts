/**
 * Bounds how many execution environments start at once. Starting one is CPU-bound (sandbox setup,
 * interpreter start, the function's init); a thousand at once on two cores would each progress so
 * slowly that all of them ran into the 10-second init limit, where the same thousand one after
 * another (a few at a time) take the same CPU and all succeed. A start holds its place until its
 * init ends or `holdMs` has passed, whichever comes first, so a function whose init waits on the
 * network (or a sleep) does not hold others up for long.
 */
export class StartGate {
  private inside = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly holdMs: number,
  ) {}

  /** Waits for a place; call the returned function when the start is done (idempotent). */
  async enter(): Promise<() => void> {
    if (this.inside >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.inside++;
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      clearTimeout(timer);
      const next = this.queue.shift();
      if (next) next(); // the place passes straight to the next start
      else this.inside--;
    };
    const timer = setTimeout(leave, this.holdMs);
    timer.unref();
    return leave;
  }

  /** Starts waiting for a place. */
  get waiting(): number {
    return this.queue.length;
  }
}
