import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

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
