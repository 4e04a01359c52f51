import { KumoError, invalidParameter } from '../errors/index.js';

/**
 * The errors the code store raises. The wording of the first three is AWS's, so clients that match
 * on it keep working; the entry errors are ours and always name the offending entry.
 */

export const UNZIP_FAILED_MESSAGE = 'Could not unzip uploaded file. Please check your file, then try to upload again.';

/** The upload is not a zip, or is corrupt (bad headers, bad deflate data, CRC or size mismatch). */
export function unzipFailed(cause?: unknown): KumoError {
  return new KumoError('InvalidParameterValueException', UNZIP_FAILED_MESSAGE, { cause });
}

export function zippedTooLarge(maxZippedBytes: number): KumoError {
  return new KumoError('RequestEntityTooLargeException', `Zipped size must be smaller than ${maxZippedBytes} bytes`);
}

export function unzippedTooLarge(maxUnzippedBytes: number): KumoError {
  return invalidParameter(`Unzipped size must be smaller than ${maxUnzippedBytes} bytes`);
}

/** Lambda refuses an archive with no entries at upload. */
export function emptyZip(): KumoError {
  return new KumoError('InvalidParameterValueException', 'Uploaded file must be a non-empty zip');
}

export function tooManyEntries(count: number, maxEntries: number): KumoError {
  return invalidParameter(`Zip file has ${count} entries; at most ${maxEntries} are allowed`);
}

export function entryEscapesRoot(name: string): KumoError {
  return invalidParameter(`Zip entry '${displayName(name)}' escapes the function's root directory`);
}

export function entryHasBackslash(name: string): KumoError {
  return invalidParameter(`Zip entry '${displayName(name)}' contains a backslash; zip entry names must use '/' as the separator`);
}

export function entryHasNul(name: string): KumoError {
  return invalidParameter(`Zip entry '${displayName(name)}' contains a NUL byte`);
}

export function entryIsSymlink(name: string): KumoError {
  return invalidParameter(`Zip entry '${displayName(name)}' is a symbolic link, which is not allowed`);
}

export function entryHasEmptyName(): KumoError {
  return invalidParameter(`Zip entry '' has an empty name`);
}

export function entryPathTooLong(name: string, maxSegmentBytes: number, maxPathBytes: number): KumoError {
  return invalidParameter(
    `Zip entry '${displayName(name)}' has a path longer than ${maxPathBytes} bytes or a name longer than ${maxSegmentBytes} bytes`,
  );
}

export function entryNamesRoot(name: string): KumoError {
  return invalidParameter(`Zip entry '${displayName(name)}' is a file named like the function's root directory`);
}

export function entryDuplicated(name: string): KumoError {
  return invalidParameter(`Zip entry '${displayName(name)}' appears more than once`);
}

export function entryConflicts(name: string, other: string): KumoError {
  return invalidParameter(`Zip entry '${displayName(name)}' conflicts with entry '${displayName(other)}'`);
}

/** An entry Kumo cannot inflate (encrypted, or compressed with something other than deflate). */
export function unsupportedEntry(name: string, reason: string): KumoError {
  return unzipFailed(new Error(`zip entry '${displayName(name)}': ${reason}`));
}

/**
 * An entry name as it may appear in a message: control characters (NUL included) escaped so the
 * message stays one printable line, and cut short, since a name can be 64 KiB long.
 */
export function displayName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > 200 ? `${escaped.slice(0, 200)}…` : escaped;
}
