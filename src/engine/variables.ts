import path from 'node:path';
import { runtimeDir, type RuntimeSpec } from './runtimes.js';

/** What an environment's variables depend on. Paths are host paths; the sandbox rewrites them. */
export interface VariablesSpec {
  functionName: string;
  version: string;
  runtime: RuntimeSpec;
  handler: string;
  memorySize: number;
  /** Unpacked, read-only code. */
  taskRoot: string;
  /** The layers' merged tree (the sandbox's /opt). */
  optDir: string;
  /** Private scratch directory of the environment (its /tmp without a sandbox). */
  scratchDir: string;
  /** The function's own environment variables. */
  variables: Readonly<Record<string, string>>;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  logGroup: string;
  logStream: string;
  initializationType: 'on-demand' | 'provisioned-concurrency';
}

/**
 * Lambda's default variables, which a function's own may override. Layers are found where Lambda's
 * runtimes look: executables in /opt/bin, libraries in /opt/lib, Node.js modules in
 * /opt/nodejs/node<major>/node_modules and /opt/nodejs/node_modules (NODE_PATH), Python packages in
 * /opt/python and its site-packages (added by the Python runtime, which reads KUMO_OPT_DIR).
 */
function lambdaDefaults(runtime: RuntimeSpec, taskRoot: string, scratchDir: string, optDir: string): Record<string, string> {
  const nodeBin = path.dirname(process.execPath);
  const nodeMajor = /^nodejs(\d+)/.exec(runtime.id)?.[1] ?? process.versions.node.split('.')[0];
  return {
    PATH: `${nodeBin}:/usr/local/bin:/usr/bin:/bin:${optDir}/bin`,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    LD_LIBRARY_PATH: `${taskRoot}:${taskRoot}/lib:${optDir}/lib`,
    NODE_PATH: `${optDir}/nodejs/node${nodeMajor}/node_modules:${optDir}/nodejs/node_modules:${taskRoot}`,
    TMPDIR: scratchDir,
    ...(runtime.family === 'python' ? { KUMO_OPT_DIR: optDir } : {}),
  };
}

/** The variables that depend only on the runtime and the environment's own paths. */
function runtimeOwn(runtime: RuntimeSpec, taskRoot: string, runtimeApi: string): Record<string, string> {
  return {
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: runtimeDir(runtime),
    ...(runtime.executionEnv ? { AWS_EXECUTION_ENV: runtime.executionEnv } : {}),
  };
}

/**
 * What a stem cell starts with, before it knows its function: the defaults and the runtime's own
 * variables, which depend only on the runtime, the task root and the Runtime API address (all fixed
 * when a stem cell starts).
 */
export function stemVariables(
  runtime: RuntimeSpec,
  taskRoot: string,
  scratchDir: string,
  optDir: string,
  runtimeApi: string,
): Record<string, string> {
  return { ...lambdaDefaults(runtime, taskRoot, scratchDir, optDir), ...runtimeOwn(runtime, taskRoot, runtimeApi), KUMO_STEM: '1' };
}

/**
 * An environment's variables: Lambda's defaults (which the function's own variables may override),
 * then the function's, then the reserved ones (which CreateFunction refuses to let it set).
 */
export function lambdaVariables(spec: VariablesSpec, runtimeApi: string, pythonMemoryLimit: boolean): Record<string, string> {
  return {
    ...lambdaDefaults(spec.runtime, spec.taskRoot, spec.scratchDir, spec.optDir),
    ...spec.variables,
    _HANDLER: spec.handler,
    AWS_REGION: spec.region,
    AWS_DEFAULT_REGION: spec.region,
    AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: spec.version,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
    AWS_LAMBDA_INITIALIZATION_TYPE: spec.initializationType,
    AWS_LAMBDA_LOG_GROUP_NAME: spec.logGroup,
    AWS_LAMBDA_LOG_STREAM_NAME: spec.logStream,
    AWS_ACCESS_KEY_ID: spec.accessKeyId,
    AWS_SECRET_ACCESS_KEY: spec.secretAccessKey,
    AWS_SESSION_TOKEN: 'kumo-session-token',
    ...runtimeOwn(spec.runtime, spec.taskRoot, runtimeApi),
    // The Python runtime applies it and reports MemoryError as Runtime.OutOfMemory (runtime/python).
    ...(pythonMemoryLimit && spec.runtime.family === 'python' ? { KUMO_MEMORY_LIMIT_BYTES: String(spec.memorySize * 1024 * 1024) } : {}),
  };
}

/**
 * Variables an interpreter reads once, as it starts (Node's options, Python's paths, the dynamic
 * linker's and the C library's settings, locale). A function that sets one cannot use a stem cell,
 * which started before its variables were known.
 */
const STARTUP_VARIABLE = /^(NODE_|PYTHON|LD_|MALLOC_|UV_|LC_)|^(GLIBC_TUNABLES|LANG|AWS_LAMBDA_EXEC_WRAPPER)$/;

export function readAtStartup(variables: Readonly<Record<string, string>>): boolean {
  for (const key of Object.keys(variables)) if (STARTUP_VARIABLE.test(key)) return true;
  return false;
}
