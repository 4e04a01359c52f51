import type { AsyncService } from '../../async/index.js';
import type { Metrics } from '../../metrics/index.js';
import { json, type Route } from '../http.js';

/** Kumo's own read endpoints (not part of any AWS API): pending async events, Prometheus metrics. */
export function kumoRoutes(events: AsyncService, metrics: Metrics): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/_kumo/functions/{FunctionName}/pending-events',
      handler: async (req) => {
        const p = await events.pending(req.params.FunctionName ?? '');
        return json(200, {
          FunctionName: p.functionName,
          Count: p.count,
          Running: p.running,
          OldestReceivedAt: p.oldestReceivedAt === undefined ? null : new Date(p.oldestReceivedAt).toISOString(),
          NextAttemptAt: p.nextAttemptAt === undefined ? null : new Date(p.nextAttemptAt).toISOString(),
          Events: p.events.map((e) => ({
            RequestId: e.requestId,
            ReceivedAt: new Date(e.receivedAt).toISOString(),
            ApproximateInvokeCount: e.invokeCount,
            NextAttemptAt: new Date(e.nextAttemptAt).toISOString(),
            Running: e.running,
          })),
        });
      },
    },
    {
      method: 'GET',
      pattern: '/metrics',
      handler: async () => {
        const { contentType, text } = await metrics.render();
        return { status: 200, headers: { 'Content-Type': contentType }, body: Buffer.from(text) };
      },
    },
  ];
}
