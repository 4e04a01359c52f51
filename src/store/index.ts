import path from 'node:path';
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
export type { CodeSigningConfigRecord, SigningProfileRecord, SigningRepo } from './types.js';

/** Opens the embedded store in `dataDir` (SQLite file `kumo.db`), or in memory for ':memory:'. */
export function openStore(dataDir: string): Store {
  return openSqliteStore(dataDir === ':memory:' ? ':memory:' : path.join(dataDir, 'kumo.db'));
}

export { openSqliteStore };
