export {
  FunctionService,
  MAX_SYNC_PAYLOAD,
  checkJson,
  isAliasName,
  type CreateFunctionInput,
  type UpdateCodeInput,
  type InvokeInput,
  type PublishVersionInput,
  type InvokeResult,
  type AccountUsage,
  type DeploymentCheck,
  type LayerResolver,
} from './service.js';
export { LAMBDA_RUNTIME_ENUM, toFunctionConfiguration, lambdaTimestamp, isQueueArn, MAX_ENV_BYTES, type ConfigInput, type ConfigurationView } from './config.js';
export { functionArn, parseFunctionRef, type Partition, type FunctionRef } from './names.js';
export { FunctionPolicies, buildStatement, checkStatementId, type AddPermissionInput, type PolicyStatement } from './policy.js';
export { FunctionTags, checkTags, MAX_TAGS, type TaggableResolver } from './tags.js';
export { FunctionAliases, type AliasInput } from './aliases.js';
