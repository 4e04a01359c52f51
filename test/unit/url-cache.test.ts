import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FunctionUrlRecord } from '../../src/store/index.js';
import { ServedUrlCache, type ServedUrl } from '../../src/urls/cache.js';

function served(urlId: string, functionName: string, publicAccess: boolean): ServedUrl {
  const url: FunctionUrlRecord = {
    urlId,
    functionName,
    qualifier: '$LATEST',
    authType: 'NONE',
    invokeMode: 'BUFFERED',
    cors: undefined,
    createdAt: 0,
    lastModified: 0,
  };
  return { url, publicAccess };
}

test("a URL is loaded once, and again after its function's entries are forgotten; other functions' stay", async () => {
  const loads: string[] = [];
  const cache = new ServedUrlCache((urlId) => {
    loads.push(urlId);
    return Promise.resolve(served(urlId, urlId === 'a' ? 'fa' : 'fb', true));
  });
  await cache.get('a');
  await cache.get('b');
  await cache.get('a');
  assert.deepEqual(loads, ['a', 'b']);
  cache.forget('fa');
  await cache.get('a');
  await cache.get('b');
  assert.deepEqual(loads, ['a', 'b', 'a']);
});

test('an unknown URL is not kept: it is looked up every time', async () => {
  let loads = 0;
  const cache = new ServedUrlCache(() => {
    loads++;
    return Promise.resolve(undefined);
  });
  assert.equal(await cache.get('x'), undefined);
  assert.equal(await cache.get('x'), undefined);
  assert.equal(loads, 2);
});

test('a load that a forget overtook is answered but not kept: the write it raced may have come after its read', async () => {
  let release: (() => void) | undefined;
  let loads = 0;
  const cache = new ServedUrlCache(async (urlId) => {
    loads++;
    if (loads === 1) await new Promise<void>((resolve) => (release = resolve));
    return served(urlId, 'f', loads > 1);
  });
  const first = cache.get('a');
  cache.forget('f');
  release?.();
  assert.equal((await first)?.publicAccess, false);
  assert.equal((await cache.get('a'))?.publicAccess, true, 'loaded again');
  assert.equal((await cache.get('a'))?.publicAccess, true);
  assert.equal(loads, 2);
});
