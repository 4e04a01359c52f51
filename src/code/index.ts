/**
 * The `code` subsystem: a content-addressed store of function code archives, the validation of
 * untrusted zips on the way in, and deterministic zipping for the CLI and tests.
 */
export { CodeStore, type CodeArtifact, type PutLimits } from './store.js';
export { zipDirectory, zipEntries, type ZipDirectoryOptions, type ZipEntrySpec } from './writer.js';
export { DEFAULT_LIMITS as DEFAULT_CODE_LIMITS } from './reader.js';
export { UNZIP_FAILED_MESSAGE } from './messages.js';
export { digestZip, type ZipEntryDigest } from './digest.js';
