/**
 * Everything the CLI prints, and how errors become exit codes:
 * 0 success, 1 a failed operation (an API error, a function error, a missing file),
 * 2 a usage error or no server at the endpoint.
 */

/** A mistake in how the command was called (exit code 2, like commander's own usage errors). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Ends the command with `code`; whatever needed saying has been printed already. */
export class Exit extends Error {
  override name = 'Exit';
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
