import { KumoError, validationError, invalidParameter } from '../errors/index.js';

/** Where functions live: every ARN Kumo prints or accepts is built from these. */
export interface Partition {
  region: string;
  accountId: string;
}

export interface FunctionRef {
  name: string;
  /** Version or alias from an ARN suffix or the `Qualifier` parameter. */
  qualifier: string | undefined;
}

const NAME_RE = /^[a-zA-Z0-9-_]+$/;
/** Lambda's FunctionName pattern: a name, a partial ARN or a full ARN, with an optional qualifier. */
const FUNCTION_NAME_PATTERN =
  '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?';
const REF_RE =
  /^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?(?:([a-z]{2}(?:-gov)?-[a-z]+-\d):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9-_.]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$/;

export function functionArn(p: Partition, name: string, qualifier?: string): string {
  return `arn:aws:lambda:${p.region}:${p.accountId}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
}

/**
 * Parses a FunctionName parameter (name, partial ARN or ARN, possibly qualified) as Lambda does.
 * `field` is the parameter's wire name for error messages.
 */
export function parseFunctionRef(p: Partition, input: string, field = 'functionName'): FunctionRef {
  if (input.length < 1 || input.length > 170) {
    throw validationError(
      field,
      input,
      `Member must have length ${input.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 170'}`,
    );
  }
  const m = REF_RE.exec(input);
  if (!m) throw validationError(field, input, `Member must satisfy regular expression pattern: ${FUNCTION_NAME_PATTERN}`);
  const [, region, account, name = '', qualifier] = m;
  if (region !== undefined && region !== p.region) {
    throw new KumoError('ResourceNotFoundException', `Functions from '${region}' are not reachable in this region ('${p.region}')`);
  }
  if (account !== undefined && account !== p.accountId) {
    throw accessDenied(input);
  }
  if (name.length > 64 || !NAME_RE.test(name)) {
    throw validationError(field, input, `Member must satisfy regular expression pattern: ${FUNCTION_NAME_PATTERN}`);
  }
  return { name, qualifier };
}

/** Lambda's UnqualifiedFunctionName pattern: a name, a partial ARN or a full ARN, without a qualifier. */
const UNQUALIFIED_NAME_PATTERN =
  '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)';

/**
 * Parses a FunctionName of Lambda's UnqualifiedFunctionName shape (at most 140 characters, no
 * version or alias suffix), as the recursion-config operations take it; returns the function's name.
 */
export function parseUnqualifiedFunctionName(p: Partition, input: string, field = 'functionName'): string {
  if (input.length > 140) throw validationError(field, input, 'Member must have length less than or equal to 140');
  const ref = parseFunctionRef(p, input, field);
  if (ref.qualifier !== undefined) {
    throw validationError(field, input, `Member must satisfy regular expression pattern: ${UNQUALIFIED_NAME_PATTERN}`);
  }
  return ref.name;
}

/** Validates the name given to CreateFunction (a plain name or an ARN naming this account). */
export function parseNewFunctionName(p: Partition, input: unknown): string {
  if (typeof input !== 'string' || input.length === 0) {
    throw validationError('functionName', input, 'Member must not be null');
  }
  if (!input.includes(':') && input.length > 64) {
    // Lambda reports an over-long bare name on create as InvalidParameterValueException, in Coral wording.
    throw invalidParameter(
      `1 validation error detected: Value '${input}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64`,
    );
  }
  if (input.length > 140) throw validationError('functionName', input, 'Member must have length less than or equal to 140');
  const ref = parseFunctionRef(p, input);
  if (ref.qualifier !== undefined) throw invalidParameter('Function name cannot include a version or alias qualifier on creation.');
  return ref.name;
}

function accessDenied(input: string): Error {
  return invalidParameter(`The function ${input} belongs to another account`);
}

/** A `Qualifier` parameter against Lambda's model (length 1-128, `(|[a-zA-Z0-9$_-]+)`). */
export function checkQualifier(qualifier: string): void {
  if (qualifier.length < 1) throw validationError('qualifier', qualifier, 'Member must have length greater than or equal to 1');
  if (qualifier.length > 128) throw validationError('qualifier', qualifier, 'Member must have length less than or equal to 128');
  if (!/^[a-zA-Z0-9$_-]+$/.test(qualifier)) {
    throw validationError('qualifier', qualifier, 'Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)');
  }
}
