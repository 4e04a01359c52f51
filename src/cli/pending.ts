import type { Command } from 'commander';
import { clientOf } from './client.js';
import { out, table } from './output.js';

interface PendingEventsOutput {
  FunctionName: string;
  Count: number;
  Running: number;
  OldestReceivedAt: string | null;
  NextAttemptAt: string | null;
  Events: Array<{ RequestId: string; ReceivedAt: string; ApproximateInvokeCount: number; NextAttemptAt: string; Running: boolean }>;
}

/** `kumo pending <fn>`: the function's queued asynchronous events (Kumo's own read endpoint). */
export function registerPending(program: Command): void {
  program
    .command('pending')
    .argument('<function>', 'function name or ARN')
    .description("show a function's pending asynchronous events: how many, the oldest's age, the next attempt")
    .option('--json', 'print the raw JSON answer')
    .action(async (name: string, flags: { json?: boolean }, cmd: Command) => {
      const p = await clientOf(cmd).json<PendingEventsOutput>('GET', `/_kumo/functions/${encodeURIComponent(name)}/pending-events`);
      if (flags.json) {
        out(JSON.stringify(p, null, 2));
        return;
      }
      const now = Date.now();
      const age = p.OldestReceivedAt ? `${((now - Date.parse(p.OldestReceivedAt)) / 1000).toFixed(1)} s` : '-';
      const next = p.NextAttemptAt ? relative(Date.parse(p.NextAttemptAt) - now) : '-';
      out(`${p.FunctionName}: ${p.Count} pending (${p.Running} running), oldest ${age} old, next attempt ${next}`);
      if (p.Events.length === 0) return;
      out(
        table(
          ['REQUEST ID', 'AGE', 'INVOKES', 'NEXT ATTEMPT'],
          p.Events.map((e) => [
            e.RequestId,
            `${((now - Date.parse(e.ReceivedAt)) / 1000).toFixed(1)} s`,
            String(e.ApproximateInvokeCount),
            e.Running ? 'running' : relative(Date.parse(e.NextAttemptAt) - now),
          ]),
        ),
      );
    });
}

function relative(ms: number): string {
  return ms <= 0 ? 'now' : `in ${(ms / 1000).toFixed(1)} s`;
}
