// @ts-check
/**
 * The `context` object handed to the handler, with the same keys, in the same order, as Lambda's
 * (so that `JSON.stringify(context)` matches):
 *
 *   callbackWaitsForEmptyEventLoop (accessor), succeed, fail, done,
 *   functionVersion, functionName, memoryLimitInMB (a string), logGroupName, logStreamName,
 *   clientContext, identity, invokedFunctionArn, awsRequestId, tenantId, getRemainingTimeInMillis
 *
 * The environment part is read once per environment; the rest comes from the invocation's headers.
 */

/** @typedef {import('node:http').IncomingHttpHeaders} IncomingHttpHeaders */

/**
 * @typedef {object} EnvironmentData
 * @property {string | undefined} functionVersion
 * @property {string | undefined} functionName
 * @property {string | undefined} memoryLimitInMB
 * @property {string | undefined} logGroupName
 * @property {string | undefined} logStreamName
 */

/**
 * The callback half of the context, owned by the invocation (see callbacks.mjs).
 * @typedef {object} CallbackControls
 * @property {() => boolean} getWaitForEmptyEventLoop
 * @property {(value: boolean) => void} setWaitForEmptyEventLoop
 * @property {(result?: unknown) => void} succeed
 * @property {(err?: unknown) => void} fail
 * @property {(err?: unknown, result?: unknown) => void} done
 */

/**
 * @param {NodeJS.ProcessEnv} env
 * @returns {Readonly<EnvironmentData>}
 */
export function environmentData(env) {
  return Object.freeze({
    functionVersion: env['AWS_LAMBDA_FUNCTION_VERSION'],
    functionName: env['AWS_LAMBDA_FUNCTION_NAME'],
    memoryLimitInMB: env['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'],
    logGroupName: env['AWS_LAMBDA_LOG_GROUP_NAME'],
    logStreamName: env['AWS_LAMBDA_LOG_STREAM_NAME'],
  });
}

/**
 * @param {IncomingHttpHeaders} headers
 * @param {string} requestId
 * @param {Readonly<EnvironmentData>} envData
 * @param {CallbackControls} controls
 */
export function buildContext(headers, requestId, envData, controls) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const clientContext = /** @type {string | undefined} */ (headers['lambda-runtime-client-context']);
  const identity = /** @type {string | undefined} */ (headers['lambda-runtime-cognito-identity']);
  return {
    get callbackWaitsForEmptyEventLoop() {
      return controls.getWaitForEmptyEventLoop();
    },
    set callbackWaitsForEmptyEventLoop(value) {
      controls.setWaitForEmptyEventLoop(value);
    },
    succeed: controls.succeed,
    fail: controls.fail,
    done: controls.done,
    functionVersion: envData.functionVersion,
    functionName: envData.functionName,
    memoryLimitInMB: envData.memoryLimitInMB,
    logGroupName: envData.logGroupName,
    logStreamName: envData.logStreamName,
    clientContext: clientContext === undefined ? undefined : parseHeaderJson(clientContext, 'ClientContext'),
    identity: identity === undefined ? undefined : parseHeaderJson(identity, 'CognitoIdentity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: requestId,
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    getRemainingTimeInMillis: function () {
      return deadline - Date.now();
    },
  };
}

/**
 * @param {string} text
 * @param {string} name
 * @returns {unknown}
 */
function parseHeaderJson(text, name) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${String(err)}`);
  }
}
