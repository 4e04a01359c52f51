import { KumoError } from '../errors/index.js';

/**
 * Lambda's concurrency model, enforced: an account limit; functions with reserved concurrency get
 * exactly that many concurrent executions (0 throttles every call); all other functions share what
 * is left. Provisioned concurrency is taken from the account as well: a function with a
 * reservation provisions within it, a function without one takes its provisioned executions out
 * of the unreserved pool and runs that many invocations on them, only the rest (its spill-over)
 * sharing the pool. Counts are per function name and include environments starting for an invocation.
 */
export class ConcurrencyLimiter {
  private readonly reserved = new Map<string, number>();
  private totalReserved = 0;
  /** Provisioned concurrency of every version and alias of a function, summed. */
  private readonly provisioned = new Map<string, number>();
  /** Provisioned concurrency of functions without a reservation (taken out of the unreserved pool). */
  private provisionedUnreserved = 0;
  private readonly inFlightByFunction = new Map<string, number>();
  /** In-flight executions that count against the unreserved pool (functions without reserved concurrency, beyond their provisioned). */
  private unreservedInFlight = 0;
  private total = 0;

  constructor(readonly accountLimit: number) {}

  /** What the unreserved pool holds: the account limit less every reservation and the provisioned concurrency of unreserved functions. */
  get unreservedLimit(): number {
    return this.accountLimit - this.totalReserved - this.provisionedUnreserved;
  }

  get inFlight(): number {
    return this.total;
  }

  reservedFor(name: string): number | undefined {
    return this.reserved.get(name);
  }

  provisionedFor(name: string): number {
    return this.provisioned.get(name) ?? 0;
  }

  /** What a function holds of the account's concurrency beyond the shared pool: its reservation, else its provisioned concurrency. */
  claimedBy(name: string): number {
    return this.reserved.get(name) ?? this.provisionedFor(name);
  }

  /** Sets (or with `undefined`, removes) a function's reserved concurrency. */
  setReserved(name: string, value: number | undefined): void {
    this.change(name, () => {
      const before = this.reserved.get(name);
      if (before !== undefined) this.totalReserved -= before;
      if (value === undefined) this.reserved.delete(name);
      else {
        this.reserved.set(name, value);
        this.totalReserved += value;
      }
    });
  }

  /** Sets a function's provisioned concurrency (every version and alias, summed; 0 for none). */
  setProvisioned(name: string, value: number): void {
    this.change(name, () => {
      if (value > 0) this.provisioned.set(name, value);
      else this.provisioned.delete(name);
    });
  }

  /** Counts one execution of `name`, or throws Lambda's throttle when there is no room for it. */
  acquire(name: string): void {
    const running = this.inFlightByFunction.get(name) ?? 0;
    const reserved = this.reserved.get(name);
    if (reserved !== undefined) {
      if (running >= reserved) throw throttled('ReservedFunctionConcurrentInvocationLimitExceeded');
    } else if (this.spill(name, running + 1) > this.spill(name, running) && this.unreservedInFlight >= this.unreservedLimit) {
      throw throttled('ConcurrentInvocationLimitExceeded');
    }
    this.change(name, () => this.inFlightByFunction.set(name, running + 1));
    this.total++;
  }

  release(name: string): void {
    const running = this.inFlightByFunction.get(name) ?? 0;
    this.change(name, () => {
      if (running <= 1) this.inFlightByFunction.delete(name);
      else this.inFlightByFunction.set(name, running - 1);
    });
    this.total--;
  }

  /** Applies a change to one function's numbers, keeping the pool's totals in step. */
  private change(name: string, apply: () => void): void {
    this.unreservedInFlight -= this.spill(name, this.inFlightByFunction.get(name) ?? 0);
    if (!this.reserved.has(name)) this.provisionedUnreserved -= this.provisionedFor(name);
    apply();
    if (!this.reserved.has(name)) this.provisionedUnreserved += this.provisionedFor(name);
    this.unreservedInFlight += this.spill(name, this.inFlightByFunction.get(name) ?? 0);
  }

  /** How many of `running` executions of a function count against the unreserved pool. */
  private spill(name: string, running: number): number {
    return this.reserved.has(name) ? 0 : Math.max(0, running - this.provisionedFor(name));
  }
}

function throttled(reason: string): KumoError {
  return new KumoError('TooManyRequestsException', 'Rate Exceeded.', {
    fields: { Reason: reason },
    headers: { 'Retry-After': '1' },
  });
}
