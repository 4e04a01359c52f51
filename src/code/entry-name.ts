import { entryEscapesRoot, entryHasBackslash, entryHasEmptyName, entryHasNul, entryPathTooLong } from './messages.js';

/** File-type bits of a unix mode (`st_mode`), as zip tools store it in the high 16 bits of the external attributes. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

/** Longest path segment most filesystems accept (NAME_MAX), in bytes. */
export const MAX_SEGMENT_BYTES = 255;
/**
 * Longest path below the function's root, in bytes. Half of Linux's PATH_MAX (4096), so the
 * absolute path stays valid wherever the data directory lives. An archive whose names the
 * filesystem would refuse is rejected at upload rather than failing later, at first invoke.
 */
export const MAX_PATH_BYTES = 2048;

/**
 * Checks an entry name from an untrusted zip and returns its path below the function's root as
 * segments (`[]` for the root itself, e.g. the name `./`).
 *
 * Rejects rather than repairs: a name with `..` segments, an absolute path (`/x`, `\x`, `C:x`), a
 * backslash or a NUL byte is refused with an error naming the entry. `.` and empty segments
 * (`a//b`, `./a`) are harmless and dropped. The segments returned never contain `/`, `\`, NUL,
 * `.` or `..`, so joining them below a directory cannot leave it; extraction still re-checks the
 * resolved path.
 */
export function entryPathSegments(name: string): string[] {
  if (name === '') throw entryHasEmptyName();
  if (name.includes('\0')) throw entryHasNul(name);
  if (name.startsWith('/') || name.startsWith('\\') || /^[a-zA-Z]:/.test(name)) throw entryEscapesRoot(name);
  const raw = name.split(/[/\\]/);
  // `..\evil` is an escape attempt first and a backslash problem second: say the more useful thing.
  if (raw.includes('..')) throw entryEscapesRoot(name);
  if (name.includes('\\')) throw entryHasBackslash(name);
  const segments = raw.filter((segment) => segment !== '' && segment !== '.');
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES) || Buffer.byteLength(segments.join('/')) > MAX_PATH_BYTES) {
    throw entryPathTooLong(name, MAX_SEGMENT_BYTES, MAX_PATH_BYTES);
  }
  return segments;
}
