/**
 * readHttpPrelude (src/functions): what a function URL in RESPONSE_STREAM mode reads from a
 * streamed response, against bodies split in awkward places.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { HTTP_INTEGRATION_CONTENT_TYPE, readHttpPrelude, type ResponseStream } from '../../src/functions/index.js';

function response(contentType: string, pieces: Array<string | Buffer>): ResponseStream {
  return {
    contentType,
    streaming: true,
    body: Readable.from(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))),
    completion: Promise.resolve({ error: undefined, logLines: undefined, durationMs: 1 }),
  };
}

async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

const NUL8 = '\0'.repeat(8);

test('a prelude and delimiter split across chunks, the body starting in the same chunk as the delimiter ends', async () => {
  const r = await readHttpPrelude(
    response(HTTP_INTEGRATION_CONTENT_TYPE, ['{"statusCode":418,"head', 'ers":{"X-A":"1"},"cookies":["c=d"]}\0\0\0', '\0\0\0\0\0bo', 'dy']),
  );
  assert.equal(r.statusCode, 418);
  assert.deepEqual(r.headers, { 'x-a': '1' });
  assert.deepEqual(r.cookies, ['c=d']);
  assert.equal(await text(r.body), 'body');
});

test('no statusCode means 200; a body may hold NUL bytes after the delimiter', async () => {
  const r = await readHttpPrelude(response(HTTP_INTEGRATION_CONTENT_TYPE, [`{}${NUL8}a${NUL8}b`]));
  assert.equal(r.statusCode, 200);
  assert.equal(await text(r.body), `a${NUL8}b`);
});

test('another Content-Type: 200 with it, the body untouched', async () => {
  const r = await readHttpPrelude(response('text/html; charset=utf-8', ['<p>', 'hi</p>']));
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.headers, { 'content-type': 'text/html; charset=utf-8' });
  assert.equal(await text(r.body), '<p>hi</p>');
});

test('a prelude that is not a JSON object is a 502 with an empty body', async () => {
  for (const prelude of ['not json', '[1,2]', '"x"']) {
    const r = await readHttpPrelude(response(HTTP_INTEGRATION_CONTENT_TYPE, [`${prelude}${NUL8}body`]));
    assert.equal(r.statusCode, 502, prelude);
    assert.equal(await text(r.body), '');
  }
});

test('a stream that ends before the delimiter is all prelude; one past 64 KB without it is a 502', async () => {
  const short = await readHttpPrelude(response(HTTP_INTEGRATION_CONTENT_TYPE, ['{"statusCode":204}']));
  assert.equal(short.statusCode, 204);
  assert.equal(await text(short.body), '');
  const long = await readHttpPrelude(response(HTTP_INTEGRATION_CONTENT_TYPE, [Buffer.alloc(70 * 1024, 0x20)]));
  assert.equal(long.statusCode, 502);
});
