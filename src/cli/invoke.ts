import { readFile } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import type { Command } from 'commander';
import { clientOf, functionPath } from './client.js';
import { err, Exit, UsageError } from './output.js';

/**
 * `kumo invoke <fn>`: a synchronous invocation. The response payload goes to stdout; with `--log`
 * the log tail goes to stderr. A function error (X-Amz-Function-Error) prints the error payload
 * to stderr instead and exits 1, so `kumo invoke fn | jq` only ever sees successful results.
 */
export function registerInvoke(program: Command): void {
  program
    .command('invoke')
    .description('invoke a function and print its response')
    .argument('<function>', 'function name or ARN')
    .option('-p, --payload <json|@file>', 'event: inline JSON, @path to read a file, or @- for stdin', '{}')
    .option('-l, --log', 'print the last 4 KB of the invocation log to stderr')
    .action(async (name: string, flags: { payload: string; log?: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const payload = await readPayload(flags.payload);
      const res = await client.request('POST', functionPath(name, '/invocations'), {
        body: payload,
        headers: { 'Content-Type': 'application/json', ...(flags.log ? { 'X-Amz-Log-Type': 'Tail' } : {}) },
      });
      const logResult = res.headers.get('x-amz-log-result');
      if (flags.log && logResult) process.stderr.write(Buffer.from(logResult, 'base64'));
      const text = res.body.toString('utf8');
      const functionError = res.headers.get('x-amz-function-error');
      if (functionError) {
        err(`kumo: ${name} failed (${functionError}): ${text}`);
        throw new Exit(1);
      }
      process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
    });
}

async function readPayload(spec: string): Promise<Buffer> {
  if (!spec.startsWith('@')) return Buffer.from(spec, 'utf8');
  const file = spec.slice(1);
  if (file === '-') return buffer(process.stdin);
  try {
    return await readFile(file);
  } catch (e) {
    throw new UsageError(`cannot read payload file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
