/**
 * put() against hostile and broken archives. Each case is a real zip built byte by byte (see
 * test/helpers/zip.ts) or by yazl, and each must be refused with the exact error and leave the
 * store's directory empty.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { UNZIP_FAILED_MESSAGE, zipEntries, type PutLimits } from '../../../src/code/index.js';
import type { ErrorCode } from '../../../src/errors/index.js';
import { craftZip } from '../../helpers/zip.js';
import { rejectsWith, tempStore } from './support.js';

/** The store directory's entries, leaving out the package.json it keeps to shield CommonJS code. */
async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name !== 'package.json');
}

async function refused(t: TestContext, zip: Buffer, code: ErrorCode, message: string | RegExp, limits?: PutLimits): Promise<Error> {
  const { store, dir } = await tempStore(t);
  const err = await rejectsWith(store.put(zip, limits), code, message);
  assert.deepEqual(await listing(dir), [], 'nothing is left behind');
  return err;
}

const escapes = (name: string): string => `Zip entry '${name}' escapes the function's root directory`;

void test('a buffer that is not a zip is refused with AWS message', async (t) => {
  await refused(t, Buffer.from('definitely not a zip file'), 'InvalidParameterValueException', UNZIP_FAILED_MESSAGE);
});

void test('a truncated zip is refused as corrupt', async (t) => {
  const zip = await zipEntries([{ name: 'index.js', content: 'x'.repeat(1000) }]);
  await refused(t, zip.subarray(0, zip.length - 30), 'InvalidParameterValueException', UNZIP_FAILED_MESSAGE);
});

void test('an entry whose data fails its CRC-32 is refused as corrupt', async (t) => {
  const zip = craftZip([{ name: 'index.js', data: 'hello', crc: 0x12345678 }]);
  const err = await refused(t, zip, 'InvalidParameterValueException', UNZIP_FAILED_MESSAGE);
  assert.match(String((err.cause as Error).message), /CRC-32/);
});

void test('a zip with no entries is refused as Lambda refuses it', async (t) => {
  await refused(t, await zipEntries([]), 'InvalidParameterValueException', 'Uploaded file must be a non-empty zip');
});

void test('a zip over the zipped limit is a 413 RequestEntityTooLargeException naming the limit', async (t) => {
  const zip = await zipEntries([{ name: 'index.js', content: 'x'.repeat(2000) }]);
  const err = await refused(t, zip, 'RequestEntityTooLargeException', 'Zipped size must be smaller than 100 bytes', {
    maxZippedBytes: 100,
  });
  assert.equal((err as { status?: number }).status, 413);
});

void test('the default zipped limit is 52428800 bytes, checked before parsing', async (t) => {
  // Neither buffer is a zip: the size decides which error comes out.
  await refused(t, Buffer.alloc(52_428_801), 'RequestEntityTooLargeException', 'Zipped size must be smaller than 52428800 bytes');
  await refused(t, Buffer.alloc(52_428_800), 'InvalidParameterValueException', UNZIP_FAILED_MESSAGE);
});

void test('entries whose declared sizes sum over the unzipped limit are refused before inflating', async (t) => {
  const zip = await zipEntries([
    { name: 'a.bin', content: Buffer.alloc(600) },
    { name: 'b.bin', content: Buffer.alloc(600) },
  ]);
  await refused(t, zip, 'InvalidParameterValueException', 'Unzipped size must be smaller than 1000 bytes', { maxUnzippedBytes: 1000 });
});

void test('a header that declares a huge size is refused from the header alone', async (t) => {
  // Declares 4 GiB - 1 but carries 5 bytes: the central directory is enough to refuse it.
  const zip = craftZip([{ name: 'bomb.bin', data: 'small', declaredSize: 0xffff_fffe }]);
  await refused(t, zip, 'InvalidParameterValueException', 'Unzipped size must be smaller than 262144000 bytes');
});

void test('a header that understates its size is caught while inflating, before the limit is passed', async (t) => {
  // Declares 16 bytes, inflates to 1 MiB. The declared total passes the 64 KiB limit, so only
  // counting the inflated bytes can catch it; the lie makes it a corrupt archive.
  const zip = craftZip([{ name: 'bomb.bin', data: Buffer.alloc(1024 * 1024), declaredSize: 16 }]);
  assert.ok(zip.length < 64 * 1024, 'the bomb itself is small');
  const err = await refused(t, zip, 'InvalidParameterValueException', UNZIP_FAILED_MESSAGE, { maxUnzippedBytes: 64 * 1024 });
  assert.match(String((err.cause as Error).message), /too many bytes|declared/);
});

void test('more entries than maxEntries are refused before any is read', async (t) => {
  const zip = craftZip([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
  await refused(t, zip, 'InvalidParameterValueException', 'Zip file has 3 entries; at most 2 are allowed', { maxEntries: 2 });
});

void test('an end record claiming more entries than the cap is refused without walking them', async (t) => {
  // 65535 entries claimed, none present: refused on the count, not by running off the end.
  const zip = craftZip([], { declaredEntryCount: 65_535 });
  await refused(t, zip, 'InvalidParameterValueException', 'Zip file has 65535 entries; at most 1000 are allowed', { maxEntries: 1000 });
});

for (const name of ['../evil', 'a/../../evil', 'lib/..', '..\\evil']) {
  void test(`a '..' entry (${name}) is refused as escaping the root`, async (t) => {
    await refused(t, craftZip([{ name, data: 'pwned' }]), 'InvalidParameterValueException', escapes(name));
  });
}

for (const name of ['/etc/passwd', 'C:\\Windows\\evil.dll', 'c:evil', '\\server\\share']) {
  void test(`an absolute entry (${name}) is refused as escaping the root`, async (t) => {
    await refused(t, craftZip([{ name, data: 'pwned' }]), 'InvalidParameterValueException', escapes(name));
  });
}

void test('an entry with a backslash separator is refused', async (t) => {
  await refused(
    t,
    craftZip([{ name: 'lib\\util.js', data: 'x' }]),
    'InvalidParameterValueException',
    "Zip entry 'lib\\util.js' contains a backslash; zip entry names must use '/' as the separator",
  );
});

void test('an entry with a NUL byte is refused, the NUL shown escaped', async (t) => {
  await refused(
    t,
    craftZip([{ name: 'index.js\0.png', data: 'x' }]),
    'InvalidParameterValueException',
    "Zip entry 'index.js\\u0000.png' contains a NUL byte",
  );
});

void test('a symlink entry is refused', async (t) => {
  // Made by yazl as `zip -y` would store a link: S_IFLNK mode, the target as data.
  const zip = await zipEntries([
    { name: 'index.js', content: 'x' },
    { name: 'passwd', content: '/etc/passwd', mode: 0o120777 },
  ]);
  await refused(t, zip, 'InvalidParameterValueException', "Zip entry 'passwd' is a symbolic link, which is not allowed");
});

void test('a symlink entry pointing inside the root is refused too', async (t) => {
  await refused(
    t,
    craftZip([{ name: 'lib', data: '.', mode: 0o120755 }]),
    'InvalidParameterValueException',
    "Zip entry 'lib' is a symbolic link, which is not allowed",
  );
});

void test('a file that is also a directory is refused', async (t) => {
  await refused(
    t,
    craftZip([
      { name: 'lib', data: 'x' },
      { name: 'lib/util.js', data: 'y' },
    ]),
    'InvalidParameterValueException',
    "Zip entry 'lib/util.js' conflicts with entry 'lib'",
  );
});

void test('the same file twice is refused', async (t) => {
  await refused(
    t,
    craftZip([
      { name: 'index.js', data: 'one' },
      { name: './index.js', data: 'two' },
    ]),
    'InvalidParameterValueException',
    "Zip entry './index.js' appears more than once",
  );
});

void test('an entry name longer than the filesystem allows is refused at upload', async (t) => {
  const name = `${'a'.repeat(256)}.js`;
  await refused(
    t,
    craftZip([{ name, data: 'x' }]),
    'InvalidParameterValueException',
    /has a path longer than 2048 bytes or a name longer than 255 bytes/,
  );
});
