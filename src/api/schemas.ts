import { z } from 'zod';
import { KumoError } from '../errors/index.js';

/**
 * Shapes of Lambda's request bodies. Unknown members are ignored, as AWS's JSON deserializer does;
 * a member of the wrong type is a 400 naming it. Range and pattern rules live in the functions
 * subsystem, where they produce Lambda's own messages.
 */
const str = z.string();
const int = z.number();
const Environment = z.object({ Variables: z.record(z.string(), z.string()).optional() });
const EphemeralStorage = z.object({ Size: int });
const TracingConfig = z.object({ Mode: str.optional() });
const LoggingConfig = z.object({
  LogFormat: str.optional(),
  LogGroup: str.optional(),
  ApplicationLogLevel: str.optional(),
  SystemLogLevel: str.optional(),
});

const ConfigFields = {
  Runtime: str.optional(),
  Role: str.optional(),
  Handler: str.optional(),
  Description: str.optional(),
  Timeout: int.optional(),
  MemorySize: int.optional(),
  Environment: Environment.optional(),
  EphemeralStorage: EphemeralStorage.optional(),
  Architectures: z.array(str).optional(),
  TracingConfig: TracingConfig.optional(),
  LoggingConfig: LoggingConfig.optional(),
  Layers: z.array(str).optional(),
  KMSKeyArn: str.optional(),
  DeadLetterConfig: z.object({ TargetArn: str.optional() }).optional(),
};

export const CreateFunctionBody = z.object({
  FunctionName: str,
  Code: z.object({
    ZipFile: str.optional(),
    S3Bucket: str.optional(),
    S3Key: str.optional(),
    S3ObjectVersion: str.optional(),
    ImageUri: str.optional(),
  }),
  PackageType: str.optional(),
  Publish: z.boolean().optional(),
  Tags: z.record(z.string(), z.string()).optional(),
  CodeSigningConfigArn: str.optional(),
  ...ConfigFields,
});

export const UpdateFunctionConfigurationBody = z.object({
  RevisionId: str.optional(),
  ...ConfigFields,
});

export const PublishVersionBody = z.object({
  CodeSha256: str.optional(),
  Description: str.optional(),
  RevisionId: str.optional(),
});

export const UpdateFunctionCodeBody = z.object({
  ZipFile: str.optional(),
  S3Bucket: str.optional(),
  S3Key: str.optional(),
  S3ObjectVersion: str.optional(),
  ImageUri: str.optional(),
  Publish: z.boolean().optional(),
  DryRun: z.boolean().optional(),
  RevisionId: str.optional(),
  Architectures: z.array(str).optional(),
});

const Destination = z.object({ Destination: str.optional() });

/** Put/UpdateFunctionEventInvokeConfig. */
export const EventInvokeConfigBody = z.object({
  MaximumRetryAttempts: int.optional(),
  MaximumEventAgeInSeconds: int.optional(),
  DestinationConfig: z.object({ OnSuccess: Destination.optional(), OnFailure: Destination.optional() }).optional(),
});

/** Validates `value` against `schema`, turning the first problem into Lambda's 400. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).map(camel).join('.') || 'body';
  if (issue?.code === 'invalid_type' && issue.input === undefined) {
    throw new KumoError(
      'ValidationException',
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  throw new KumoError(
    'InvalidRequestContentException',
    `Could not parse request body into json: unexpected value at '${field}': ${issue?.message ?? 'invalid'}`,
  );
}

function camel(s: string): string {
  return s.length > 0 ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}
