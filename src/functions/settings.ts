import { functionNotFound, invalidParameter, validationError } from '../errors/index.js';
import type { FunctionRecord, FunctionSettingsRepo, RecursiveLoop, RuntimeManagementRecord } from '../store/index.js';
import { runtimeVersionArn } from './config.js';
import { parseUnqualifiedFunctionName } from './names.js';
import { isAliasName, type FunctionService } from './service.js';

/** PutRuntimeManagementConfig's body, shape-checked at the API edge. */
export interface RuntimeManagementInput {
  UpdateRuntimeOn: string;
  RuntimeVersionArn?: string | undefined;
}

const RECURSIVE_LOOPS: readonly RecursiveLoop[] = ['Allow', 'Terminate'];
/** In the order of Lambda's model (its enum error lists them so). */
const UPDATE_RUNTIME_ON: ReadonlyArray<RuntimeManagementRecord['updateRuntimeOn']> = ['Auto', 'Manual', 'FunctionUpdate'];
const RUNTIME_VERSION_ARN_PATTERN = '^arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1}::runtime:.+$';
const RUNTIME_VERSION_ARN_RE = /^arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}::runtime:.+$/;

/** What a version that was never configured answers: Lambda's default mode. */
const AUTO: RuntimeManagementRecord = { updateRuntimeOn: 'Auto', runtimeVersionArn: undefined };

/**
 * Settings Lambda keeps beside a function's configuration, stored and answered as Lambda does:
 *
 * - Recursive loop detection (Get/PutFunctionRecursionConfig), one setting per function,
 *   `Terminate` by default. Kumo keeps the setting but detects no loops: it does not follow the
 *   trace headers through queues and topics that Lambda counts.
 * - Runtime management (Get/PutRuntimeManagementConfig), one setting per version (`$LATEST` or a
 *   published number), `Auto` by default. Kumo runs one version of each runtime, so the mode changes
 *   nothing it does; `Manual` may pin only that version, the ARN GetFunctionConfiguration reports
 *   in `RuntimeVersionConfig`.
 */
export class FunctionSettings {
  constructor(
    private readonly functions: FunctionService,
    private readonly repo: FunctionSettingsRepo,
  ) {}

  /** GetFunctionRecursionConfig. */
  async recursion(functionName: string): Promise<RecursiveLoop> {
    const fn = await this.functions.get(parseUnqualifiedFunctionName(this.functions.partition, functionName));
    return (await this.repo.recursiveLoop(fn.name)) ?? 'Terminate';
  }

  /** PutFunctionRecursionConfig: answers the setting stored. */
  async putRecursion(functionName: string, value: string): Promise<RecursiveLoop> {
    const name = parseUnqualifiedFunctionName(this.functions.partition, functionName);
    const loop = enumValue('recursiveLoop', value, RECURSIVE_LOOPS);
    await this.functions.get(name);
    if (!(await this.repo.setRecursiveLoop(name, loop))) throw functionNotFound(this.functions.arn(name));
    return loop;
  }

  /** GetRuntimeManagementConfig of `$LATEST`, or of the version `qualifier` (or the name's suffix) names. */
  async runtimeManagement(functionName: string, qualifier: string | undefined): Promise<Record<string, unknown>> {
    const { fn, arn } = await this.version(functionName, qualifier);
    return runtimeManagementView(arn, (await this.repo.runtimeManagement(fn.name, fn.version)) ?? AUTO);
  }

  /**
   * PutRuntimeManagementConfig. `RuntimeVersionArn` goes with `Manual` and only with it; Kumo
   * accepts the one runtime version it runs for the version's runtime.
   */
  async putRuntimeManagement(
    functionName: string,
    qualifier: string | undefined,
    input: RuntimeManagementInput,
  ): Promise<Record<string, unknown>> {
    const ref = this.functions.ref(functionName, qualifier);
    const mode = enumValue('updateRuntimeOn', input.UpdateRuntimeOn, UPDATE_RUNTIME_ON);
    const pinned = input.RuntimeVersionArn;
    if (pinned !== undefined) checkRuntimeVersionArn(pinned);
    // Kumo's wording: Lambda's messages for these two are not documented.
    if (mode === 'Manual' && pinned === undefined) {
      throw invalidParameter('RuntimeVersionArn is required when UpdateRuntimeOn is Manual.');
    }
    if (mode !== 'Manual' && pinned !== undefined) {
      throw invalidParameter(`RuntimeVersionArn can only be specified when UpdateRuntimeOn is Manual, not ${mode}.`);
    }
    const { fn, arn } = await this.version(ref.name, ref.qualifier);
    if (pinned !== undefined) {
      const runs = runtimeVersionArn(this.functions.partition, fn.config.runtime);
      if (pinned !== runs) {
        throw invalidParameter(
          `Runtime version ${pinned} is not available for runtime ${fn.config.runtime}. Kumo runs one version of each runtime: ${runs}.`,
        );
      }
    }
    const record: RuntimeManagementRecord = { updateRuntimeOn: mode, runtimeVersionArn: pinned };
    if (!(await this.repo.setRuntimeManagement(fn.name, fn.version, record))) throw functionNotFound(arn);
    return runtimeManagementView(arn, record);
  }

  /**
   * The version a runtime management operation names, and the FunctionArn it answers with
   * (qualified when the caller gave a qualifier). An alias is no version: not found, as an unknown
   * version is.
   */
  private async version(functionName: string, qualifier: string | undefined): Promise<{ fn: FunctionRecord; arn: string }> {
    const ref = this.functions.ref(functionName, qualifier);
    const arn = this.functions.arn(ref.name, ref.qualifier);
    if (isAliasName(ref.qualifier)) throw functionNotFound(arn);
    return { fn: await this.functions.get(ref.name, ref.qualifier), arn };
  }
}

/** Get/PutRuntimeManagementConfig's answer: the ARN of the runtime version only for `Manual`, as Lambda documents. */
function runtimeManagementView(functionArn: string, r: RuntimeManagementRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { UpdateRuntimeOn: r.updateRuntimeOn, FunctionArn: functionArn };
  if (r.updateRuntimeOn === 'Manual' && r.runtimeVersionArn !== undefined) out.RuntimeVersionArn = r.runtimeVersionArn;
  return out;
}

/** `value` when it is one of `allowed`; Lambda's enum ValidationException otherwise. */
function enumValue<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw validationError(field, value, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  return found;
}

/** RuntimeVersionArn against Lambda's model: 26 to 2,048 characters of its pattern. */
function checkRuntimeVersionArn(arn: string): void {
  if (arn.length < 26) throw validationError('runtimeVersionArn', arn, 'Member must have length greater than or equal to 26');
  if (arn.length > 2048) throw validationError('runtimeVersionArn', arn, 'Member must have length less than or equal to 2048');
  if (!RUNTIME_VERSION_ARN_RE.test(arn)) {
    throw validationError('runtimeVersionArn', arn, `Member must satisfy regular expression pattern: ${RUNTIME_VERSION_ARN_PATTERN}`);
  }
}
