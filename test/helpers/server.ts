import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { pino } from 'pino';
import type { KumoOptions } from '../../src/config/index.js';
import { Kumo } from '../../src/server/index.js';

export interface TestKumo {
  kumo: Kumo;
  url: string;
  dataDir: string;
  lambda: LambdaClient;
  /** Stops the server; removes the data directory unless `keepData`. */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Starts a real Kumo server on an ephemeral loopback port with its own data directory. */
export async function startKumo(options: KumoOptions = {}): Promise<TestKumo> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kumo-test-'));
  const kumo = await Kumo.start(
    { port: 0, host: '127.0.0.1', ...options, dataDir },
    pino({ level: process.env.KUMO_TEST_LOG ?? 'silent' }),
  );
  const url = kumo.url;
  const lambda = new LambdaClient({ endpoint: url, region: kumo.options.region, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  return {
    kumo,
    url,
    dataDir,
    lambda,
    close: async (opts = {}) => {
      lambda.destroy();
      await kumo.close();
      if (!opts.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Absolute path of a fixture function directory under test/fixtures/functions. */
export function fixtureDir(name: string): string {
  return path.resolve(import.meta.dirname, '../../../test/fixtures/functions', name);
}

export function repoPath(...parts: string[]): string {
  return path.resolve(import.meta.dirname, '../../..', ...parts);
}
