import { KumoError } from '../errors/index.js';

/**
 * Lambda's concurrency model, enforced: an account limit; functions with reserved concurrency get
 * exactly that many concurrent executions (0 throttles every call); all other functions share what
 * is left. Counts are per function name and include environments starting for an invocation.
 */
export class ConcurrencyLimiter {
  private readonly reserved = new Map<string, number>();
  private totalReserved = 0;
  private readonly inFlightByFunction = new Map<string, number>();
  /** In-flight executions of functions without reserved concurrency. */
  private unreservedInFlight = 0;
  private total = 0;

  constructor(readonly accountLimit: number) {}

  /** What the unreserved pool holds: the account limit less every reservation. */
  get unreservedLimit(): number {
    return this.accountLimit - this.totalReserved;
  }

  get inFlight(): number {
    return this.total;
  }

  reservedFor(name: string): number | undefined {
    return this.reserved.get(name);
  }

  /** Sets (or with `undefined`, removes) a function's reserved concurrency. */
  setReserved(name: string, value: number | undefined): void {
    const before = this.reserved.get(name);
    const running = this.inFlightByFunction.get(name) ?? 0;
    if (before !== undefined) this.totalReserved -= before;
    else this.unreservedInFlight -= running;
    if (value === undefined) {
      this.reserved.delete(name);
      this.unreservedInFlight += running;
    } else {
      this.reserved.set(name, value);
      this.totalReserved += value;
    }
  }

  /** Counts one execution of `name`, or throws Lambda's throttle when there is no room for it. */
  acquire(name: string): void {
    const running = this.inFlightByFunction.get(name) ?? 0;
    const reserved = this.reserved.get(name);
    if (reserved !== undefined) {
      if (running >= reserved) throw throttled('ReservedFunctionConcurrentInvocationLimitExceeded');
    } else if (this.unreservedInFlight >= this.unreservedLimit) {
      throw throttled('ConcurrentInvocationLimitExceeded');
    } else {
      this.unreservedInFlight++;
    }
    this.inFlightByFunction.set(name, running + 1);
    this.total++;
  }

  release(name: string): void {
    const running = this.inFlightByFunction.get(name) ?? 0;
    if (running <= 1) this.inFlightByFunction.delete(name);
    else this.inFlightByFunction.set(name, running - 1);
    if (!this.reserved.has(name)) this.unreservedInFlight--;
    this.total--;
  }
}

function throttled(reason: string): KumoError {
  return new KumoError('TooManyRequestsException', 'Rate Exceeded.', {
    fields: { Reason: reason },
    headers: { 'Retry-After': '1' },
  });
}
