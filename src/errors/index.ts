export { ERROR_CATALOG, KumoError, isKumoError, type ErrorCode } from './catalog.js';
export { validationError, functionNotFound, invalidParameter, updateInProgress } from './messages.js';
