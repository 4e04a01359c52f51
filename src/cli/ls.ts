import type { Command } from 'commander';
import { clientOf } from './client.js';
import { err, out, table } from './output.js';

interface ListFunctionsOutput {
  Functions?: Array<{ FunctionName: string; Runtime?: string; MemorySize?: number; Timeout?: number; LastModified?: string }>;
  NextMarker?: string;
}

/** `kumo ls`: every function (ListFunctions, following NextMarker), as a table. */
export function registerLs(program: Command): void {
  program
    .command('ls')
    .alias('list')
    .description('list functions')
    .action(async (_flags: object, cmd: Command) => {
      const client = clientOf(cmd);
      const rows: string[][] = [];
      let marker: string | undefined;
      do {
        const page = await client.json<ListFunctionsOutput>('GET', '/2015-03-31/functions', { query: { Marker: marker } });
        for (const f of page.Functions ?? []) {
          rows.push([f.FunctionName, f.Runtime ?? '-', String(f.MemorySize ?? '-'), String(f.Timeout ?? '-'), f.LastModified ?? '-']);
        }
        marker = page.NextMarker || undefined;
      } while (marker !== undefined);
      if (rows.length === 0) {
        err('No functions.');
        return;
      }
      out(table(['NAME', 'RUNTIME', 'MEMORY(MB)', 'TIMEOUT(s)', 'LAST MODIFIED'], rows));
    });
}
