/**
 * Runs every case in test/fixtures/cases/*.json: a real fixture function, deployed to a real Kumo
 * with the AWS SDK, invoked in sequence, each response checked against what Lambda answers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CreateFunctionCommand, InvokeCommand, type Runtime } from '@aws-sdk/client-lambda';
import { zipDirectory } from '../../src/code/index.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { fixtureDir, repoPath } from '../helpers/server.js';

interface Expectation {
  functionError?: string;
  body?: unknown;
  bodySubset?: unknown;
  logIncludes?: string[];
}

interface Case {
  name: string;
  fixture: string;
  runtime: string;
  handler: string;
  timeout?: number;
  memorySize?: number;
  environment?: Record<string, string>;
  invocations: Array<{ payload: unknown; expect: Expectation }>;
}

/** `actual` contains `expected`: objects key by key (recursively), arrays element by element with equal length. */
export function assertSubset(actual: unknown, expected: unknown, where = 'body'): void {
  if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${where}: expected an object or array, got ${JSON.stringify(actual)}`);
    if (Array.isArray(expected)) {
      assert.ok(Array.isArray(actual), `${where}: expected an array`);
      assert.equal(actual.length, expected.length, `${where}: array length`);
      expected.forEach((e, i) => assertSubset(actual[i], e, `${where}[${i}]`));
    } else {
      for (const [key, value] of Object.entries(expected)) {
        assertSubset((actual as Record<string, unknown>)[key], value, `${where}.${key}`);
      }
    }
  } else {
    assert.deepEqual(actual, expected, where);
  }
}

/** A JSON response as its value; anything else (a custom runtime may answer plain text) as the text. */
function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const casesDir = repoPath('test/fixtures/cases');
const suites = fs
  .readdirSync(casesDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, cases: JSON.parse(fs.readFileSync(path.join(casesDir, f), 'utf8')) as Case[] }));

const k = useKumo();

let counter = 0;
for (const suite of suites) {
  describe(`runtime cases: ${suite.file}`, () => {
    for (const c of suite.cases) {
      test(c.name, async () => {
        const functionName = `case-${++counter}-${c.fixture}`.slice(0, 64);
        await k.lambda.send(
          new CreateFunctionCommand({
            FunctionName: functionName,
            Runtime: c.runtime as Runtime,
            Handler: c.handler,
            Role: 'arn:aws:iam::000000000000:role/test',
            Code: { ZipFile: await zipDirectory(fixtureDir(c.fixture)) },
            Timeout: c.timeout,
            MemorySize: c.memorySize,
            Environment: c.environment ? { Variables: c.environment } : undefined,
          }),
        );
        for (const [i, inv] of c.invocations.entries()) {
          const out = await k.lambda.send(
            new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(inv.payload)), LogType: 'Tail' }),
          );
          const text = Buffer.from(out.Payload ?? []).toString('utf8');
          const log = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
          const where = `invocation ${i + 1}`;
          assert.equal(out.StatusCode, 200, where);
          assert.equal(out.FunctionError, inv.expect.functionError, `${where}: FunctionError; body ${text}\nlog:\n${log}`);
          const body = parseBody(text);
          if ('body' in inv.expect) assert.deepEqual(body, inv.expect.body, `${where}: body\nlog:\n${log}`);
          if (inv.expect.bodySubset !== undefined) assertSubset(body, inv.expect.bodySubset, `${where}: body`);
          for (const needle of inv.expect.logIncludes ?? []) {
            assert.ok(log.includes(needle), `${where}: log should include ${JSON.stringify(needle)}; log was:\n${log}`);
          }
        }
      });
    }
  });
}
