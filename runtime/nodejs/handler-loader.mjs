// @ts-check
/**
 * Turns `_HANDLER` into the user's function, with the RIC's rules for nodejs20.x/22.x:
 *
 *  "src/handlers/app.lambda.handler"
 *   ├─ module root   "src/handlers/"        (everything up to the last "/")
 *   ├─ module        "app"                  (up to the first "." of the basename)
 *   └─ function path "lambda.handler"       (property path into the module's exports)
 *
 * For `${LAMBDA_TASK_ROOT}/${moduleRoot}${module}` the candidates are, in order:
 *  1. the extensionless path, with require()            (a file or a directory with index.js)
 *  2. `.js` with require(), unless the nearest package.json says "type": "module"
 *  3. `.js` with import() when it does, then `.mjs` with import(), then `.cjs` with require()
 *  4. Node's own resolution of the module name from the task root and the module root
 *     (so `_HANDLER=some-package.handler` finds node_modules/some-package).
 * Failures map to Runtime.MalformedHandlerName, Runtime.ImportModuleError (require's
 * MODULE_NOT_FOUND only: ESM's ERR_MODULE_NOT_FOUND stays a plain Error, as on Lambda),
 * Runtime.UserCodeSyntaxError and Runtime.HandlerNotFound; anything else thrown while loading
 * (a throw at module top level, a rejected top-level await) is reported as it is.
 */

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HandlerNotFound, ImportModuleError, MalformedHandlerName, UserCodeSyntaxError } from './errors.mjs';
import { installAwsLambdaGlobal, streamingOf } from './streaming.mjs';

/** @typedef {(event: unknown, context: object, callback: (err?: unknown, result?: unknown) => void) => unknown} Handler */

/**
 * @typedef {object} LoadedHandler
 * @property {Handler} handler
 * @property {boolean} isAsync declared `async`: when its promise never settles and the event loop
 *   empties, the invocation fails with Runtime.NodeJsExit instead of succeeding with null.
 * @property {StreamingHandler | undefined} streaming set for a handler wrapped in
 *   `awslambda.streamifyResponse`: it is called `(event, responseStream, context)`.
 */

/**
 * @typedef {object} StreamingHandler
 * @property {number | undefined} highWaterMark the response stream's buffer size, when the handler set one
 * @property {typeof import('./response-stream.mjs').ResponseStream} ResponseStream
 */

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

/**
 * require() rooted at the runtime's entry point: on Lambda the "Require stack" of an import error
 * ends with the runtime's entry ("- /var/runtime/index.mjs"); here it ends with bootstrap.mjs.
 */
const runtimeRequire = createRequire(new URL('./bootstrap.mjs', import.meta.url));

/**
 * @param {string} appRoot the task root (LAMBDA_TASK_ROOT)
 * @param {string} fullHandlerString `_HANDLER`
 * @returns {Promise<LoadedHandler>}
 */
export async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  const match = FUNCTION_EXPR.exec(handlerString);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const moduleName = /** @type {string} */ (match[1]);
  const functionPath = /** @type {string} */ (match[2]);

  installAwsLambdaGlobal(process.env);
  const userModule = await loadUserModule(appRoot, moduleRoot, moduleName, runtimeRequire);
  const handler = resolvePath(userModule, functionPath);
  if (!handler) throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  const stream = streamingOf(/** @type {Function & Record<symbol, unknown>} */ (handler));
  // Only streaming functions pay for node:http (the response stream's transport).
  const streaming = stream && { highWaterMark: stream.highWaterMark, ResponseStream: (await import('./response-stream.mjs')).ResponseStream };
  return { handler: /** @type {Handler} */ (handler), isAsync: handler.constructor?.name === 'AsyncFunction', streaming };
}

/**
 * @param {unknown} root
 * @param {string} dotted
 * @returns {unknown}
 */
function resolvePath(root, dotted) {
  /** @type {unknown} */
  let value = root;
  for (const key of dotted.split('.')) {
    if (!value) return value;
    value = /** @type {Record<string, unknown>} */ (value)[key];
  }
  return value;
}

/**
 * @param {string} appRoot
 * @param {string} moduleRoot
 * @param {string} moduleName
 * @param {NodeJS.Require} require
 * @returns {Promise<unknown>}
 */
async function loadUserModule(appRoot, moduleRoot, moduleName, require) {
  try {
    return await tryCandidates(appRoot, moduleRoot, moduleName, require);
  } catch (err) {
    if (err instanceof SyntaxError) throw new UserCodeSyntaxError(/** @type {string} */ (/** @type {unknown} */ (err)));
    if (/** @type {{ code?: unknown } | null | undefined} */ (err)?.code === 'MODULE_NOT_FOUND') {
      throw new ImportModuleError(/** @type {string} */ (err));
    }
    throw err;
  }
}

/**
 * @param {string} appRoot
 * @param {string} moduleRoot
 * @param {string} moduleName
 * @param {NodeJS.Require} require
 * @returns {Promise<unknown>}
 */
async function tryCandidates(appRoot, moduleRoot, moduleName, require) {
  const base = path.resolve(appRoot, moduleRoot, moduleName);

  if (existsSync(base)) return require(base);

  const typeModule = nearestPackageIsModule(path.dirname(base));
  if (!typeModule && existsSync(base + '.js')) return require(base + '.js');
  if (typeModule && existsSync(base + '.js')) return import(pathToFileURL(base + '.js').href);
  if (existsSync(base + '.mjs')) return import(pathToFileURL(base + '.mjs').href);
  if (existsSync(base + '.cjs')) return require(base + '.cjs');

  // Node's resolution; relative entries in `paths` resolve against the cwd (the task root).
  return require(require.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
}

/**
 * Whether `.js` files in `folder` are ES modules: the nearest package.json decides, the search
 * stops at a node_modules folder or at the root.
 * @param {string} folder
 * @returns {boolean}
 */
function nearestPackageIsModule(folder) {
  for (let dir = folder; ; ) {
    if (dir.endsWith('/node_modules')) return false;
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const pkg = JSON.parse(readFileSync(pj, 'utf8'));
        if (pkg) return pkg.type === 'module';
      } catch (err) {
        console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, err);
        return false;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}
