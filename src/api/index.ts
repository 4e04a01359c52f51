import type http from 'node:http';
import type { AsyncService } from '../async/index.js';
import type { CodeStore } from '../code/index.js';
import type { CompiledOptions } from '../config/index.js';
import type {
  FunctionAliases,
  FunctionPolicies,
  FunctionProvisioning,
  FunctionService,
  FunctionSettings,
  FunctionTags,
} from '../functions/index.js';
import type { LayerService } from '../layers/index.js';
import type { Metrics } from '../metrics/index.js';
import type { QueueService } from '../queues/index.js';
import type { CodeSigning, SigningProfiles } from '../signing/index.js';
import type { LogRepo } from '../store/index.js';
import type { FunctionUrls, UrlGateway } from '../urls/index.js';
import type { EnvironmentCheck } from './callers.js';
import { CodeLinks } from './code-links.js';
import { accountRoutes } from './routes/account.js';
import { aliasRoutes } from './routes/aliases.js';
import { concurrencyRoutes } from './routes/concurrency.js';
import { eventInvokeConfigRoutes } from './routes/event-invoke-config.js';
import { functionSettingsRoutes } from './routes/function-settings.js';
import { functionRoutes } from './routes/functions.js';
import { invokeRoutes } from './routes/invoke.js';
import { kumoRoutes } from './routes/kumo.js';
import { layerRoutes } from './routes/layers.js';
import { logsTargets } from './routes/logs.js';
import { policyRoutes } from './routes/policy.js';
import { provisionedRoutes } from './routes/provisioned.js';
import { signingRoutes } from './routes/signing.js';
import { queueAdminRoutes, sqsApi } from './routes/sqs.js';
import { tagRoutes } from './routes/tags.js';
import { urlRoutes } from './routes/urls.js';
import { createHttpServer, type ServerLog } from './server.js';

export interface ApiDeps {
  options: CompiledOptions;
  functions: FunctionService;
  aliases: FunctionAliases;
  provisioning: FunctionProvisioning;
  /** Recursive loop and runtime management settings. */
  settings: FunctionSettings;
  policies: FunctionPolicies;
  tags: FunctionTags;
  layers: LayerService;
  signing: CodeSigning;
  profiles: SigningProfiles;
  /** Asynchronous invocation and event invoke configs. */
  events: AsyncService;
  metrics: Metrics;
  code: CodeStore;
  logs: LogRepo;
  queues: QueueService;
  /** Function URLs' configurations, and the gateway that serves them on the same port. */
  urls: FunctionUrls;
  urlGateway: UrlGateway;
  /** Tells connections from execution environments apart (they may only invoke and use SQS messages). */
  environments?: EnvironmentCheck;
  /** Secret for signing code download links. */
  secret: Buffer;
  log: ServerLog;
}

/** Builds Kumo's HTTP API: Lambda's REST API, the CloudWatch Logs JSON API and SQS on one endpoint. */
export function createApi(deps: ApiDeps): http.Server {
  const links = new CodeLinks(deps.secret);
  const routes = [
    ...accountRoutes(deps.functions, deps.options),
    ...functionRoutes(deps.functions, deps.code, links, deps.tags),
    ...invokeRoutes(deps.functions, deps.events),
    ...aliasRoutes(deps.aliases),
    ...concurrencyRoutes(deps.functions),
    ...provisionedRoutes(deps.provisioning),
    ...functionSettingsRoutes(deps.settings),
    ...eventInvokeConfigRoutes(deps.events),
    ...kumoRoutes(deps.events, deps.metrics),
    ...queueAdminRoutes(deps.queues),
    ...policyRoutes(deps.policies),
    ...tagRoutes(deps.tags),
    ...signingRoutes(deps.signing, deps.profiles),
    ...urlRoutes(deps.urls),
    ...layerRoutes(deps.layers, links),
  ];
  const logs = logsTargets(deps.logs, deps.options);
  const sqs = sqsApi(deps.queues);
  return createHttpServer(routes, (target, req) => logs(target, req) ?? sqs.target(target, req), deps.log, {
    queryApi: sqs.query,
    functionUrls: deps.urlGateway,
    ...(deps.environments ? { environments: deps.environments } : {}),
  });
}

export { CodeLinks } from './code-links.js';
export type { ServerLog } from './server.js';
