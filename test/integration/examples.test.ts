/**
 * The functions in examples/ (the README walkthrough's): each zipped as `kumo deploy` zips it,
 * deployed with the AWS SDK to a real Kumo, invoked, and its exact response and log checked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CreateFunctionCommand, InvokeCommand, LogType, type Runtime } from '@aws-sdk/client-lambda';
import { zipDirectory } from '../../src/code/index.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { repoPath } from '../helpers/server.js';

const ROLE = 'arn:aws:iam::000000000000:role/examples';

interface Example {
  dir: string;
  runtime: Runtime;
  handler: string;
  /** The exact response body to `{"name":"Kumo"}`. */
  kumo: string;
  /** The exact response body to `{}`. */
  empty: string;
  /** Lines the function itself writes to its log for `{"name":"Kumo"}`. */
  logs: RegExp[];
}

const EXAMPLES: Example[] = [
  {
    dir: 'node-hello',
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    kumo: '{"message":"Hello, Kumo!"}',
    empty: '{"message":"Hello, world!"}',
    logs: [/\t[0-9a-f-]{36}\tINFO\tSaying hello to Kumo \(request [0-9a-f-]{36}\)\n/],
  },
  {
    dir: 'node-cjs',
    runtime: 'nodejs22.x',
    handler: 'index.handler',
    kumo: '{"message":"Hello, Kumo!","style":"callback"}',
    empty: '{"message":"Hello, world!","style":"callback"}',
    logs: [/\tINFO\tSaying hello to Kumo from example-node-cjs\n/],
  },
  {
    dir: 'python-hello',
    runtime: 'python3.12',
    handler: 'app.handler',
    kumo: '{"message": "Hello, Kumo!"}',
    empty: '{"message": "Hello, world!"}',
    logs: [/\[INFO\]\t[^\t]+\t[0-9a-f-]{36}\tSaying hello to Kumo\n/, /\nexample-python-hello has \d+ ms left\n/],
  },
  {
    dir: 'provided-bash',
    runtime: 'provided.al2023',
    handler: 'function.handler',
    kumo: `Echoing request: '{"name":"Kumo"}'`,
    empty: `Echoing request: '{}'`,
    logs: [/\n\{"name":"Kumo"\}\n/],
  },
];

const k = useKumo();

async function invoke(name: string, payload: unknown): Promise<{ body: string; log: string }> {
  const out = await k.lambda.send(
    new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(payload)), LogType: LogType.Tail }),
  );
  const body = Buffer.from(out.Payload ?? []).toString();
  assert.equal(out.StatusCode, 200);
  assert.equal(out.FunctionError, undefined, body);
  return { body, log: Buffer.from(out.LogResult ?? '', 'base64').toString() };
}

describe('examples/', () => {
  for (const example of EXAMPLES) {
    test(`${example.dir} (${example.runtime}, ${example.handler})`, async () => {
      const name = `example-${example.dir}`;
      const zip = await zipDirectory(repoPath('examples', example.dir));
      const created = await k.lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: example.runtime,
          Handler: example.handler,
          Role: ROLE,
          Code: { ZipFile: zip },
        }),
      );
      assert.equal(created.FunctionName, name);

      const cold = await invoke(name, { name: 'Kumo' });
      assert.equal(cold.body, example.kumo);
      assert.match(cold.log, /^START RequestId: [0-9a-f-]{36} Version: \$LATEST\n/);
      assert.match(cold.log, /\nEND RequestId: [0-9a-f-]{36}\nREPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\t.*Init Duration: /);
      for (const line of example.logs) assert.match(cold.log, line);

      // Warm: the same environment answers again, with no Init Duration this time.
      const warm = await invoke(name, {});
      assert.equal(warm.body, example.empty);
      assert.doesNotMatch(warm.log, /Init Duration/);
    });
  }

  test('node-cjs reports an error passed to its callback as a function error', async () => {
    const out = await k.lambda.send(
      new InvokeCommand({ FunctionName: 'example-node-cjs', Payload: Buffer.from(JSON.stringify({ name: 'x'.repeat(101) })) }),
    );
    assert.equal(out.FunctionError, 'Unhandled');
    const error = JSON.parse(Buffer.from(out.Payload ?? []).toString()) as { errorType: string; errorMessage: string };
    assert.equal(error.errorType, 'RangeError');
    assert.equal(error.errorMessage, 'name is longer than 100 characters');
  });

  test("provided-bash posts a failing handler to the Runtime API's error endpoint, and keeps serving", async () => {
    const zip = await zipDirectory(repoPath('examples/provided-bash'));
    // `function.missing`: no shell function of that name, so the handler command fails.
    await k.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'example-bash-broken',
        Runtime: 'provided.al2',
        Handler: 'function.missing',
        Role: ROLE,
        Code: { ZipFile: zip },
      }),
    );
    for (let i = 0; i < 2; i++) {
      const out = await k.lambda.send(
        new InvokeCommand({ FunctionName: 'example-bash-broken', Payload: Buffer.from('{}'), LogType: LogType.Tail }),
      );
      assert.equal(out.FunctionError, 'Unhandled');
      assert.deepEqual(JSON.parse(Buffer.from(out.Payload ?? []).toString()), {
        errorType: 'HandlerError',
        errorMessage: 'the handler exited with an error',
      });
      const log = Buffer.from(out.LogResult ?? '', 'base64').toString();
      assert.match(log, /missing: (command )?not found/);
      // The same environment answers the second time: no new Init.
      if (i === 1) assert.doesNotMatch(log, /Init Duration/);
    }
  });
});
