/**
 * Schema migrations for the SQLite adapter. Append-only: never edit a released entry, add a new one.
 * Entry N (1-based) brings the schema to user_version N.
 */
/**
 * The queue service's tables. Idempotent, because it is run twice: entry 3, and entry 10 for data
 * directories made while entry 3 was still an empty placeholder (they are at user_version 4 or later
 * without these tables).
 */
const QUEUE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS sqs_queues (
    name              TEXT PRIMARY KEY,
    attributes        TEXT NOT NULL,           -- JSON: settable attributes, as strings
    tags              TEXT NOT NULL,           -- JSON: tag key -> value
    created_at        INTEGER NOT NULL,
    last_modified     INTEGER NOT NULL,
    purged_at         INTEGER,
    sequence          INTEGER NOT NULL DEFAULT 0 -- last FIFO sequence number handed out
  ) WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS sqs_messages (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order; receipt handles name it
    id                TEXT NOT NULL,           -- the SQS MessageId (a random UUID)
    queue             TEXT NOT NULL,
    body              TEXT NOT NULL,
    attributes        TEXT,                    -- JSON message attributes (binary values base64)
    system_attributes TEXT,                    -- JSON message system attributes (AWSTraceHeader)
    group_id          TEXT,
    dedup_id          TEXT,
    sequence_number   TEXT,
    sent_at           INTEGER NOT NULL,
    visible_at        INTEGER NOT NULL,
    receive_count     INTEGER NOT NULL DEFAULT 0,
    first_received_at INTEGER,
    receipt           TEXT,                    -- token of the latest receive
    dlq_source        TEXT                     -- ARN of the queue it was dead-lettered from
  );
  -- The only index: every write touches the table and this, nothing more.
  CREATE INDEX IF NOT EXISTS sqs_messages_visible ON sqs_messages (queue, visible_at, seq);

  CREATE TABLE IF NOT EXISTS sqs_dedup (
    queue             TEXT NOT NULL,
    dedup_key         TEXT NOT NULL,           -- group id + dedup id when DeduplicationScope is messageGroup
    message_id        TEXT NOT NULL,
    sequence_number   TEXT,
    expires_at        INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_key)
  ) WITHOUT ROWID;
  `;

export const MIGRATIONS: readonly string[] = [
  /* 1: functions and logs */ `
  CREATE TABLE function_versions (
    name              TEXT NOT NULL,
    version           TEXT NOT NULL,
    config            TEXT NOT NULL,           -- JSON FunctionConfig
    code_sha256       TEXT NOT NULL,
    code_size         INTEGER NOT NULL,
    code_unzipped     INTEGER NOT NULL,
    revision_id       TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    last_modified     INTEGER NOT NULL,
    PRIMARY KEY (name, version)
  ) WITHOUT ROWID;

  CREATE TABLE log_streams (
    log_group         TEXT NOT NULL,
    stream            TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    first_event_at    INTEGER,
    last_event_at     INTEGER,
    stored_bytes      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (log_group, stream)
  ) WITHOUT ROWID;

  CREATE TABLE log_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    log_group         TEXT NOT NULL,
    stream            TEXT NOT NULL,
    ts                INTEGER NOT NULL,
    ingested          INTEGER NOT NULL,
    message           TEXT NOT NULL
  );
  CREATE INDEX log_events_group_ts ON log_events (log_group, ts);
  CREATE INDEX log_events_group_id ON log_events (log_group, id);
  `,
  /* 2: function-level settings that are not versioned (reserved concurrency, for now) */ `
  CREATE TABLE function_settings (
    name                   TEXT PRIMARY KEY,
    reserved_concurrency   INTEGER
  ) WITHOUT ROWID;
  `,
  /* 3: the SQS-compatible queue service (src/queues): queues, messages, FIFO deduplication */ QUEUE_SCHEMA,
  /* 4: asynchronous invocation: the durable event queue and event invoke configs */ `
  CREATE TABLE async_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id        TEXT NOT NULL,
    function_name     TEXT NOT NULL,
    qualifier         TEXT NOT NULL,
    payload           BLOB NOT NULL,
    received_at       INTEGER NOT NULL,   -- epoch ms the 202 was promised at
    invoke_count      INTEGER NOT NULL DEFAULT 0,
    function_errors   INTEGER NOT NULL DEFAULT 0,
    throttles         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    last_response     TEXT                -- JSON of the last function error, for the failure record
  );

  CREATE TABLE event_invoke_configs (
    function_name     TEXT NOT NULL,
    qualifier         TEXT NOT NULL,
    max_retry         INTEGER,
    max_age           INTEGER,
    on_success        TEXT,
    on_failure        TEXT,
    last_modified     INTEGER NOT NULL,
    PRIMARY KEY (function_name, qualifier)
  ) WITHOUT ROWID;
  `,
  /* 5: resource-based policies and tags of functions (src/functions/policy.ts, tags.ts), code signing (src/signing) */ `
  CREATE TABLE function_policies (
    name              TEXT NOT NULL,
    qualifier         TEXT NOT NULL,           -- '$LATEST', a version number or an alias name
    statements        TEXT NOT NULL,           -- JSON array of IAM statements, in the order added
    PRIMARY KEY (name, qualifier)
  ) WITHOUT ROWID;

  CREATE TABLE function_tags (
    name              TEXT NOT NULL,           -- a function name, or 'code-signing-config:<id>'
    tag_key           TEXT NOT NULL,
    tag_value         TEXT NOT NULL,
    PRIMARY KEY (name, tag_key)
  ) WITHOUT ROWID;

  CREATE TABLE signing_profiles (
    name              TEXT PRIMARY KEY,
    version           TEXT NOT NULL,           -- the profile version id in its version ARN
    public_key        TEXT NOT NULL,           -- PEM (SPKI), Ed25519
    private_key       TEXT NOT NULL,           -- PEM (PKCS#8); never leaves the server
    status            TEXT NOT NULL,           -- Active | Revoked
    created_at        INTEGER NOT NULL,
    revoked_at        INTEGER
  ) WITHOUT ROWID;

  CREATE TABLE code_signing_configs (
    id                TEXT PRIMARY KEY,        -- csc-<17 hex>
    description       TEXT NOT NULL,
    allowed_publishers TEXT NOT NULL,          -- JSON array of signing profile version ARNs
    untrusted_action  TEXT NOT NULL,           -- UntrustedArtifactOnDeployment: Warn | Enforce
    last_modified     INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE function_code_signing (
    name              TEXT PRIMARY KEY,        -- function name
    config_id         TEXT NOT NULL REFERENCES code_signing_configs (id)
  ) WITHOUT ROWID;

  -- Policies and tags go with what they belong to: a version's policy with the version, and
  -- everything of a function with its $LATEST row (deleted only when the function is). A trigger,
  -- not a foreign key: an alias's policy has no row in function_versions to refer to.
  CREATE TRIGGER function_versions_delete_extras AFTER DELETE ON function_versions BEGIN
    DELETE FROM function_policies WHERE name = OLD.name AND (qualifier = OLD.version OR OLD.version = '$LATEST');
    DELETE FROM function_tags WHERE name = OLD.name AND OLD.version = '$LATEST';
    DELETE FROM function_code_signing WHERE name = OLD.name AND OLD.version = '$LATEST';
  END;

  -- A code signing configuration's tags are kept under 'code-signing-config:<id>' (no function name has a ':').
  CREATE TRIGGER code_signing_configs_delete_tags AFTER DELETE ON code_signing_configs BEGIN
    DELETE FROM function_tags WHERE name = 'code-signing-config:' || OLD.id;
  END;
  `,
  /* 6: versions (a function's version counter, so numbers are never reused) and aliases (src/functions/aliases.ts) */ `
  ALTER TABLE function_settings ADD COLUMN last_version INTEGER NOT NULL DEFAULT 0;

  CREATE TABLE function_aliases (
    name              TEXT NOT NULL,           -- function name
    alias             TEXT NOT NULL,
    function_version  TEXT NOT NULL,           -- '$LATEST' or a version number
    description       TEXT NOT NULL,
    weights           TEXT NOT NULL,           -- JSON RoutingConfig.AdditionalVersionWeights ({} when none)
    revision_id       TEXT NOT NULL,
    PRIMARY KEY (name, alias)
  ) WITHOUT ROWID;

  -- An alias goes with its function (its $LATEST row), and its policy goes with it.
  CREATE TRIGGER function_versions_delete_aliases AFTER DELETE ON function_versions WHEN OLD.version = '$LATEST' BEGIN
    DELETE FROM function_aliases WHERE name = OLD.name;
  END;
  CREATE TRIGGER function_aliases_delete_policy AFTER DELETE ON function_aliases BEGIN
    DELETE FROM function_policies WHERE name = OLD.name AND qualifier = OLD.alias;
  END;
  `,
  /* 7: layers (src/layers): a counter per layer name, its versions and their policies */ `
  CREATE TABLE layers (
    name              TEXT PRIMARY KEY,
    last_version      INTEGER NOT NULL         -- version numbers are never reused, even after deletes
  ) WITHOUT ROWID;

  CREATE TABLE layer_versions (
    name              TEXT NOT NULL,
    version           INTEGER NOT NULL,
    description       TEXT NOT NULL,
    runtimes          TEXT,                    -- JSON array CompatibleRuntimes; NULL when not given
    architectures     TEXT,                    -- JSON array CompatibleArchitectures; NULL when not given
    license_info      TEXT,
    code_sha256       TEXT NOT NULL,           -- the zip in the code store (src/code)
    code_size         INTEGER NOT NULL,
    code_unzipped     INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (name, version)
  ) WITHOUT ROWID;

  CREATE TABLE layer_policies (
    name              TEXT NOT NULL,
    version           INTEGER NOT NULL,
    statements        TEXT NOT NULL,           -- JSON array of IAM statements, in the order added
    revision_id       TEXT NOT NULL,
    PRIMARY KEY (name, version)
  ) WITHOUT ROWID;

  CREATE TRIGGER layer_versions_delete_policy AFTER DELETE ON layer_versions BEGIN
    DELETE FROM layer_policies WHERE name = OLD.name AND version = OLD.version;
  END;
  `,
  /* 8: function URLs (src/urls): one per function and qualifier ('$LATEST' or an alias), found by url id */ `
  CREATE TABLE function_urls (
    url_id            TEXT PRIMARY KEY,        -- 32 lowercase alphanumerics: the host's first label
    name              TEXT NOT NULL,           -- function name
    qualifier         TEXT NOT NULL,           -- '$LATEST' or an alias name
    auth_type         TEXT NOT NULL,           -- NONE | AWS_IAM
    invoke_mode       TEXT NOT NULL,           -- BUFFERED | RESPONSE_STREAM
    cors              TEXT,                    -- JSON Cors as configured; NULL when none
    created_at        INTEGER NOT NULL,
    last_modified     INTEGER NOT NULL,
    UNIQUE (name, qualifier)
  ) WITHOUT ROWID;

  -- A URL goes with its function (its $LATEST row) and with its alias.
  CREATE TRIGGER function_versions_delete_urls AFTER DELETE ON function_versions WHEN OLD.version = '$LATEST' BEGIN
    DELETE FROM function_urls WHERE name = OLD.name;
  END;
  CREATE TRIGGER function_aliases_delete_url AFTER DELETE ON function_aliases BEGIN
    DELETE FROM function_urls WHERE name = OLD.name AND qualifier = OLD.alias;
  END;
  `,
  /* 9: provisioned concurrency configs (src/functions/provisioned.ts); what goes with a version or alias */ `
  CREATE TABLE provisioned_concurrency (
    name              TEXT NOT NULL,           -- function name
    qualifier         TEXT NOT NULL,           -- a version number or an alias name (never $LATEST)
    requested         INTEGER NOT NULL,        -- ProvisionedConcurrentExecutions
    last_modified     INTEGER NOT NULL,
    PRIMARY KEY (name, qualifier)
  ) WITHOUT ROWID;

  -- A version's or an alias's provisioned concurrency and event invoke config go with it; the
  -- function's all go with its $LATEST row (event invoke configs of $LATEST are deleted with the
  -- function by the repository, as before).
  CREATE TRIGGER function_versions_delete_qualified AFTER DELETE ON function_versions BEGIN
    DELETE FROM provisioned_concurrency WHERE name = OLD.name AND (qualifier = OLD.version OR OLD.version = '$LATEST');
    DELETE FROM event_invoke_configs WHERE function_name = OLD.name AND qualifier = OLD.version AND OLD.version <> '$LATEST';
  END;
  CREATE TRIGGER function_aliases_delete_qualified AFTER DELETE ON function_aliases BEGIN
    DELETE FROM provisioned_concurrency WHERE name = OLD.name AND qualifier = OLD.alias;
    DELETE FROM event_invoke_configs WHERE function_name = OLD.name AND qualifier = OLD.alias;
  END;
  `,
  /* 10: the queue tables again, for data directories that skipped them (see QUEUE_SCHEMA) */ QUEUE_SCHEMA,
  /* 11: recursive loop setting (per function) and runtime management configuration (per version), src/functions/settings.ts */ `
  -- NULL: never set (Lambda's default, Terminate). The row goes with the function (FunctionRepo.delete).
  ALTER TABLE function_settings ADD COLUMN recursive_loop TEXT;  -- Allow | Terminate

  CREATE TABLE function_runtime_management (
    name              TEXT NOT NULL,           -- function name
    version           TEXT NOT NULL,           -- '$LATEST' or a version number
    update_runtime_on TEXT NOT NULL,           -- Auto | FunctionUpdate | Manual
    runtime_version_arn TEXT,                  -- the pinned runtime version (Manual only)
    PRIMARY KEY (name, version)
  ) WITHOUT ROWID;

  -- A version's setting goes with the version, and all of them with the function ($LATEST row).
  CREATE TRIGGER function_versions_delete_runtime_management AFTER DELETE ON function_versions BEGIN
    DELETE FROM function_runtime_management WHERE name = OLD.name AND (version = OLD.version OR OLD.version = '$LATEST');
  END;
  -- A published version starts with the setting $LATEST has (in PublishVersion's transaction).
  CREATE TRIGGER function_versions_publish_runtime_management AFTER INSERT ON function_versions WHEN NEW.version <> '$LATEST' BEGIN
    INSERT OR REPLACE INTO function_runtime_management (name, version, update_runtime_on, runtime_version_arn)
      SELECT name, NEW.version, update_runtime_on, runtime_version_arn FROM function_runtime_management
      WHERE name = NEW.name AND version = '$LATEST';
  END;
  `,
];
