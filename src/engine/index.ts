export { Engine, type EngineDeps, type EngineInvokeRequest, type EngineStats } from './engine.js';
export { MAX_STREAMED_RESPONSE, type InvokeOutcome, type InvocationStream } from './environment.js';
export { RUNTIMES, type RuntimeSpec } from './runtimes.js';
export { RuntimeApiServer, MAX_RUNTIME_PAYLOAD } from './runtime-api.js';
