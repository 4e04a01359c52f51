import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { KumoOptions } from '../../src/config/index.js';
import { startKumo, type TestKumo } from './server.js';

/** The running server of a suite (see `useKumo`). */
export interface SuiteKumo extends TestKumo {
  /** Closes the server keeping its data directory, then starts a new one on it with the same options. */
  restart(): Promise<void>;
}

/**
 * One Kumo for the current suite: registers a `before` that starts it (with `startKumo(options)`)
 * and an `after` that closes it, in the enclosing `describe` or, at top level, for the file.
 * Returns a stand-in for the running TestKumo: read it from tests, and from hooks registered after
 * this call in the same `describe` (reading it before the server starts throws).
 *
 * `setup` runs in the same `before`, once the server is up. Use it for work that needs the server
 * at a file's top level: there Node 20 starts each `before` as soon as it is registered, so a
 * separate top-level `before` would not wait for the server (tests still wait for all of them).
 */
export function useKumo(options: KumoOptions = {}, setup?: (k: TestKumo) => void | Promise<void>): SuiteKumo {
  let running: TestKumo | undefined;
  const restart = async (): Promise<void> => {
    const dataDir = current().dataDir;
    await current().close({ keepData: true });
    running = undefined;
    running = await startKumo({ ...options, dataDir });
  };
  const current = (): TestKumo => running ?? assert.fail('useKumo: the server is not running');
  before(async () => {
    running = await startKumo(options);
    await setup?.(running);
  });
  after(async () => {
    await running?.close();
    running = undefined;
  });
  return new Proxy({} as SuiteKumo, {
    get(_target, prop) {
      return prop === 'restart' ? restart : (Reflect.get(current(), prop) as unknown);
    },
  });
}
