import { Counter, Histogram, type Metrics } from '../metrics/index.js';

/** Per-function metrics of asynchronous invocation (Lambda's AsyncEventsReceived, AsyncEventAge, AsyncEventsDropped, ...). */
export class AsyncMetrics {
  readonly received: Counter<'function'>;
  readonly age: Histogram<'function'>;
  readonly dropped: Counter<'function' | 'reason'>;
  readonly retries: Counter<'function' | 'kind'>;
  readonly deliveries: Counter<'function' | 'kind' | 'outcome'>;

  constructor(metrics: Metrics) {
    const registers = [metrics.registry];
    this.received = new Counter({
      name: 'kumo_async_events_received_total',
      help: 'Asynchronous invocations accepted (stored durably and answered 202)',
      labelNames: ['function'],
      registers,
    });
    this.age = new Histogram({
      name: 'kumo_async_event_age_seconds',
      help: 'Time from acceptance to each attempt to run the event',
      labelNames: ['function'],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600],
      registers,
    });
    this.dropped = new Counter({
      name: 'kumo_async_events_dropped_total',
      help: 'Events that left the queue without a successful run (after DLQ / on-failure delivery, if configured)',
      labelNames: ['function', 'reason'],
      registers,
    });
    this.retries = new Counter({
      name: 'kumo_async_retries_total',
      help: 'Events requeued for another attempt: kind=function_error, throttle or system_error',
      labelNames: ['function', 'kind'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'kumo_async_destination_deliveries_total',
      help: 'Invocation records and dead-lettered events delivered: kind=on_success, on_failure or dlq; outcome=ok or error',
      labelNames: ['function', 'kind', 'outcome'],
      registers,
    });
  }
}
