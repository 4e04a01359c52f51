import crypto from 'node:crypto';

/** Lambda's platform log lines, exactly as CloudWatch Logs shows them for a Text-format function. */

export function startLine(requestId: string, version: string): string {
  return `START RequestId: ${requestId} Version: ${version}`;
}

export function endLine(requestId: string): string {
  return `END RequestId: ${requestId}`;
}

export interface ReportFields {
  requestId: string;
  durationMs: number;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  /** Present on the first invocation of an environment (a cold start). */
  initDurationMs?: number | undefined;
  /** 'timeout' or 'error' when the environment ended during the invocation. */
  status?: 'timeout' | 'error' | undefined;
  errorType?: string | undefined;
}

export function reportLine(r: ReportFields): string {
  let line =
    `REPORT RequestId: ${r.requestId}\tDuration: ${r.durationMs.toFixed(2)} ms\t` +
    `Billed Duration: ${billedDuration(r.durationMs, r.initDurationMs)} ms\t` +
    `Memory Size: ${r.memorySizeMb} MB\tMax Memory Used: ${r.maxMemoryUsedMb} MB\t`;
  if (r.initDurationMs !== undefined) line += `Init Duration: ${r.initDurationMs.toFixed(2)} ms\t`;
  if (r.status) line += `Status: ${r.status}\t`;
  if (r.errorType) line += `Error Type: ${r.errorType}\t`;
  return line;
}

/** Lambda bills duration rounded up to the next millisecond (at least 1 ms). */
export function billedDuration(durationMs: number, _initDurationMs?: number): number {
  return Math.max(1, Math.ceil(durationMs));
}

/** `YYYY/MM/DD/[$LATEST]<32 hex>`: the log stream name of a new execution environment. */
export function newLogStreamName(version: string, now = new Date()): string {
  const d = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${d}/[${version}]${crypto.randomBytes(16).toString('hex')}`;
}

export function logGroupName(functionName: string): string {
  return `/aws/lambda/${functionName}`;
}

/** `2024-01-02T03:04:05.678Z <id> Task timed out after 3.00 seconds` */
export function timeoutLine(requestId: string, timeoutSeconds: number, now = new Date()): string {
  return `${now.toISOString()} ${requestId} Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;
}
