import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { ApiError, clientOf, functionPath, type KumoClient } from './client.js';
import { err, out } from './output.js';

interface FilterLogEventsOutput {
  events?: Array<{ eventId?: string; timestamp?: number; message?: string }>;
  nextToken?: string;
}

interface LogsFlags {
  follow?: boolean;
  since?: number;
  filter?: string;
  pollInterval: number;
}

/**
 * `kumo logs <fn>`: the function's log events in order, read with FilterLogEvents from its log
 * group (`/aws/lambda/<fn>` unless its LoggingConfig names another). `--follow` keeps polling
 * until SIGINT/SIGTERM: each poll starts at the newest timestamp seen so far and drops events
 * already printed (by eventId), as `aws logs tail --follow` does.
 */
export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("print a function's logs")
    .argument('<function>', 'function name')
    .option('-f, --follow', 'keep printing new events until interrupted (Ctrl-C)')
    .option('-s, --since <when>', 'only events since a duration ago (30s, 10m, 1h, 2d, 1w) or an ISO 8601 time', parseSince)
    .option('--filter <pattern>', 'CloudWatch Logs filter pattern (terms, "quoted phrases", ?any, -exclude)')
    .option('--poll-interval <ms>', 'how often --follow polls, in milliseconds', parseInterval, 1000)
    .action(async (name: string, flags: LogsFlags, cmd: Command) => {
      await tail(clientOf(cmd), name, flags);
    });
}

async function tail(client: KumoClient, name: string, flags: LogsFlags): Promise<void> {
  const { group, functionMissing } = await logGroupOf(client, name);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (flags.follow) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    /** eventId → timestamp of events printed at or after `since` (the next poll's start). */
    const printed = new Map<string, number>();
    let since = flags.since;
    let announced = false;
    while (!stop.signal.aborted) {
      let token: string | undefined;
      do {
        let page: FilterLogEventsOutput;
        try {
          page = await client.logs<FilterLogEventsOutput>(
            'FilterLogEvents',
            {
              logGroupName: group,
              ...(since !== undefined ? { startTime: since } : {}),
              ...(flags.filter !== undefined ? { filterPattern: flags.filter } : {}),
              ...(token !== undefined ? { nextToken: token } : {}),
            },
            stop.signal,
          );
        } catch (e) {
          if (stop.signal.aborted) return;
          if (!(e instanceof ApiError && e.type === 'ResourceNotFoundException')) throw e;
          // The group appears with the function's first log line.
          if (functionMissing) throw functionMissing;
          if (!flags.follow) {
            err(`kumo: no logs for ${name} yet (log group ${group} does not exist)`);
            return;
          }
          if (!announced) err(`kumo: waiting for ${name} to log (log group ${group} does not exist yet)`);
          announced = true;
          break;
        }
        for (const e of page.events ?? []) {
          const id = e.eventId ?? '';
          if (printed.has(id)) continue;
          printed.set(id, e.timestamp ?? 0);
          out(e.message ?? '');
        }
        token = page.nextToken;
      } while (token !== undefined && !stop.signal.aborted);
      if (!flags.follow) return;
      // Next poll from the newest timestamp seen; forget events older than it.
      const newest = Math.max(since ?? 0, ...printed.values());
      for (const [id, ts] of printed) if (ts < newest) printed.delete(id);
      since = printed.size > 0 || since !== undefined ? newest : undefined;
      await sleep(flags.pollInterval, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The function's log group (its LoggingConfig), or the default one when it no longer exists. */
async function logGroupOf(client: KumoClient, name: string): Promise<{ group: string; functionMissing: ApiError | undefined }> {
  try {
    const config = await client.json<{ LoggingConfig?: { LogGroup?: string } }>('GET', functionPath(name, '/configuration'));
    return { group: config.LoggingConfig?.LogGroup ?? `/aws/lambda/${name}`, functionMissing: undefined };
  } catch (e) {
    if (e instanceof ApiError && e.type === 'ResourceNotFoundException') return { group: `/aws/lambda/${name}`, functionMissing: e };
    throw e;
  }
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `10m`, `1h`, `2d` … ago, or an ISO 8601 time; as epoch milliseconds. */
export function parseSince(value: string, now = Date.now()): number {
  const rel = /^(\d+)\s*([smhdw])$/.exec(value.trim());
  if (rel) return now - Number(rel[1]) * (UNIT_MS[rel[2] ?? 's'] ?? 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return t;
  }
  throw new InvalidArgumentError('expected a duration like 30s, 10m, 1h, 2d, 1w or an ISO 8601 time.');
}

function parseInterval(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 10) throw new InvalidArgumentError('expected milliseconds (at least 10).');
  return n;
}
