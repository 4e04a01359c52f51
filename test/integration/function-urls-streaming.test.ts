/**
 * Function URLs in InvokeMode RESPONSE_STREAM: the status, headers and cookies of the handler's
 * `HttpResponseStream.from` prelude are sent as soon as it writes, then the body as it is written.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { before, describe, test } from 'node:test';
import { CreateFunctionUrlConfigCommand } from '@aws-sdk/client-lambda';
import { zipDirectory } from '../../src/code/index.js';
import { allowPublicUrl, createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { fixtureDir } from '../helpers/server.js';
import { signalServer } from '../helpers/signal.js';

const k = useKumo({ stemCells: 0 });
let zip: Buffer;

before(async () => {
  zip = await zipDirectory(fixtureDir('node-streaming'));
});

/** A function with a public RESPONSE_STREAM URL; returns the URL's path-style root. */
async function streamingUrl(name: string, handler: string): Promise<string> {
  await createNodeFunction(k.lambda, name, zip, { Handler: `index.${handler}` });
  await allowPublicUrl(k.lambda, name);
  const out = await k.lambda.send(
    new CreateFunctionUrlConfigCommand({ FunctionName: name, AuthType: 'NONE', InvokeMode: 'RESPONSE_STREAM' }),
  );
  const id = /^http:\/\/([a-z0-9]{32})\./.exec(out.FunctionUrl ?? '')?.[1] ?? assert.fail(`FunctionUrl ${out.FunctionUrl}`);
  return `/_kumo/url/${id}`;
}

/** Starts a GET on Kumo's port; resolves with the response as soon as its head arrives. */
function get(path: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: k.kumo.port, path }, resolve).on('error', reject);
  });
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('function URLs with InvokeMode RESPONSE_STREAM', () => {
  test(
    "the prelude's status, headers and cookies, then the first chunk, arrive before the handler finishes",
    { timeout: 60_000 },
    async () => {
      const root = await streamingUrl('url-stream-chunks', 'urlChunks');
      const signal = await signalServer();
      try {
        const res = await get(`${root}/?signal=${encodeURIComponent(signal.url)}`);
        assert.equal(res.statusCode, 202);
        assert.equal(res.headers['content-type'], 'text/plain');
        assert.equal(res.headers['x-stage'], 'streaming');
        assert.deepEqual(res.headers['set-cookie'], ['s=1']);
        assert.equal(res.headers['transfer-encoding'], 'chunked');
        const first = await new Promise<string>((resolve) => res.once('data', (c: Buffer) => resolve(c.toString('utf8'))));
        assert.equal(first, 'first\n', 'the first chunk arrives while the handler waits for the signal');
        await signal.requested;
        signal.release();
        assert.equal(await readAll(res), 'last\n');
      } finally {
        await signal.close();
      }
    },
  );

  test('a streaming handler that fails before writing anything answers 502', async () => {
    const root = await streamingUrl('url-stream-fails', 'failsFirst');
    const res = await get(`${root}/`);
    assert.equal(res.statusCode, 502);
    assert.equal(await readAll(res), 'Internal Server Error');
  });

  test('a prelude with a status or a header that cannot be sent answers 502, and the server lives on', async () => {
    const root = await streamingUrl('url-stream-bad-prelude', 'urlBadPrelude');
    for (const path of ['/status', '/header']) {
      const res = await get(`${root}${path}`);
      assert.equal(res.statusCode, 502, path);
      assert.equal(res.headers['x-injected'], undefined, path);
      assert.equal(await readAll(res), 'Internal Server Error');
    }
    const again = await get(`${root}/status`);
    assert.equal(again.statusCode, 502);
    await readAll(again);
  });

  test('a handler that does not stream is mapped as a payload 2.0 response, as in BUFFERED mode', async () => {
    const root = await streamingUrl('url-stream-plain', 'urlPlain');
    const res = await get(`${root}/`);
    assert.equal(res.statusCode, 418);
    assert.equal(res.headers['x-plain'], 'yes');
    assert.equal(await readAll(res), 'teapot');
  });

  test("a streamed response without a prelude is a 200 with the stream's Content-Type", async () => {
    const root = await streamingUrl('url-stream-typed', 'typed');
    const res = await get(`${root}/`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/x-ndjson');
    assert.equal(await readAll(res), '{"n":1}\n{"late":"Runtime.InvalidStreamingOperation"}');
  });
});
