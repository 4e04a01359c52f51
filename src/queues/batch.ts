import { ERROR_CATALOG, KumoError, isKumoError } from '../errors/index.js';
import type { BatchResult, BatchResultErrorEntry } from './types.js';

/** SQS's rules for batch requests: 1-10 entries with distinct, well-formed ids; per-entry results. */

const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_BATCH = 10;

export function checkBatch(entries: ReadonlyArray<{ Id: string }>, entryName: string): void {
  if (entries.length === 0) throw new KumoError('EmptyBatchRequest', `There should be at least one ${entryName} in the request.`);
  if (entries.length > MAX_BATCH) {
    throw new KumoError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH}. You have sent ${entries.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const e of entries) {
    if (typeof e.Id !== 'string' || !BATCH_ID.test(e.Id)) {
      throw new KumoError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (seen.has(e.Id)) throw new KumoError('BatchEntryIdsNotDistinct', `Id ${e.Id} repeated.`);
    seen.add(e.Id);
  }
}

/** An entry's failure as SQS reports it: the query-protocol code, and whose fault it is. */
export function batchError(id: string, err: unknown): BatchResultErrorEntry {
  if (!isKumoError(err)) throw err;
  const entry = ERROR_CATALOG[err.code];
  return { Id: id, SenderFault: err.fault === 'User', Code: 'query' in entry ? entry.query : err.code, Message: err.message };
}

/** Runs `run` per entry; an entry that fails with a KumoError is reported in `Failed`, the others succeed. */
export async function eachEntry<E extends { Id: string }>(
  entries: readonly E[],
  run: (e: E) => Promise<void>,
): Promise<BatchResult<{ Id: string }>> {
  const result: BatchResult<{ Id: string }> = { Successful: [], Failed: [] };
  for (const e of entries) {
    try {
      await run(e);
      result.Successful.push({ Id: e.Id });
    } catch (err) {
      result.Failed.push(batchError(e.Id, err));
    }
  }
  return result;
}
