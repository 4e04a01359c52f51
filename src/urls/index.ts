export { FunctionUrls, newUrlId, urlTimestamp, type FunctionUrlConfigView, type UrlPolicies } from './service.js';
export { UrlGateway, serveInvoke, type UrlGatewayDeps } from './gateway.js';
export type { UrlSettingsInput, CorsInput } from './settings.js';
export type { Credentials } from './sigv4.js';
