/**
 * The Store port: everything Kumo keeps in its metadata database. Adapters (SQLite now,
 * PostgreSQL later) implement it; callers see only these plain types and Promises.
 */

/** Canonical, runtime-independent description of one function version, as Kumo stores it. */
export interface FunctionConfig {
  runtime: string;
  handler: string;
  role: string;
  description: string;
  memorySize: number;
  timeout: number;
  ephemeralStorage: number;
  environment: Record<string, string>;
  architectures: string[];
  packageType: 'Zip';
  tracingMode: 'PassThrough' | 'Active';
  logFormat: 'Text' | 'JSON';
  logGroup: string;
  /** DeadLetterConfig.TargetArn: where failed asynchronous events go (an SQS queue ARN). */
  deadLetterTargetArn?: string | undefined;
  /** KMSKeyArn as given (Kumo seals variables with its own key; it keeps and returns this one). */
  kmsKeyArn?: string | undefined;
  /** When the code was verified against a code signing configuration and signed: who signed it. */
  signingProfileVersionArn?: string | undefined;
  signingJobArn?: string | undefined;
  /**
   * Layers, in the order they are extracted into /opt. Each keeps the code it had when the
   * function was configured: deleting the layer version later does not take it away (as on Lambda).
   */
  layers?: LayerAttachment[] | undefined;
}

/** A layer version as a function configuration refers to it. */
export interface LayerAttachment {
  /** The layer version's ARN (`arn:aws:lambda:<region>:<account>:layer:<name>:<version>`). */
  arn: string;
  /** Hex sha256 of the layer's zip: its key in the code store. */
  codeSha256Hex: string;
  codeSize: number;
  codeUnzippedSize: number;
}

export interface FunctionRecord {
  name: string;
  /** '$LATEST' or a published version number. */
  version: string;
  config: FunctionConfig;
  /** Hex sha256 of the code zip; the code store's key. */
  codeSha256Hex: string;
  codeSize: number;
  codeUnzippedSize: number;
  revisionId: string;
  /** Epoch ms of creation of the function (not this version). */
  createdAt: number;
  /** Epoch ms of the last change to this version. */
  lastModified: number;
}

export interface FunctionRepo {
  get(name: string, version?: string): Promise<FunctionRecord | undefined>;
  /** `$LATEST` records ordered by name, strictly after `afterName`. */
  list(afterName: string | undefined, limit: number): Promise<FunctionRecord[]>;
  /** Returns false (and writes nothing) when a function of that name exists. */
  insert(record: FunctionRecord): Promise<boolean>;
  /** Replaces a version when its stored revision is `expectedRevisionId`; returns false otherwise. */
  replace(record: FunctionRecord, expectedRevisionId: string): Promise<boolean>;
  /** Deletes every version of the function; returns false when there was none. */
  delete(name: string): Promise<boolean>;
  /** Every version of a function: `$LATEST` first, then published versions in number order. */
  versions(name: string): Promise<FunctionRecord[]>;
  /** Every version of every function, by name then version order, strictly after `after` (ListFunctions FunctionVersion=ALL). */
  listAll(after: { name: string; version: string } | undefined, limit: number): Promise<FunctionRecord[]>;
  /**
   * Publishes `record` (a snapshot of `$LATEST` whose revision is `latestRevisionId`) under the
   * function's next version number, which is never reused. Returns the stored version, or
   * undefined (nothing written) when `$LATEST`'s revision is no longer `latestRevisionId`.
   */
  publish(record: Omit<FunctionRecord, 'version'>, latestRevisionId: string): Promise<FunctionRecord | undefined>;
  /** Deletes one published version; false when there was none. */
  deleteVersion(name: string, version: string): Promise<boolean>;
  stats(): Promise<{ functionCount: number; totalCodeSize: number }>;
  /** Every code sha referenced by any version, its layers or a layer version (for code garbage collection). */
  referencedCode(): Promise<Set<string>>;
  /** Reserved concurrency of every function that has one. */
  reservedConcurrency(): Promise<Map<string, number>>;
  /** Sets a function's reserved concurrency; `undefined` removes it. */
  setReservedConcurrency(name: string, value: number | undefined): Promise<void>;
}

/** A function alias: a name that points at one version, or splits invocations between two. */
export interface AliasRecord {
  functionName: string;
  name: string;
  functionVersion: string;
  description: string;
  /** RoutingConfig.AdditionalVersionWeights: version -> share of invocations (0..1); empty when none. */
  additionalVersionWeights: Record<string, number>;
  revisionId: string;
}

export interface AliasRepo {
  get(functionName: string, name: string): Promise<AliasRecord | undefined>;
  /** A function's aliases, ordered by name. */
  list(functionName: string): Promise<AliasRecord[]>;
  /** False (nothing written) when the alias exists. */
  create(record: AliasRecord): Promise<boolean>;
  /** Replaces the alias when its stored revision is `expectedRevisionId`; false otherwise. */
  replace(record: AliasRecord, expectedRevisionId: string): Promise<boolean>;
  /** False when there was none. */
  delete(functionName: string, name: string): Promise<boolean>;
}

export interface LogEvent {
  /** Monotonic id assigned by the store; used as a cursor. */
  id?: number;
  group: string;
  stream: string;
  timestamp: number;
  message: string;
  ingestionTime?: number;
}

export interface LogStreamInfo {
  group: string;
  stream: string;
  createdAt: number;
  firstEventAt: number | null;
  lastEventAt: number | null;
  storedBytes: number;
}

export interface LogQuery {
  group: string;
  streams?: string[];
  streamPrefix?: string;
  startTime?: number;
  endTime?: number;
  /** Only events with id greater than this (cursor for paging and following). */
  afterId?: number;
  /** Substring match on the message (simple filter pattern). */
  contains?: string;
  limit: number;
  /** Newest first instead of oldest first. */
  descending?: boolean;
}

export interface LogRepo {
  append(events: readonly LogEvent[]): Promise<void>;
  query(q: LogQuery): Promise<Array<Required<Omit<LogEvent, 'ingestionTime'>> & { ingestionTime: number }>>;
  groups(prefix?: string): Promise<Array<{ group: string; createdAt: number; storedBytes: number }>>;
  streams(group: string, prefix?: string): Promise<LogStreamInfo[]>;
  deleteGroup(group: string): Promise<void>;
}

/** A queued asynchronous invocation's progress (what changes between attempts). */
export interface AsyncEventProgress {
  /** Times the function has run this event (Lambda's approximateInvokeCount). */
  invokeCount: number;
  /** Function errors so far (retries are counted against MaximumRetryAttempts). */
  functionErrors: number;
  /** Throttles and system errors in a row (the backoff exponent). */
  throttles: number;
  /** Epoch ms of the next attempt. */
  nextAttemptAt: number;
  /** JSON of the last failed response, for the failure record; null before any. */
  lastResponse: string | null;
}

export interface NewAsyncEvent {
  requestId: string;
  functionName: string;
  qualifier: string;
  payload: Buffer;
  /** Epoch ms the event was accepted. */
  receivedAt: number;
}

/** A stored event without its payload (what the dispatcher keeps in memory). */
export interface AsyncEventHeader extends AsyncEventProgress {
  id: number;
  requestId: string;
  functionName: string;
  qualifier: string;
  receivedAt: number;
}

/**
 * The durable queue of asynchronous invocations. `append` resolves only once the event is
 * committed and on disk (fsync'd), so an acknowledged event survives a crash or power loss;
 * appends made in the same event-loop turn share one commit (group commit). `update` and
 * `remove` are batched the same way; losing one in a crash only means an event runs again.
 */
export interface AsyncEventRepo {
  append(event: NewAsyncEvent): Promise<number>;
  update(id: number, progress: AsyncEventProgress): Promise<void>;
  remove(id: number): Promise<void>;
  payload(id: number): Promise<Buffer | undefined>;
  /** Every stored event, oldest first. */
  pending(): Promise<AsyncEventHeader[]>;
}

/** PutFunctionEventInvokeConfig's settings for one function (and qualifier). Unset fields use Lambda's defaults. */
export interface EventInvokeConfigRecord {
  functionName: string;
  qualifier: string;
  maximumRetryAttempts: number | undefined;
  maximumEventAgeInSeconds: number | undefined;
  onSuccess: string | undefined;
  onFailure: string | undefined;
  /** Epoch ms. */
  lastModified: number;
}

export interface EventInvokeConfigRepo {
  get(functionName: string, qualifier: string): Promise<EventInvokeConfigRecord | undefined>;
  put(record: EventInvokeConfigRecord): Promise<void>;
  /** Returns false when there was none. */
  delete(functionName: string, qualifier: string): Promise<boolean>;
  list(functionName: string): Promise<EventInvokeConfigRecord[]>;
}

/** One queue of the SQS-compatible queue service. Attribute values are SQS's strings. */
export interface QueueRecord {
  name: string;
  /** The queue's settable attributes (VisibilityTimeout, RedrivePolicy, FifoQueue, ...). */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  /** Epoch ms. */
  createdAt: number;
  lastModified: number;
  /** Epoch ms of the last PurgeQueue, if any. */
  purgedAt: number | null;
}

/** A message attribute value as stored (binary values base64). */
export interface StoredAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

export interface NewQueueMessage {
  id: string;
  body: string;
  attributes: Record<string, StoredAttributeValue> | null;
  systemAttributes: Record<string, StoredAttributeValue> | null;
  groupId: string | null;
  dedupId: string | null;
  sentAt: number;
  visibleAt: number;
  /** FIFO: the deduplication key and when its window closes; a live key makes the send a no-op. */
  dedup?: { key: string; expiresAt: number };
}

export interface QueueMessage extends Omit<NewQueueMessage, 'dedup'> {
  /** The store's key of the message (arrival order); receipt handles carry it. */
  seq: number;
  sequenceNumber: string | null;
  receiveCount: number;
  firstReceivedAt: number | null;
  /** Receipt token of the latest receive. */
  receipt: string | null;
  deadLetterSourceArn: string | null;
}

/** What one ReceiveMessage takes, decided by the queue service; the repo applies it atomically. */
export interface ReceivePlan {
  queue: string;
  now: number;
  max: number;
  /** Epoch ms until which received messages stay invisible. */
  visibleUntil: number;
  fifo: boolean;
  /** Messages sent before this are past the retention period: never delivered. */
  expiredBefore: number;
  /** Also delete the queue's expired messages (the service does it now and then, not per receive). */
  sweep: boolean;
  /** A message already received this many times moves to `deadLetterQueue` instead. */
  redrive?: { maxReceiveCount: number; deadLetterQueue: string; sourceArn: string };
  /** A fresh receipt token per received message. */
  newReceipt(): string;
}

export interface QueueCounts {
  visible: number;
  inFlight: number;
  delayed: number;
}

export interface QueueRepo {
  get(name: string): Promise<QueueRecord | undefined>;
  /** Queues whose names start with `prefix`, ordered by name, strictly after `afterName`. */
  list(prefix: string, afterName: string | undefined, limit: number): Promise<QueueRecord[]>;
  /** Returns false (and writes nothing) when a queue of that name exists. */
  create(record: QueueRecord): Promise<boolean>;
  update(name: string, attributes: Record<string, string>, lastModified: number): Promise<void>;
  setTags(name: string, tags: Record<string, string>): Promise<void>;
  /** Deletes the queue and its messages; false when there was none. */
  delete(name: string): Promise<boolean>;
  /** Deletes every message of the queue and records the purge time. */
  purge(name: string, at: number): Promise<void>;
  /**
   * Stores messages in one transaction. A message whose `dedup` key is live is not stored: its
   * result is the earlier message's id. FIFO messages get the queue's next sequence number.
   */
  send(
    queue: string,
    messages: readonly NewQueueMessage[],
    fifo: boolean,
    now: number,
  ): Promise<Array<{ id: string; sequenceNumber: string | null }>>;
  /** Picks, marks received (or dead-letters) and returns messages per the plan, in one transaction. */
  receive(plan: ReceivePlan): Promise<{ messages: QueueMessage[]; deadLettered: number }>;
  /** Deletes the message when `receipt` is its latest; returns what happened. */
  deleteMessage(queue: string, seq: number, receipt: string): Promise<'deleted' | 'stale' | 'missing'>;
  /** Sets a received message's visibility when `receipt` is its latest and it is in flight at `now`. */
  changeVisibility(
    queue: string,
    seq: number,
    receipt: string,
    now: number,
    visibleAt: number,
  ): Promise<'changed' | 'stale' | 'missing' | 'not-in-flight'>;
  /** Earliest visible_at after `now` of the queue's messages (for waking long polls), if any. */
  nextVisibleAt(queue: string, now: number): Promise<number | undefined>;
  counts(queue: string, now: number, expiredBefore: number): Promise<QueueCounts>;
  /** Oldest messages of the queue, without receiving them (for `kumo queues peek`). */
  peek(queue: string, limit: number): Promise<QueueMessage[]>;
}

/**
 * PutProvisionedConcurrencyConfig's setting for one published version or alias of a function. Its
 * status (IN_PROGRESS, READY, FAILED) is the engine's, not stored: after a restart the environments
 * are initialised again.
 */
export interface ProvisionedConcurrencyRecord {
  functionName: string;
  /** A version number or an alias name. */
  qualifier: string;
  requested: number;
  /** Epoch ms. */
  lastModified: number;
}

export interface ProvisionedConcurrencyRepo {
  /** The configs of one function (by qualifier), or of every function (by function, then qualifier). */
  list(functionName?: string): Promise<ProvisionedConcurrencyRecord[]>;
  put(record: ProvisionedConcurrencyRecord): Promise<void>;
  /** False when there was none. */
  delete(functionName: string, qualifier: string): Promise<boolean>;
}

/** PutFunctionRecursionConfig's setting of a function. */
export type RecursiveLoop = 'Allow' | 'Terminate';

/** PutRuntimeManagementConfig's setting of one function version. */
export interface RuntimeManagementRecord {
  updateRuntimeOn: 'Auto' | 'FunctionUpdate' | 'Manual';
  /** The runtime version a Manual version is pinned to; undefined for the other modes. */
  runtimeVersionArn: string | undefined;
}

/**
 * Settings Lambda keeps beside a function's configuration (migration 11): its recursive loop
 * setting (one per function) and the runtime management configuration of each version. They go
 * with the function (and a version's with the version); a published version starts with the
 * runtime management configuration `$LATEST` had when it was published.
 */
export interface FunctionSettingsRepo {
  /** Undefined when it was never set. */
  recursiveLoop(name: string): Promise<RecursiveLoop | undefined>;
  /** False (nothing written) when the function does not exist. */
  setRecursiveLoop(name: string, value: RecursiveLoop): Promise<boolean>;
  /** Undefined when it was never set. */
  runtimeManagement(name: string, version: string): Promise<RuntimeManagementRecord | undefined>;
  /** False (nothing written) when the function version does not exist. */
  setRuntimeManagement(name: string, version: string, record: RuntimeManagementRecord): Promise<boolean>;
}

/** A change of a function version's RevisionId, applied only when the stored one is `expected`. */
export interface RevisionChange {
  expected: string;
  next: string;
}

/** Resource-based policies of functions: one list of IAM statements per function and qualifier. */
export interface PolicyRepo {
  /** The statements of `qualifier`'s policy (undefined when it has none). */
  get(name: string, qualifier: string): Promise<Array<Record<string, unknown>> | undefined>;
  /**
   * Stores the statements (an empty list deletes the policy) and gives what holds the policy (the
   * version `qualifier` of the function, or its alias `qualifier`) the revision `revision.next`, in
   * one transaction; false (and nothing written) when its revision is not `revision.expected`.
   */
  put(
    name: string,
    qualifier: string,
    statements: ReadonlyArray<Record<string, unknown>>,
    revision: RevisionChange,
    holder: 'version' | 'alias',
  ): Promise<boolean>;
}

/** Tags of functions. */
export interface TagRepo {
  get(name: string): Promise<Record<string, string>>;
  /**
   * Replaces the function's tags; with `revision`, also moves `$LATEST` to a new revision in the
   * same transaction, writing nothing and returning false when its revision is not the expected one.
   */
  set(name: string, tags: Record<string, string>, revision?: RevisionChange): Promise<boolean>;
}

/** A Kumo-managed signing profile (Kumo's stand-in for AWS Signer). */
export interface SigningProfileRecord {
  name: string;
  version: string;
  publicKeyPem: string;
  privateKeyPem: string;
  status: 'Active' | 'Revoked';
  createdAt: number;
  revokedAt: number | null;
}

export interface CodeSigningConfigRecord {
  id: string;
  description: string;
  allowedPublishers: string[];
  untrustedArtifactOnDeployment: 'Warn' | 'Enforce';
  lastModified: number;
}

/** Signing profiles, code signing configurations and which function uses which. */
export interface SigningRepo {
  profile(name: string): Promise<SigningProfileRecord | undefined>;
  profiles(): Promise<SigningProfileRecord[]>;
  /** False when a profile of that name exists. */
  createProfile(p: SigningProfileRecord): Promise<boolean>;
  revokeProfile(name: string, at: number): Promise<void>;
  config(id: string): Promise<CodeSigningConfigRecord | undefined>;
  /** Configurations ordered by id, strictly after `afterId`. */
  configs(afterId: string | undefined, limit: number): Promise<CodeSigningConfigRecord[]>;
  putConfig(c: CodeSigningConfigRecord): Promise<void>;
  /** False (nothing deleted) when a function uses it. */
  deleteConfig(id: string): Promise<boolean>;
  functionConfig(name: string): Promise<string | undefined>;
  /** Sets (or, with undefined, removes) the configuration of a function. */
  setFunctionConfig(name: string, id: string | undefined): Promise<void>;
  functionsUsing(id: string): Promise<string[]>;
}

/** A function URL's CORS settings, as CreateFunctionUrlConfig takes them (only the members given). */
export interface UrlCors {
  AllowCredentials?: boolean;
  AllowHeaders?: string[];
  AllowMethods?: string[];
  AllowOrigins?: string[];
  ExposeHeaders?: string[];
  MaxAge?: number;
}

/** A function URL: the HTTP endpoint of a function's `$LATEST` or of one of its aliases. */
export interface FunctionUrlRecord {
  /** 32 lowercase alphanumerics, the first label of the URL's host. */
  urlId: string;
  functionName: string;
  /** '$LATEST' or an alias name. */
  qualifier: string;
  authType: 'NONE' | 'AWS_IAM';
  invokeMode: 'BUFFERED' | 'RESPONSE_STREAM';
  cors: UrlCors | undefined;
  /** Epoch ms. */
  createdAt: number;
  lastModified: number;
}

export interface UrlRepo {
  /** The URL with this id (serving looks every request up here). */
  byId(urlId: string): Promise<FunctionUrlRecord | undefined>;
  get(functionName: string, qualifier: string): Promise<FunctionUrlRecord | undefined>;
  /** A function's URLs, oldest first. */
  list(functionName: string): Promise<FunctionUrlRecord[]>;
  /**
   * Stores a new URL when its function (and, for an alias, the alias) exists and has no URL for
   * that qualifier yet; false (nothing written) otherwise.
   */
  create(record: FunctionUrlRecord): Promise<boolean>;
  /** Replaces the settings of an existing URL (same id); false when it no longer exists. */
  update(record: FunctionUrlRecord): Promise<boolean>;
  /** False when there was none. */
  delete(functionName: string, qualifier: string): Promise<boolean>;
}

/** One version of a Lambda layer (PublishLayerVersion). Immutable once published, but for its policy. */
export interface LayerVersionRecord {
  layerName: string;
  version: number;
  description: string;
  /** Undefined when PublishLayerVersion left them out (Lambda then omits them too). */
  compatibleRuntimes: string[] | undefined;
  compatibleArchitectures: string[] | undefined;
  licenseInfo: string | undefined;
  codeSha256Hex: string;
  codeSize: number;
  codeUnzippedSize: number;
  /** Epoch ms. */
  createdAt: number;
}

/** A layer version's resource-based policy: its statements and its own RevisionId. */
export interface LayerPolicyRecord {
  statements: Array<Record<string, unknown>>;
  revisionId: string;
}

/** Layers, their versions and the versions' policies (migration 7). */
export interface LayerRepo {
  /**
   * Stores a new version of the layer under its next number (1 for a new layer; never reused, even
   * after deletes) and returns it.
   */
  publish(record: Omit<LayerVersionRecord, 'version'>): Promise<LayerVersionRecord>;
  get(layerName: string, version: number): Promise<LayerVersionRecord | undefined>;
  /** A layer's versions, newest first. */
  versions(layerName: string): Promise<LayerVersionRecord[]>;
  /** Every layer name that has at least one version, in order. */
  names(): Promise<string[]>;
  /** Deletes a version and its policy; false when there was none. */
  delete(layerName: string, version: number): Promise<boolean>;
  policy(layerName: string, version: number): Promise<LayerPolicyRecord | undefined>;
  /**
   * Replaces the version's statements (an empty list deletes the policy) with revision `next`,
   * when its current revision is `expected` (undefined: it has no policy yet); false otherwise.
   */
  putPolicy(
    layerName: string,
    version: number,
    statements: ReadonlyArray<Record<string, unknown>>,
    expected: string | undefined,
    next: string,
  ): Promise<boolean>;
}

export interface Store {
  readonly functions: FunctionRepo;
  readonly aliases: AliasRepo;
  readonly logs: LogRepo;
  readonly asyncEvents: AsyncEventRepo;
  readonly eventInvokeConfigs: EventInvokeConfigRepo;
  readonly queues: QueueRepo;
  readonly policies: PolicyRepo;
  readonly tags: TagRepo;
  readonly signing: SigningRepo;
  readonly urls: UrlRepo;
  readonly provisioned: ProvisionedConcurrencyRepo;
  readonly layers: LayerRepo;
  readonly settings: FunctionSettingsRepo;
  close(): Promise<void>;
}
