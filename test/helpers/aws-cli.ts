import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { TEST_ROLE } from './functions.js';

/**
 * Debian's AWS CLI v2, called by its absolute path (an `aws` on PATH may be a pyenv shim for CLI v1),
 * with nothing from the user's own AWS configuration.
 */
export const AWS_CLI = '/usr/bin/aws';

/** Why AWS CLI suites are skipped, or false when the CLI is installed. */
export const AWS_CLI_MISSING: string | false = fs.existsSync(AWS_CLI)
  ? false
  : `${AWS_CLI} (Debian's awscli package, AWS CLI v2) is not installed`;

export const CLI_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: os.tmpdir(),
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_PAGER: '',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_EC2_METADATA_DISABLED: 'true',
};

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `aws <args>`; resolves with the exit code (254: the service returned an error). */
export function runAwsCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(AWS_CLI, args, { env: CLI_ENV, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** `aws <service> …` against one server, with JSON output. */
export interface ServiceCli {
  /** Runs the command; resolves with its exit code and output, whatever they are. */
  (...args: string[]): Promise<CliResult>;
  /** Runs a command that must succeed (exit 0); resolves to its parsed JSON output ({} when it prints nothing). */
  json: <T = Record<string, unknown>>(...args: string[]) => Promise<T>;
}

/**
 * The AWS CLI for `service` with `--endpoint-url` the server's URL, read at each call (so a
 * `useKumo` stand-in may be passed before the server starts) and `--output json`.
 */
export function awsCli(server: { readonly url: string }, service: string): ServiceCli {
  const run = (...args: string[]): Promise<CliResult> => runAwsCli(['--endpoint-url', server.url, '--output', 'json', service, ...args]);
  const json = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const r = await run(...args);
    assert.equal(r.code, 0, `aws ${service} ${args.join(' ')}: ${r.stderr}`);
    return (r.stdout.trim() === '' ? {} : JSON.parse(r.stdout)) as T;
  };
  return Object.assign(run, { json });
}

/** `aws lambda create-function` arguments for a Node.js function from a zip file: the CLI twin of `createNodeFunction`. */
export function createNodeFunctionArgs(name: string, zipFile: string): string[] {
  return [
    'create-function',
    '--function-name',
    name,
    '--runtime',
    'nodejs20.x',
    '--handler',
    'index.handler',
    '--role',
    TEST_ROLE,
    '--zip-file',
    `fileb://${zipFile}`,
  ];
}
