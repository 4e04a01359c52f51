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
  type StreamInvokeInput,
  type StreamInvokeResult,
  type AccountUsage,
  type DeploymentCheck,
  type CodeSignature,
  type LayerResolver,
} from './service.js';
export {
  LAMBDA_RUNTIME_ENUM,
  toFunctionConfiguration,
  lambdaTimestamp,
  isQueueArn,
  MAX_ENV_BYTES,
  type ConfigInput,
  type ConfigurationView,
} from './config.js';
export { QUALIFIER_KEY, pageOf, pageSize, readMarker } from './paging.js';
export { checkQualifier, functionArn, parseFunctionRef, type Partition, type FunctionRef } from './names.js';
export {
  FunctionPolicies,
  buildStatement,
  checkStatementId,
  checkStatementIdFree,
  checkPolicySize,
  policyDocument,
  type AddPermissionInput,
  type PolicyStatement,
} from './policy.js';
export { FunctionTags, checkTags, MAX_TAGS, type TaggableResolver } from './tags.js';
export { FunctionAliases, type AliasInput } from './aliases.js';
export { FunctionProvisioning, type ProvisioningEngine, type ProvisionedStatus } from './provisioned.js';
export { FunctionSettings, type RuntimeManagementInput } from './settings.js';
export {
  readHttpPrelude,
  HTTP_INTEGRATION_CONTENT_TYPE,
  type ResponseStream,
  type StreamCompletion,
  type StreamError,
  type HttpPrelude,
  type HttpResponseStreamResult,
} from './streaming.js';
