export { ERROR_CATALOG, KumoError, isKumoError, type ErrorCode } from './catalog.js';
export { validationError, functionNotFound, invalidParameter } from './messages.js';
