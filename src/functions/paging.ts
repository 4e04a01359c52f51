import { invalidParameter, validationError } from '../errors/index.js';

/**
 * Lambda's list paging, shared by every List operation: `MaxItems` (validated against the model,
 * at most 50 a page), an opaque `Marker` that is the base64url of the last listed item's key, and
 * `NextMarker` when more items follow.
 */

/** `MaxItems` checked against the model (1 to `modelMax`, else ValidationException); a page holds at most 50. */
export function pageSize(maxItems: number | undefined, modelMax = 10000): number {
  if (maxItems !== undefined && (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > modelMax)) {
    throw validationError(
      'maxItems',
      maxItems,
      maxItems < 1 ? 'Member must have value greater than or equal to 1' : `Member must have value less than or equal to ${modelMax}`,
    );
  }
  return Math.min(maxItems ?? 50, 50);
}

/**
 * The key a `Marker` names (undefined when absent or empty). A key that does not match `valid`
 * (what the list's keys look like) is InvalidParameterValueException `Invalid marker`, as Lambda
 * answers a marker it did not make, rather than a page that silently starts nowhere.
 */
export function readMarker(marker: string | undefined, valid: RegExp): string | undefined {
  if (marker === undefined || marker === '') return undefined;
  const key = Buffer.from(marker, 'base64url').toString('utf8');
  if (!valid.test(key)) throw invalidParameter('Invalid marker');
  return key;
}

/** What a version or alias qualifier may be, as a marker's key. */
export const QUALIFIER_KEY = /^(\$LATEST|[a-zA-Z0-9-_]{1,128})$/;

/**
 * One page of a list: the first `limit` of `items` (what follows the marker, in list order; pass
 * more than `limit` when more follow, e.g. `limit + 1` read from the store), and `nextMarker`,
 * naming the last of them by `key`, when more follow.
 */
export function pageOf<T>(items: readonly T[], limit: number, key: (item: T) => string): { page: T[]; nextMarker: string | undefined } {
  const page = items.slice(0, limit);
  const last = page.at(-1);
  return { page, nextMarker: items.length > limit && last !== undefined ? Buffer.from(key(last), 'utf8').toString('base64url') : undefined };
}
