import fs from 'node:fs';
import path from 'node:path';
import { SecretBox } from './sqlite/secrets.js';
import type { Store } from './types.js';
import { openSqliteStore } from './sqlite/adapter.js';

export type {
  AliasRecord,
  AliasRepo,
  AsyncEventHeader,
  AsyncEventProgress,
  AsyncEventRepo,
  EventInvokeConfigRecord,
  EventInvokeConfigRepo,
  NewAsyncEvent,
  Store,
  FunctionConfig,
  FunctionRecord,
  FunctionRepo,
  LayerAttachment,
  LayerPolicyRecord,
  LayerRepo,
  LayerVersionRecord,
  LogEvent,
  LogQuery,
  LogRepo,
  LogStreamInfo,
  NewQueueMessage,
  QueueCounts,
  QueueMessage,
  QueueRecord,
  QueueRepo,
  ReceivePlan,
  StoredAttributeValue,
} from './types.js';
export type { PolicyRepo, RevisionChange, TagRepo } from './types.js';
export type { ProvisionedConcurrencyRecord, ProvisionedConcurrencyRepo } from './types.js';
export type { CodeSigningConfigRecord, SigningProfileRecord, SigningRepo } from './types.js';
export type { FunctionUrlRecord, UrlCors, UrlRepo } from './types.js';
export type { FunctionSettingsRepo, RecursiveLoop, RuntimeManagementRecord } from './types.js';

/**
 * Opens the embedded store in `dataDir` (SQLite file `kumo.db`, its secrets sealed with the key in
 * `secrets.key`), or in memory for ':memory:'.
 */
export function openStore(dataDir: string): Store {
  if (dataDir === ':memory:') return openSqliteStore(':memory:');
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return openSqliteStore(path.join(dataDir, 'kumo.db'), SecretBox.fromKeyFile(path.join(dataDir, SECRETS_KEY_FILE)));
}

/** The file in the data directory that holds the key of secrets at rest. */
export const SECRETS_KEY_FILE = 'secrets.key';

export { openSqliteStore };
