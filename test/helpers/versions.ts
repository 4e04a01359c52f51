import assert from 'node:assert/strict';
import { InvokeCommand, UpdateFunctionCodeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { zipEntries } from '../../src/code/index.js';
import { createNodeFunction } from './functions.js';

/** A function's ARN in the test server's region and account, with an optional qualifier. */
export function qualifiedArn(name: string, qualifier?: string): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:${name}${qualifier === undefined ? '' : `:${qualifier}`}`;
}

/** What a `taggedCode` function answers. */
export interface TaggedAnswer {
  /** The version that ran (X-Amz-Executed-Version). */
  version: string;
  /** The tag its code was built with. */
  code: string;
  greeting: string | null;
  /** `context.invokedFunctionArn`. */
  arn: string;
}

/** A Node function whose answer names the code it runs (`tag`), its GREETING and the ARN it was invoked by. */
export function taggedCode(tag: string): Promise<Buffer> {
  return zipEntries([
    {
      name: 'index.js',
      content: `exports.handler = async (e, ctx) => ({ code: ${JSON.stringify(tag)}, greeting: process.env.GREETING ?? null, arn: ctx.invokedFunctionArn });`,
    },
  ]);
}

/** Invokes a `taggedCode` function synchronously, asserting it did not fail. */
export async function invokeTagged(lambda: LambdaClient, name: string, qualifier?: string): Promise<TaggedAnswer> {
  const out = await lambda.send(new InvokeCommand({ FunctionName: name, Qualifier: qualifier, Payload: Buffer.from('{}') }));
  const text = Buffer.from(out.Payload ?? []).toString();
  assert.equal(out.FunctionError, undefined, text);
  return { version: out.ExecutedVersion ?? '?', ...(JSON.parse(text) as Omit<TaggedAnswer, 'version'>) };
}

/** Creates a Node.js function with version 1 running `first` and version 2 (and `$LATEST`) running `second`. */
export async function createTwoVersions(lambda: LambdaClient, name: string, first: Buffer, second: Buffer): Promise<void> {
  await createNodeFunction(lambda, name, first, { Publish: true });
  await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: second, Publish: true }));
}
