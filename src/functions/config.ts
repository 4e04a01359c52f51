import crypto from 'node:crypto';
import { invalidParameter, validationError } from '../errors/index.js';
import type { FunctionConfig, FunctionRecord } from '../store/index.js';
import { functionArn, type Partition } from './names.js';

/** The configuration fields a caller may set (CreateFunction / UpdateFunctionConfiguration), already shape-checked. */
export interface ConfigInput {
  Runtime?: string | undefined;
  Handler?: string | undefined;
  Role?: string | undefined;
  Description?: string | undefined;
  MemorySize?: number | undefined;
  Timeout?: number | undefined;
  EphemeralStorage?: { Size: number } | undefined;
  Environment?: { Variables?: Record<string, string> | undefined } | undefined;
  Architectures?: string[] | undefined;
  TracingConfig?: { Mode?: string | undefined } | undefined;
  LoggingConfig?: { LogFormat?: string | undefined; LogGroup?: string | undefined } | undefined;
  Layers?: string[] | undefined;
  KMSKeyArn?: string | undefined;
  DeadLetterConfig?: { TargetArn?: string | undefined } | undefined;
}

/** Every runtime identifier Lambda knows, current or deprecated (for Lambda's enum error). */
export const LAMBDA_RUNTIME_ENUM = [
  'nodejs',
  'nodejs4.3',
  'nodejs6.10',
  'nodejs8.10',
  'nodejs10.x',
  'nodejs12.x',
  'nodejs14.x',
  'nodejs16.x',
  'nodejs18.x',
  'nodejs20.x',
  'nodejs22.x',
  'nodejs24.x',
  'java8',
  'java8.al2',
  'java11',
  'java17',
  'java21',
  'java25',
  'python2.7',
  'python3.6',
  'python3.7',
  'python3.8',
  'python3.9',
  'python3.10',
  'python3.11',
  'python3.12',
  'python3.13',
  'python3.14',
  'dotnetcore1.0',
  'dotnetcore2.0',
  'dotnetcore2.1',
  'dotnetcore3.1',
  'dotnet6',
  'dotnet8',
  'dotnet10',
  'nodejs4.3-edge',
  'go1.x',
  'ruby2.5',
  'ruby2.7',
  'ruby3.2',
  'ruby3.3',
  'ruby3.4',
  'provided',
  'provided.al2',
  'provided.al2023',
] as const;

/** Runtimes Lambda still lets you create functions with (the others are deprecated). */
const CREATABLE_RUNTIMES: ReadonlySet<string> = new Set([
  'nodejs24.x',
  'nodejs22.x',
  'nodejs20.x',
  'python3.14',
  'python3.13',
  'python3.12',
  'python3.11',
  'python3.10',
  'java25',
  'java21',
  'java17',
  'java11',
  'java8.al2',
  'dotnet10',
  'dotnet8',
  'ruby3.4',
  'ruby3.3',
  'ruby3.2',
  'provided.al2023',
  'provided.al2',
  // Deprecated by AWS, kept because Kumo runs the Amazon Linux 1 style `provided` runtime the same way.
  'provided',
]);

const ROLE_RE = /^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
const ENV_KEY_RE = /^[a-zA-Z]([a-zA-Z0-9_])+$/;
const RESERVED_ENV_KEYS = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);
/** Lambda's limit on the total size of a function's environment variables. */
export const MAX_ENV_BYTES = 4096;

export const DEFAULT_ROLE_NAME = 'kumo-function-role';

/**
 * Applies `input` over `base` (or Lambda's defaults for a new function) and checks every field as
 * Lambda does. Throws the first violation; returns a new config otherwise.
 */
export function buildConfig(
  p: Partition,
  functionName: string,
  input: ConfigInput,
  base: FunctionConfig | undefined,
  supportedRuntimes: ReadonlySet<string>,
): FunctionConfig {
  if (!base && (input.Runtime === undefined || input.Handler === undefined)) {
    throw invalidParameter('Runtime and Handler are mandatory parameters for functions created with deployment packages.');
  }
  const config: FunctionConfig = base
    ? { ...base, environment: { ...base.environment } }
    : {
        runtime: '',
        handler: '',
        role: `arn:aws:iam::${p.accountId}:role/${DEFAULT_ROLE_NAME}`,
        description: '',
        memorySize: 128,
        timeout: 3,
        ephemeralStorage: 512,
        environment: {},
        architectures: ['x86_64'],
        packageType: 'Zip',
        tracingMode: 'PassThrough',
        logFormat: 'Text',
        logGroup: `/aws/lambda/${functionName}`,
      };

  if (input.Runtime !== undefined) config.runtime = checkRuntime(input.Runtime, supportedRuntimes);
  if (input.Handler !== undefined) config.handler = checkHandler(input.Handler);
  if (input.Role !== undefined) {
    if (!ROLE_RE.test(input.Role)) {
      throw validationError(
        'role',
        input.Role,
        'Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+',
      );
    }
    config.role = input.Role;
  }
  if (input.Description !== undefined) {
    if (input.Description.length > 256)
      throw validationError('description', input.Description, 'Member must have length less than or equal to 256');
    config.description = input.Description;
  }
  if (input.MemorySize !== undefined) config.memorySize = checkRange('memorySize', input.MemorySize, 128, 10240);
  if (input.Timeout !== undefined) config.timeout = checkRange('timeout', input.Timeout, 1, 900);
  if (input.EphemeralStorage !== undefined) {
    config.ephemeralStorage = checkRange('ephemeralStorage.size', input.EphemeralStorage.Size, 512, 10240);
  }
  if (input.Environment !== undefined) config.environment = checkEnvironment(input.Environment.Variables ?? {});
  if (input.Architectures !== undefined) {
    const [arch, ...rest] = input.Architectures;
    if (arch === undefined || rest.length > 0) {
      throw validationError('architectures', input.Architectures, 'Member must have length less than or equal to 1');
    }
    if (arch !== 'x86_64' && arch !== 'arm64') {
      throw validationError(
        'architectures',
        input.Architectures,
        'Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]',
      );
    }
    config.architectures = [arch];
  }
  if (input.TracingConfig?.Mode !== undefined) {
    const mode = input.TracingConfig.Mode;
    if (mode !== 'Active' && mode !== 'PassThrough') {
      throw validationError('tracingConfig.mode', mode, 'Member must satisfy enum value set: [Active, PassThrough]');
    }
    config.tracingMode = mode;
  }
  if (input.LoggingConfig !== undefined) {
    const { LogFormat, LogGroup } = input.LoggingConfig;
    if (LogFormat !== undefined) {
      if (LogFormat !== 'Text' && LogFormat !== 'JSON') {
        throw validationError('loggingConfig.logFormat', LogFormat, 'Member must satisfy enum value set: [JSON, Text]');
      }
      config.logFormat = LogFormat;
    }
    if (LogGroup !== undefined) {
      if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(LogGroup)) {
        throw validationError('loggingConfig.logGroup', LogGroup, 'Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+');
      }
      config.logGroup = LogGroup;
    }
  }
  if (input.DeadLetterConfig !== undefined) {
    const target = input.DeadLetterConfig.TargetArn ?? '';
    checkDeadLetterTarget(target);
    config.deadLetterTargetArn = target === '' ? undefined : target;
  }
  if (input.KMSKeyArn !== undefined) {
    if (input.KMSKeyArn !== '' && !KMS_KEY_ARN_RE.test(input.KMSKeyArn)) {
      throw validationError(
        'kMSKeyArn',
        input.KMSKeyArn,
        'Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()',
      );
    }
    config.kmsKeyArn = input.KMSKeyArn === '' ? undefined : input.KMSKeyArn;
  }
  // Layers are resolved by FunctionService (they need the store): see `withLayers`.
  return config;
}

const KMS_KEY_ARN_RE = /^arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*$/;

const QUEUE_ARN_RE = /^arn:aws[a-zA-Z-]*:sqs:[a-z]{2}(?:-gov)?-[a-z]+-\d:\d{12}:[a-zA-Z0-9_-]{1,80}(?:\.fifo)?$/;

/** An SQS queue's ARN (`arn:aws:sqs:<region>:<account>:<name>`). */
export function isQueueArn(arn: string): boolean {
  return QUEUE_ARN_RE.test(arn);
}

/** DeadLetterConfig.TargetArn: an SQS queue ('' removes it). Lambda also takes SNS topics, which Kumo does not have yet. */
function checkDeadLetterTarget(arn: string): void {
  if (arn === '') return;
  if (!/^arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*$/.test(arn)) {
    throw validationError(
      'deadLetterConfig.targetArn',
      arn,
      'Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()',
    );
  }
  if (arn.split(':')[2] === 'sns') {
    throw invalidParameter(`Kumo cannot deliver to SNS topics yet; use an SQS queue ARN as the dead-letter queue: ${arn}`);
  }
  if (!QUEUE_ARN_RE.test(arn)) {
    throw invalidParameter(`The provided target arn ${arn} is invalid. The dead-letter queue must be an SQS queue or an SNS topic.`);
  }
}

function checkRuntime(runtime: string, supported: ReadonlySet<string>): string {
  if (!(LAMBDA_RUNTIME_ENUM as readonly string[]).includes(runtime)) {
    throw invalidParameter(
      `Value ${runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [${[...CREATABLE_RUNTIMES].join(', ')}] or be a valid ARN`,
    );
  }
  if (!CREATABLE_RUNTIMES.has(runtime)) {
    throw invalidParameter(
      `The runtime parameter of ${runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.`,
    );
  }
  if (!supported.has(runtime)) {
    throw invalidParameter(
      `The runtime parameter of ${runtime} is not supported by Kumo. Supported runtimes: ${[...supported].join(', ')}.`,
    );
  }
  return runtime;
}

function checkHandler(handler: string): string {
  if (handler.length > 128) throw validationError('handler', handler, 'Member must have length less than or equal to 128');
  if (!/^[^\s]+$/.test(handler)) throw validationError('handler', handler, 'Member must satisfy regular expression pattern: [^\\s]+');
  return handler;
}

function checkRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value)) throw validationError(field, value, 'Member must be an integer');
  if (value < min) throw validationError(field, value, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw validationError(field, value, `Member must have value less than or equal to ${max}`);
  return value;
}

function checkEnvironment(vars: Record<string, string>): Record<string, string> {
  const keys = Object.keys(vars);
  for (const key of keys) {
    if (!ENV_KEY_RE.test(key)) {
      throw validationError(
        'environment.variables',
        '[sensitive]',
        'Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]',
      );
    }
  }
  const reserved = keys.filter((k) => RESERVED_ENV_KEYS.has(k));
  if (reserved.length > 0) {
    throw invalidParameter(
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
    );
  }
  const measured = JSON.stringify(vars);
  if (Buffer.byteLength(measured) > MAX_ENV_BYTES) {
    throw invalidParameter(
      `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${measured}`,
    );
  }
  return { ...vars };
}

/**
 * The ARN of the runtime version Kumo runs for `runtime`: Kumo has one version of each runtime, so
 * its ARN is derived from the runtime identifier (`arn:aws:lambda:<region>::runtime:<64 hex>`, the
 * shape of Lambda's). GetFunctionConfiguration's RuntimeVersionConfig and the runtime management
 * configuration (src/functions/settings.ts) both name it.
 */
export function runtimeVersionArn(p: Partition, runtime: string): string {
  return `arn:aws:lambda:${p.region}::runtime:${runtimeVersionHash(runtime)}`;
}

function runtimeVersionHash(runtime: string): string {
  let hash = RUNTIME_VERSION_HASH.get(runtime);
  if (!hash) {
    hash = crypto.createHash('sha256').update(`kumo:${runtime}`).digest('hex');
    RUNTIME_VERSION_HASH.set(runtime, hash);
  }
  return hash;
}

/** Lambda's timestamp format: `2024-01-02T03:04:05.678+0000`. */
export function lambdaTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/**
 * Which answer the configuration is part of. Lambda reports a new function as `Pending` and an
 * update as `InProgress` in the create/update responses, `Active`/`Successful` afterwards, and
 * leaves state fields out of list entries. Kumo's changes are complete when the call returns, so a
 * following Get always sees `Active`/`Successful`.
 */
export type ConfigurationView = 'create' | 'update' | 'get' | 'list';

const RUNTIME_VERSION_HASH = new Map<string, string>();

/** The `FunctionConfiguration` document Lambda returns for a function version. */
export function toFunctionConfiguration(
  p: Partition,
  r: FunctionRecord,
  view: ConfigurationView = 'get',
  /** The alias the caller read the version through (its ARN is then the FunctionArn). */
  alias?: string,
): Record<string, unknown> {
  const c = r.config;
  const out: Record<string, unknown> = {
    FunctionName: r.name,
    FunctionArn: functionArn(p, r.name, alias ?? (r.version === '$LATEST' ? undefined : r.version)),
    Runtime: c.runtime,
    Role: c.role,
    Handler: c.handler,
    CodeSize: r.codeSize,
    Description: c.description,
    Timeout: c.timeout,
    MemorySize: c.memorySize,
    LastModified: lambdaTimestamp(r.lastModified),
    CodeSha256: Buffer.from(r.codeSha256Hex, 'hex').toString('base64'),
    Version: r.version,
  };
  if (c.deadLetterTargetArn) out.DeadLetterConfig = { TargetArn: c.deadLetterTargetArn };
  if (Object.keys(c.environment).length > 0) out.Environment = { Variables: { ...c.environment } };
  if (c.kmsKeyArn) out.KMSKeyArn = c.kmsKeyArn;
  out.TracingConfig = { Mode: c.tracingMode };
  out.RevisionId = r.revisionId;
  if (c.layers && c.layers.length > 0) out.Layers = c.layers.map((l) => ({ Arn: l.arn, CodeSize: l.codeSize }));
  if (view === 'create') {
    Object.assign(out, { State: 'Pending', StateReason: 'The function is being created.', StateReasonCode: 'Creating' });
  } else if (view === 'update') {
    Object.assign(out, {
      State: 'Active',
      LastUpdateStatus: 'InProgress',
      LastUpdateStatusReason: 'The function is being created.',
      LastUpdateStatusReasonCode: 'Creating',
    });
  } else if (view === 'get') {
    Object.assign(out, { State: 'Active', LastUpdateStatus: 'Successful' });
  }
  if (c.signingProfileVersionArn) out.SigningProfileVersionArn = c.signingProfileVersionArn;
  if (c.signingJobArn) out.SigningJobArn = c.signingJobArn;
  out.PackageType = c.packageType;
  out.Architectures = [...c.architectures];
  out.EphemeralStorage = { Size: c.ephemeralStorage };
  out.SnapStart = { ApplyOn: 'None', OptimizationStatus: 'Off' };
  if (view !== 'list') out.RuntimeVersionConfig = { RuntimeVersionArn: runtimeVersionArn(p, c.runtime) };
  out.LoggingConfig =
    c.logFormat === 'JSON'
      ? { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'INFO', LogGroup: c.logGroup }
      : { LogFormat: 'Text', LogGroup: c.logGroup };
  return out;
}
