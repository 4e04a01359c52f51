/**
 * Function URLs against a real Kumo: the five configuration operations with @aws-sdk/client-lambda
 * and the AWS CLI (shapes, Lambda's errors for misuse, cleanup with the function and the alias),
 * and the URLs themselves over plain HTTP with node:http — host-style (Host
 * `<id>.lambda-url.us-east-1.localhost`) and path-style (`/_kumo/url/<id>/...`): the payload 2.0
 * event the function sees, Lambda's response mapping, CORS, the resource policy AuthType NONE
 * needs, and SigV4 for AuthType AWS_IAM (signed by @smithy/signature-v4, as a client does).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { before, describe, test } from 'node:test';
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateFunctionUrlConfigCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteFunctionUrlConfigCommand,
  GetFunctionUrlConfigCommand,
  ListFunctionUrlConfigsCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  RemovePermissionCommand,
  UpdateFunctionUrlConfigCommand,
  type CreateFunctionUrlConfigCommandInput,
} from '@aws-sdk/client-lambda';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { zipEntries } from '../../src/code/index.js';
import { AWS_CLI_MISSING, awsCli } from '../helpers/aws-cli.js';
import { rejectsWith } from '../helpers/errors.js';
import { allowPublicUrl, createNodeFunction } from '../helpers/functions.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { startKumo, TEST_CREDENTIALS, type TestKumo } from '../helpers/server.js';
import { qualifiedArn } from '../helpers/versions.js';

/** One handler for every case: the path picks what it answers. */
const HANDLER = `
exports.handler = async (event) => {
  switch (event.rawPath) {
    case '/custom':
      return { statusCode: 201, headers: { 'Content-Type': 'text/plain', 'X-Custom': 'yes', 'X-Number': 7 },
               cookies: ['a=1; Path=/', 'b=2; Max-Age=60'], body: 'created' };
    case '/binary':
      return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, isBase64Encoded: true,
               body: Buffer.from([0, 1, 2, 255]).toString('base64') };
    case '/string': return 'Hello, world!';
    case '/number': return 42;
    case '/object': return { message: 'hi', body: 'not a response' };
    case '/throw': throw new Error('boom');
    case '/bad-value': return { statusCode: 200, headers: { 'x-split': 'a\\r\\nx-injected: yes' }, body: 'x' };
    case '/bad-name': return { statusCode: 200, headers: { 'bad name': 'x' }, body: 'x' };
    case '/bad-cookie': return { statusCode: 200, cookies: ['a=1\\nb=2'], body: 'x' };
    case '/framing':
      return { statusCode: 200, headers: { 'Content-Length': '1', 'Transfer-Encoding': 'chunked', 'x-utf8': 'caf\u00e9 \u20ac' }, body: 'hello' };
    case '/own-cors':
      return { statusCode: 200, headers: { 'Access-Control-Allow-Origin': 'https://elsewhere.example', 'X-Own': '1' }, body: 'x' };
    default: return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) };
  }
};`;

const k = useKumo({ stemCells: 0 });
let zip: Buffer;

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
}

/** A plain HTTP request to Kumo's port on 127.0.0.1, with whatever Host it names. */
function request(
  path: string,
  options: { method?: string; host?: string; headers?: Record<string, string | string[]>; body?: Buffer | string } = {},
): Promise<HttpAnswer> {
  const port = k.kumo.port;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function hostOf(urlId: string): string {
  return `${urlId}.lambda-url.us-east-1.localhost:${k.kumo.port}`;
}

function idOf(functionUrl: string | undefined): string {
  const m = /^http:\/\/([a-z0-9]{32})\.lambda-url\.us-east-1\.localhost:(\d+)\/$/.exec(functionUrl ?? '');
  assert.ok(m?.[1], `FunctionUrl ${functionUrl}`);
  assert.equal(Number(m[2]), k.kumo.port);
  return m[1];
}

async function createFunction(name: string): Promise<void> {
  await createNodeFunction(k.lambda, name, zip);
}

/** The two statements a public (AuthType NONE) URL needs since October 2025. */
function allowPublic(name: string): Promise<void> {
  return allowPublicUrl(k.lambda, name);
}

/** A function with a public URL; returns the URL id. */
async function publicUrl(name: string, extra: Partial<CreateFunctionUrlConfigCommandInput> = {}): Promise<string> {
  await createFunction(name);
  await allowPublic(name);
  const out = await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: name, AuthType: 'NONE', ...extra }));
  return idOf(out.FunctionUrl);
}

before(async () => {
  zip = await zipEntries([{ name: 'index.js', content: HANDLER }]);
});

describe('configuration API', () => {
  test('a Host header that is no URL host does not break the configuration API: FunctionUrl then names no port', async () => {
    await createFunction('url-odd-host');
    await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-odd-host', AuthType: 'AWS_IAM' }));
    const res = await request('/2021-10-31/functions/url-odd-host/url', { host: 'not a host' });
    assert.equal(res.status, 200, res.text);
    assert.match((JSON.parse(res.text) as { FunctionUrl: string }).FunctionUrl, /^http:\/\/[a-z0-9]{32}\.lambda-url\.us-east-1\.localhost\/$/);
  });

  test('Create answers 201 with the FunctionUrlConfig; Get, Update, List and Delete follow it', async () => {
    await createFunction('url-life');
    const created = await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-life', AuthType: 'NONE' }));
    assert.equal(created.$metadata.httpStatusCode, 201);
    const id = idOf(created.FunctionUrl);
    assert.equal(created.FunctionArn, qualifiedArn('url-life'));
    assert.equal(created.AuthType, 'NONE');
    assert.equal(created.InvokeMode, 'BUFFERED');
    assert.equal(created.Cors, undefined);
    assert.match(created.CreationTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const got = await k.lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'url-life' }));
    assert.equal(got.FunctionUrl, created.FunctionUrl);
    assert.equal(got.CreationTime, created.CreationTime);
    assert.match(got.LastModifiedTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const cors = { AllowOrigins: ['https://example.com'], AllowMethods: ['GET', 'POST'], AllowHeaders: ['x-custom'], MaxAge: 300 };
    const updated = await k.lambda.send(
      new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-life', AuthType: 'AWS_IAM', Cors: cors, InvokeMode: 'RESPONSE_STREAM' }),
    );
    assert.equal(updated.$metadata.httpStatusCode, 200);
    assert.equal(updated.FunctionUrl, created.FunctionUrl, 'the URL never changes');
    assert.equal(updated.AuthType, 'AWS_IAM');
    assert.equal(updated.InvokeMode, 'RESPONSE_STREAM');
    assert.deepEqual(updated.Cors, cors);
    assert.ok((updated.LastModifiedTime ?? '') >= (got.LastModifiedTime ?? ''));

    const partial = await k.lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-life', AuthType: 'NONE' }));
    assert.deepEqual(partial.Cors, cors, 'an update without Cors keeps it');
    assert.equal(partial.InvokeMode, 'RESPONSE_STREAM');

    const list = await k.lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'url-life' }));
    assert.equal(list.FunctionUrlConfigs?.length, 1);
    assert.equal(list.FunctionUrlConfigs?.[0]?.FunctionUrl, created.FunctionUrl);
    assert.equal(list.NextMarker, undefined);

    const deleted = await k.lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'url-life' }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    await rejectsWith(
      k.lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'url-life' })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
    assert.equal((await request(`/_kumo/url/${id}/`)).status, 403, 'a deleted URL answers 403');
  });

  test('an alias has its own URL, which goes with the alias; all go with the function', async () => {
    await createFunction('url-alias');
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'url-alias' }));
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'url-alias', Name: 'live', FunctionVersion: '1' }));
    const latest = await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-alias', AuthType: 'NONE' }));
    const live = await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-alias', Qualifier: 'live', AuthType: 'AWS_IAM' }));
    assert.equal(live.FunctionArn, qualifiedArn('url-alias', 'live'));
    assert.notEqual(idOf(live.FunctionUrl), idOf(latest.FunctionUrl));
    const byArn = await k.lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: qualifiedArn('url-alias', 'live') }));
    assert.equal(byArn.FunctionUrl, live.FunctionUrl, 'an alias ARN names the alias URL');

    const page1 = await k.lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'url-alias', MaxItems: 1 }));
    assert.equal(page1.FunctionUrlConfigs?.length, 1);
    assert.ok(page1.NextMarker);
    const page2 = await k.lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'url-alias', Marker: page1.NextMarker }));
    assert.deepEqual(
      [...(page1.FunctionUrlConfigs ?? []), ...(page2.FunctionUrlConfigs ?? [])].map((u) => u.FunctionArn),
      [qualifiedArn('url-alias'), qualifiedArn('url-alias', 'live')],
    );

    await k.lambda.send(new DeleteAliasCommand({ FunctionName: 'url-alias', Name: 'live' }));
    const left = await k.lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'url-alias' }));
    assert.deepEqual(left.FunctionUrlConfigs?.map((u) => u.FunctionArn), [qualifiedArn('url-alias')]);

    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'url-alias' }));
    await createFunction('url-alias');
    const none = await k.lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'url-alias' }));
    assert.deepEqual(none.FunctionUrlConfigs, [], 'a new function of the same name has no URL');
    assert.equal((await request(`/_kumo/url/${idOf(latest.FunctionUrl)}/`)).status, 403);
  });

  test("misuse gets Lambda's errors", async () => {
    await createFunction('url-errors');
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'url-errors' }));
    const first = await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-errors', AuthType: 'NONE' }));
    await rejectsWith(
      k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-errors', AuthType: 'AWS_IAM' })),
      'ResourceConflictException',
      `Failed to create function url config for [functionArn = ${first.FunctionArn}]. Error message:  FunctionUrlConfig exists for this Lambda function`,
    );
    await rejectsWith(
      k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-errors', Qualifier: '1', AuthType: 'NONE' })),
      'ValidationException',
      "1 validation error detected: Value '1' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (^\\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))",
    );
    await rejectsWith(
      k.lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'url-errors', Qualifier: '$LATEST' })),
      'ValidationException',
      "1 validation error detected: Value '$LATEST' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)",
    );
    await rejectsWith(
      k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-errors', Qualifier: 'nope', AuthType: 'NONE' })),
      'ResourceNotFoundException',
      'Function does not exist',
    );
    await rejectsWith(
      k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-missing', AuthType: 'NONE' })),
      'ResourceNotFoundException',
      'Function does not exist',
    );
    await rejectsWith(
      k.lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'url-missing' })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
    await rejectsWith(
      k.lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'url-missing' })),
      'ResourceNotFoundException',
      'Function does not exist',
    );
    await rejectsWith(
      k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-errors', AuthType: 'BASIC' as 'NONE' })),
      'ValidationException',
      "1 validation error detected: Value 'BASIC' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]",
    );
    await rejectsWith(
      k.lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-errors', InvokeMode: 'STREAM' as 'BUFFERED' })),
      'ValidationException',
      "1 validation error detected: Value 'STREAM' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]",
    );
    await rejectsWith(
      k.lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-errors', Cors: { MaxAge: 86401 } })),
      'ValidationException',
      "1 validation error detected: Value '86401' at 'cors.maxAge' failed to satisfy constraint: Member must have value less than or equal to 86400",
    );
    await rejectsWith(
      k.lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-errors', Cors: { AllowMethods: ['GET', 'CONNECTX'] } })),
      'ValidationException',
      /at 'cors.allowMethods' failed to satisfy constraint: Member must satisfy constraint: \[Member must have length less than or equal to 6/,
    );
    await rejectsWith(
      k.lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-errors', Cors: { AllowOrigins: [''] } })),
      'ValidationException',
      /at 'cors.allowOrigins' failed to satisfy constraint: Member must satisfy constraint: \[Member must have length greater than or equal to 1/,
    );
    await rejectsWith(
      k.lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'url-errors', MaxItems: 51 })),
      'ValidationException',
      "1 validation error detected: Value '51' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50",
    );
    await k.lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'url-errors' }));
    await rejectsWith(
      k.lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'url-errors' })),
      'ResourceNotFoundException',
      'The resource you requested does not exist.',
    );
    const unchanged = await k.lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'url-errors' }));
    assert.deepEqual(unchanged.FunctionUrlConfigs, [], 'refused requests changed nothing');
  });

  test('a missing AuthType is refused', async () => {
    const res = await request('/2021-10-31/functions/url-errors/url', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(res.headers['x-amzn-errortype'], 'ValidationException');
    assert.match(res.text, /Value null at 'authType' failed to satisfy constraint: Member must not be null/);
  });
});

describe('the AWS CLI', { skip: AWS_CLI_MISSING }, () => {
  test('create-, get-, update-, list- and delete-function-url-config', async () => {
    await createFunction('url-cli');
    const cli = awsCli(k, 'lambda');
    const created = await cli('create-function-url-config', '--function-name', 'url-cli', '--auth-type', 'NONE', '--cors', 'AllowOrigins=https://a.example,MaxAge=60');
    assert.equal(created.code, 0, created.stderr);
    const config = JSON.parse(created.stdout) as { FunctionUrl: string; Cors: unknown; AuthType: string };
    idOf(config.FunctionUrl);
    assert.deepEqual(config.Cors, { AllowOrigins: ['https://a.example'], MaxAge: 60 });
    const again = await cli('create-function-url-config', '--function-name', 'url-cli', '--auth-type', 'NONE');
    assert.equal(again.code, 254);
    assert.match(again.stderr, /ResourceConflictException/);
    const updated = await cli('update-function-url-config', '--function-name', 'url-cli', '--auth-type', 'AWS_IAM');
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal((JSON.parse(updated.stdout) as { AuthType: string }).AuthType, 'AWS_IAM');
    const got = await cli('get-function-url-config', '--function-name', 'url-cli');
    assert.equal((JSON.parse(got.stdout) as { FunctionUrl: string }).FunctionUrl, config.FunctionUrl);
    const listed = await cli('list-function-url-configs', '--function-name', 'url-cli');
    assert.equal((JSON.parse(listed.stdout) as { FunctionUrlConfigs: unknown[] }).FunctionUrlConfigs.length, 1);
    const deleted = await cli('delete-function-url-config', '--function-name', 'url-cli');
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await cli('get-function-url-config', '--function-name', 'url-cli');
    assert.equal(gone.code, 254);
    assert.match(gone.stderr, /ResourceNotFoundException/);
  });
});

describe('AuthType NONE and the resource policy', () => {
  test('without lambda:InvokeFunctionUrl and lambda:InvokeFunction for everyone the URL answers 403', async () => {
    await createFunction('url-policy');
    const out = await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-policy', AuthType: 'NONE' }));
    const id = idOf(out.FunctionUrl);
    const denied = await request('/string', { host: hostOf(id) });
    assert.equal(denied.status, 403);
    assert.deepEqual(JSON.parse(denied.text), { Message: 'Forbidden' });
    await k.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'url-policy',
        StatementId: 'url',
        Action: 'lambda:InvokeFunctionUrl',
        Principal: '*',
        FunctionUrlAuthType: 'NONE',
      }),
    );
    assert.equal((await request('/string', { host: hostOf(id) })).status, 403, 'InvokeFunctionUrl alone is not enough');
    await k.lambda.send(
      new AddPermissionCommand({ FunctionName: 'url-policy', StatementId: 'invoke', Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true }),
    );
    const allowed = await request('/string', { host: hostOf(id) });
    assert.equal(allowed.status, 200, allowed.text);
  });

  test("an alias URL with AuthType NONE is governed by the alias's own policy, not the function's", async () => {
    await createFunction('url-alias-none');
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'url-alias-none' }));
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'url-alias-none', Name: 'live', FunctionVersion: '1' }));
    await allowPublic('url-alias-none');
    const out = await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-alias-none', Qualifier: 'live', AuthType: 'NONE' }));
    const id = idOf(out.FunctionUrl);
    assert.equal((await request('/string', { host: hostOf(id) })).status, 403, "the unqualified function's statements do not open the alias URL");
    for (const [StatementId, Action, extra] of [
      ['alias-url', 'lambda:InvokeFunctionUrl', { FunctionUrlAuthType: 'NONE' as const }],
      ['alias-invoke', 'lambda:InvokeFunction', { InvokedViaFunctionUrl: true }],
    ] as const) {
      await k.lambda.send(new AddPermissionCommand({ FunctionName: 'url-alias-none', Qualifier: 'live', StatementId, Action, Principal: '*', ...extra }));
    }
    const allowed = await request('/string', { host: hostOf(id) });
    assert.equal(allowed.status, 200, allowed.text);
  });

  test('an unknown URL id answers 403', async () => {
    const res = await request('/', { host: hostOf('a'.repeat(32)) });
    assert.equal(res.status, 403);
    assert.deepEqual(JSON.parse(res.text), { Message: 'Forbidden' });
  });
});

/**
 * A warm URL is served from memory (src/urls/cache.ts): each test warms one, changes what it
 * depends on through the API, and the very next request must see the change.
 */
describe('a warm URL follows every change as soon as the API call answers', () => {
  /** Two requests, so the second is served warm; both must succeed. */
  async function warmUp(id: string): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const res = await request('/string', { host: hostOf(id) });
      assert.equal(res.status, 200, res.text);
    }
  }
  const status = async (id: string): Promise<number> => (await request('/string', { host: hostOf(id) })).status;

  test('RemovePermission of the public statement: the next request is 403, and AddPermission opens it again', async () => {
    const id = await publicUrl('url-warm-policy');
    await warmUp(id);
    await k.lambda.send(new RemovePermissionCommand({ FunctionName: 'url-warm-policy', StatementId: 'FunctionURLAllowInvokeAction' }));
    assert.equal(await status(id), 403);
    await k.lambda.send(
      new AddPermissionCommand({
        FunctionName: 'url-warm-policy',
        StatementId: 'again',
        Action: 'lambda:InvokeFunction',
        Principal: '*',
        InvokedViaFunctionUrl: true,
      }),
    );
    assert.equal(await status(id), 200);
  });

  test('UpdateFunctionUrlConfig AuthType NONE to AWS_IAM: the next unsigned request is 403; back to NONE it is 200', async () => {
    const id = await publicUrl('url-warm-auth');
    await warmUp(id);
    await k.lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-warm-auth', AuthType: 'AWS_IAM' }));
    assert.equal(await status(id), 403);
    await k.lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-warm-auth', AuthType: 'NONE' }));
    assert.equal(await status(id), 200);
  });

  test('UpdateFunctionUrlConfig Cors: the next preflight answers with the new settings', async () => {
    const id = await publicUrl('url-warm-cors', { Cors: { AllowOrigins: ['https://one.example'], AllowMethods: ['GET'] } });
    const preflight = (origin: string): Promise<HttpAnswer> =>
      request('/', { method: 'OPTIONS', host: hostOf(id), headers: { origin, 'access-control-request-method': 'GET' } });
    assert.equal((await preflight('https://one.example')).headers['access-control-allow-origin'], 'https://one.example');
    await k.lambda.send(
      new UpdateFunctionUrlConfigCommand({ FunctionName: 'url-warm-cors', Cors: { AllowOrigins: ['https://two.example'], AllowMethods: ['GET'] } }),
    );
    assert.equal((await preflight('https://one.example')).headers['access-control-allow-origin'], undefined);
    assert.equal((await preflight('https://two.example')).headers['access-control-allow-origin'], 'https://two.example');
  });

  test('DeleteFunctionUrlConfig: the next request is 403', async () => {
    const id = await publicUrl('url-warm-delete');
    await warmUp(id);
    await k.lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'url-warm-delete' }));
    assert.equal(await status(id), 403);
  });

  test('DeleteFunction: the old URL is 403, even once a public function of the same name is back', async () => {
    const id = await publicUrl('url-warm-function');
    await warmUp(id);
    await k.lambda.send(new DeleteFunctionCommand({ FunctionName: 'url-warm-function' }));
    await createFunction('url-warm-function');
    await allowPublic('url-warm-function');
    assert.equal(await status(id), 403);
  });

  test('an alias URL: RemovePermission on the alias, then DeleteAlias, each shut it at once', async () => {
    await createFunction('url-warm-alias');
    await k.lambda.send(new PublishVersionCommand({ FunctionName: 'url-warm-alias' }));
    await k.lambda.send(new CreateAliasCommand({ FunctionName: 'url-warm-alias', Name: 'live', FunctionVersion: '1' }));
    const target = { FunctionName: 'url-warm-alias', Qualifier: 'live', Principal: '*' };
    const grant = (StatementId: 'alias-url' | 'alias-invoke'): Promise<unknown> =>
      k.lambda.send(
        new AddPermissionCommand(
          StatementId === 'alias-url'
            ? { ...target, StatementId, Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE' }
            : { ...target, StatementId, Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true },
        ),
      );
    await grant('alias-url');
    await grant('alias-invoke');
    const out = await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-warm-alias', Qualifier: 'live', AuthType: 'NONE' }));
    const id = idOf(out.FunctionUrl);
    await warmUp(id);
    await k.lambda.send(new RemovePermissionCommand({ FunctionName: 'url-warm-alias', Qualifier: 'live', StatementId: 'alias-url' }));
    assert.equal(await status(id), 403);
    await grant('alias-url');
    await warmUp(id);
    await k.lambda.send(new DeleteAliasCommand({ FunctionName: 'url-warm-alias', Name: 'live' }));
    assert.equal(await status(id), 403);
  });
});

interface EchoedEvent {
  version: string;
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: Record<string, unknown> & { http: Record<string, string>; authorizer?: { iam: Record<string, unknown> } };
  body?: string;
  isBase64Encoded: boolean;
}

function echoed(res: HttpAnswer): EchoedEvent {
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text) as EchoedEvent;
}

describe('the payload 2.0 event', () => {
  let id: string;
  before(async () => {
    id = await publicUrl('url-echo');
  });

  test('host-style: method, paths, query, cookies, repeated headers and a text body', async () => {
    const before = Date.now();
    const res = await request('/echo/a%20b?x=1&x=2&y=z%20w', {
      method: 'POST',
      host: hostOf(id),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'kumo-test/1',
        'x-multi': ['one', 'two'],
        cookie: 'c1=v1; c2=v2',
      },
      body: '{"hello":"world"}',
    });
    const event = echoed(res);
    assert.match(String(res.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
    assert.equal(event.version, '2.0');
    assert.equal(event.routeKey, '$default');
    assert.equal(event.rawPath, '/echo/a%20b');
    assert.equal(event.rawQueryString, 'x=1&x=2&y=z%20w');
    assert.deepEqual(event.queryStringParameters, { x: '1,2', y: 'z w' });
    assert.deepEqual(event.cookies, ['c1=v1', 'c2=v2']);
    assert.equal(event.headers.cookie, undefined, 'cookies are not repeated in headers');
    assert.equal(event.headers['x-multi'], 'one,two');
    assert.equal(event.headers['content-type'], 'application/json');
    assert.equal(event.headers.host, hostOf(id));
    assert.equal(event.body, '{"hello":"world"}');
    assert.equal(event.isBase64Encoded, false);
    const ctx = event.requestContext;
    assert.equal(ctx.accountId, 'anonymous');
    assert.equal(ctx.apiId, id);
    assert.equal(ctx.authentication, null);
    assert.equal(ctx.authorizer, undefined);
    assert.equal(ctx.domainName, `${id}.lambda-url.us-east-1.localhost`);
    assert.equal(ctx.domainPrefix, id);
    assert.deepEqual(ctx.http, { method: 'POST', path: '/echo/a%20b', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'kumo-test/1' });
    assert.equal(ctx.requestId, res.headers['x-amzn-requestid']);
    assert.equal(ctx.routeKey, '$default');
    assert.equal(ctx.stage, '$default');
    assert.ok(typeof ctx.timeEpoch === 'number' && ctx.timeEpoch >= before - 1000 && ctx.timeEpoch <= Date.now());
    assert.match(String(ctx.time), /^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
  });

  test('binary bodies (and bodies without a content type) arrive base64-encoded; no body, no query, no cookies are left out', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const binary = echoed(await request('/echo', { method: 'PUT', host: hostOf(id), headers: { 'content-type': 'application/octet-stream' }, body: bytes }));
    assert.equal(binary.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(binary.body ?? '', 'base64'), bytes);
    const form = echoed(
      await request('/echo', { method: 'POST', host: hostOf(id), headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }),
    );
    assert.equal(form.isBase64Encoded, true, 'Lambda base64-encodes form posts');
    assert.equal(Buffer.from(form.body ?? '', 'base64').toString(), 'a=1');
    const text = echoed(await request('/echo', { method: 'POST', host: hostOf(id), headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'héllo' }));
    assert.equal(text.body, 'héllo');
    assert.equal(text.isBase64Encoded, false);
    const bare = echoed(await request('/echo', { host: hostOf(id) }));
    assert.equal(bare.body, undefined);
    assert.equal(bare.isBase64Encoded, false);
    assert.equal(bare.cookies, undefined);
    assert.equal(bare.queryStringParameters, undefined);
    assert.equal(bare.rawQueryString, '');
  });

  test('path-style: /_kumo/url/<id>/<path> reaches the same function with the path after the id', async () => {
    const event = echoed(await request(`/_kumo/url/${id}/echo/deep?q=1`));
    assert.equal(event.rawPath, '/echo/deep');
    assert.equal(event.requestContext.http.path, '/echo/deep');
    assert.equal(event.rawQueryString, 'q=1');
    assert.equal(event.requestContext.domainName, `${id}.lambda-url.us-east-1.localhost`);
    const root = echoed(await request(`/_kumo/url/${id}`));
    assert.equal(root.rawPath, '/');
  });
});

describe('response mapping', () => {
  let id: string;
  before(async () => {
    id = await publicUrl('url-respond');
  });

  test('statusCode, headers, cookies and body', async () => {
    const res = await request('/custom', { host: hostOf(id) });
    assert.equal(res.status, 201);
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal(res.headers['x-custom'], 'yes');
    assert.equal(res.headers['x-number'], '7');
    assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Max-Age=60']);
    assert.equal(res.text, 'created');
  });

  test('a base64 body is decoded', async () => {
    const res = await request('/binary', { host: hostOf(id) });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(res.body, Buffer.from([0, 1, 2, 255]));
  });

  test('JSON without statusCode (a string, a number, an object) is a 200 application/json with the JSON as body', async () => {
    for (const [path, body] of [
      ['/string', '"Hello, world!"'],
      ['/number', '42'],
      ['/object', '{"message":"hi","body":"not a response"}'],
    ] as const) {
      const res = await request(path, { host: hostOf(id) });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers['content-type'], 'application/json', path);
      assert.equal(res.text, body, path);
    }
  });

  test('a function error is a 502', async () => {
    const res = await request('/throw', { host: hostOf(id) });
    assert.equal(res.status, 502);
    assert.equal(res.text, 'Internal Server Error');
  });

  test('headers that cannot be sent are a 502, and the server lives on', async () => {
    for (const path of ['/bad-value', '/bad-name', '/bad-cookie']) {
      const res = await request(path, { host: hostOf(id) });
      assert.equal(res.status, 502, path);
      assert.equal(res.headers['x-injected'], undefined, path);
    }
    assert.equal((await request('/string', { host: hostOf(id) })).status, 200);
  });

  test("a function's Content-Length and Transfer-Encoding do not frame the response; values go out as UTF-8", async () => {
    const res = await request('/framing', { host: hostOf(id) });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'hello');
    assert.equal(res.headers['content-length'], '5');
    assert.equal(res.headers['transfer-encoding'], undefined);
    assert.equal(Buffer.from(String(res.headers['x-utf8']), 'latin1').toString('utf8'), 'caf\u00e9 \u20ac');
  });

  test('a throttled function is a 429, and a request over 6 MB a 413', async () => {
    const throttled = await publicUrl('url-throttled');
    await k.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'url-throttled', ReservedConcurrentExecutions: 0 }));
    const res = await request('/string', { host: hostOf(throttled) });
    assert.equal(res.status, 429);
    assert.ok((JSON.parse(res.text) as { Message: string }).Message);
    const big = await request('/echo', { method: 'POST', host: hostOf(id), headers: { 'content-type': 'text/plain' }, body: Buffer.alloc(6 * 1024 * 1024 + 1, 97) });
    assert.equal(big.status, 413);
  });
});

describe('CORS', () => {
  let id: string;
  before(async () => {
    id = await publicUrl('url-cors', {
      Cors: {
        AllowOrigins: ['https://app.example'],
        AllowMethods: ['GET', 'POST'],
        AllowHeaders: ['x-custom', 'content-type'],
        ExposeHeaders: ['x-custom'],
        AllowCredentials: true,
        MaxAge: 600,
      },
    });
  });

  test('a preflight from an allowed origin is answered by Kumo with the configured headers', async () => {
    const res = await request('/echo', {
      method: 'OPTIONS',
      host: hostOf(id),
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-custom' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0, 'the function (which would echo its event) was not invoked');
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(res.headers['access-control-allow-methods'], 'GET,POST');
    assert.equal(res.headers['access-control-allow-headers'], 'x-custom,content-type');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-max-age'], '600');
  });

  test('a preflight from another origin, or for another method, gets no CORS headers', async () => {
    for (const [origin, method] of [
      ['https://evil.example', 'POST'],
      ['https://app.example', 'DELETE'],
    ]) {
      const res = await request('/echo', { method: 'OPTIONS', host: hostOf(id), headers: { origin: origin ?? '', 'access-control-request-method': method ?? '' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], undefined, `${origin} ${method}`);
    }
  });

  test("simple requests from an allowed origin get the configured headers, over the function's own", async () => {
    const res = await request('/own-cors', { host: hostOf(id), headers: { origin: 'https://app.example' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-expose-headers'], 'x-custom');
    assert.equal(res.headers['x-own'], '1');
    const other = await request('/echo', { host: hostOf(id), headers: { origin: 'https://evil.example' } });
    assert.equal(other.status, 200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });
});

describe('AuthType AWS_IAM', () => {
  let id: string;
  before(async () => {
    await createFunction('url-iam');
    const out = await k.lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'url-iam', AuthType: 'AWS_IAM' }));
    id = idOf(out.FunctionUrl);
  });

  /** Signs a request as an AWS client does (service lambda, Kumo's region) and sends it to 127.0.0.1. */
  async function signed(
    path: string,
    query: Record<string, string>,
    body: string,
    credentials = TEST_CREDENTIALS,
    options: { pathStyle?: boolean; tamper?: string; unsignedPayload?: boolean } = {},
  ): Promise<HttpAnswer> {
    const host = options.pathStyle ? `127.0.0.1:${k.kumo.port}` : hostOf(id);
    const fullPath = options.pathStyle ? `/_kumo/url/${id}${path}` : path;
    const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'lambda', sha256: Hash.bind(null, 'sha256') });
    const req = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: host.replace(/:\d+$/, ''),
      port: k.kumo.port,
      path: fullPath,
      query,
      headers: { host, 'content-type': 'application/json', ...(options.unsignedPayload ? { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } : {}) },
      body,
    });
    const qs = Object.entries(query)
      .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
      .join('&');
    return request(`${fullPath}${qs ? `?${qs}` : ''}`, { method: 'POST', host, headers: req.headers, body: options.tamper ?? body });
  }

  test('a request signed with Kumo’s credentials is invoked, with the caller in requestContext.authorizer.iam', async () => {
    const event = echoed(await signed('/echo', { a: '1', b: 'two words' }, '{"signed":true}'));
    assert.equal(event.body, '{"signed":true}');
    assert.equal(event.requestContext.accountId, '000000000000');
    assert.equal(event.requestContext.authorizer?.iam.accessKey, 'test');
    assert.equal(event.requestContext.authorizer?.iam.accountId, '000000000000');
    assert.equal(event.requestContext.authorizer?.iam.userArn, 'arn:aws:iam::000000000000:root');
    const pathStyle = echoed(await signed('/echo', {}, '{}', TEST_CREDENTIALS, { pathStyle: true }));
    assert.equal(pathStyle.rawPath, '/echo');
  });

  test('an unsigned request, a wrong secret, another key and a changed body are refused with 403', async () => {
    const unsigned = await request('/echo', { method: 'POST', host: hostOf(id), body: '{}' });
    assert.equal(unsigned.status, 403);
    assert.deepEqual(JSON.parse(unsigned.text), { Message: 'Forbidden' });
    const wrongSecret = await signed('/echo', {}, '{}', { accessKeyId: 'test', secretAccessKey: 'not-the-secret' });
    assert.equal(wrongSecret.status, 403);
    assert.match((JSON.parse(wrongSecret.text) as { Message: string }).Message, /signature we calculated does not match/);
    const otherKey = await signed('/echo', {}, '{}', { accessKeyId: 'AKIAOTHER', secretAccessKey: 'test' });
    assert.equal(otherKey.status, 403);
    const tampered = await signed('/echo', {}, '{"amount":1}', TEST_CREDENTIALS, { tamper: '{"amount":9}' });
    assert.equal(tampered.status, 403);
  });

  test('a signature that does not cover the body (x-amz-content-sha256: UNSIGNED-PAYLOAD) is refused, as Lambda refuses it', async () => {
    const unsignedBody = await signed('/echo', {}, '{"amount":1}', TEST_CREDENTIALS, { unsignedPayload: true });
    assert.equal(unsignedBody.status, 403);
    const replayed = await signed('/echo', {}, '{"amount":1}', TEST_CREDENTIALS, { unsignedPayload: true, tamper: '{"amount":9}' });
    assert.equal(replayed.status, 403);
  });
});

describe('persistence', () => {
  test('a URL and its settings survive a restart, with the same id', async () => {
    const first = await startKumo({ stemCells: 0 });
    let second: TestKumo | undefined;
    try {
      await createNodeFunction(first.lambda, 'url-kept', zip);
      const created = await first.lambda.send(
        new CreateFunctionUrlConfigCommand({ FunctionName: 'url-kept', AuthType: 'AWS_IAM', Cors: { AllowOrigins: ['*'] }, InvokeMode: 'RESPONSE_STREAM' }),
      );
      await first.close({ keepData: true });
      second = await startKumo({ stemCells: 0, dataDir: first.dataDir });
      const got = await second.lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'url-kept' }));
      assert.equal(got.FunctionUrl?.replace(/:\d+\/$/, ''), created.FunctionUrl?.replace(/:\d+\/$/, ''));
      assert.equal(got.FunctionUrl, `http://${/^http:\/\/([^:]+)/.exec(created.FunctionUrl ?? '')?.[1] ?? ''}:${second.kumo.port}/`);
      assert.equal(got.AuthType, 'AWS_IAM');
      assert.equal(got.InvokeMode, 'RESPONSE_STREAM');
      assert.deepEqual(got.Cors, { AllowOrigins: ['*'] });
      assert.equal(got.CreationTime, created.CreationTime);
    } finally {
      await (second ?? first).close();
    }
  });
});
