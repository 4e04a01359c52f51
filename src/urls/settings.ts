import { KumoError, validationError } from '../errors/index.js';
import type { FunctionUrlRecord, UrlCors } from '../store/index.js';

/** CreateFunctionUrlConfig / UpdateFunctionUrlConfig parameters, shape-checked at the edge. */
export interface UrlSettingsInput {
  AuthType?: string | undefined;
  InvokeMode?: string | undefined;
  Cors?: CorsInput | undefined;
}

/** Cors as it arrives (members already of the right JSON type). */
export interface CorsInput {
  AllowCredentials?: boolean | undefined;
  AllowHeaders?: string[] | undefined;
  AllowMethods?: string[] | undefined;
  AllowOrigins?: string[] | undefined;
  ExposeHeaders?: string[] | undefined;
  MaxAge?: number | undefined;
}

const AUTH_TYPES = ['NONE', 'AWS_IAM'] as const;
const INVOKE_MODES = ['BUFFERED', 'RESPONSE_STREAM'] as const;

/** The pattern of the model's `Qualifier` of the function URL operations. */
const QUALIFIER_PATTERN = '(^\\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))';
/** The pattern Lambda reports for an explicit `$LATEST` (the model allows it; the service does not). */
const ALIAS_ONLY_PATTERN = '((?!^\\d+$)^[0-9a-zA-Z-_]+$)';

/**
 * A function URL's qualifier: undefined (the function's `$LATEST`) or an alias name. Lambda
 * refuses a version number (the model's pattern) and an explicit `$LATEST` (the service's own
 * pattern), both as ValidationException, before it looks at the function.
 */
export function checkUrlQualifier(qualifier: string | undefined): void {
  if (qualifier === undefined) return;
  if (qualifier.length < 1 || qualifier.length > 128) {
    throw validationError(
      'qualifier',
      qualifier,
      `Member must have length ${qualifier.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 128'}`,
    );
  }
  if (qualifier === '$LATEST') {
    throw validationError('qualifier', qualifier, `Member must satisfy regular expression pattern: ${ALIAS_ONLY_PATTERN}`);
  }
  if (/^[0-9]+$/.test(qualifier) || !/^[a-zA-Z0-9-_]+$/.test(qualifier)) {
    throw validationError('qualifier', qualifier, `Member must satisfy regular expression pattern: ${QUALIFIER_PATTERN}`);
  }
}

export function checkAuthType(value: string | undefined, required: boolean): FunctionUrlRecord['authType'] | undefined {
  if (value === undefined) {
    if (required) {
      throw new KumoError(
        'ValidationException',
        "1 validation error detected: Value null at 'authType' failed to satisfy constraint: Member must not be null",
      );
    }
    return undefined;
  }
  if (!(AUTH_TYPES as readonly string[]).includes(value)) {
    throw validationError('authType', value, `Member must satisfy enum value set: [${AUTH_TYPES.join(', ')}]`);
  }
  return value as FunctionUrlRecord['authType'];
}

export function checkInvokeMode(value: string | undefined): FunctionUrlRecord['invokeMode'] | undefined {
  if (value === undefined) return undefined;
  if (!(INVOKE_MODES as readonly string[]).includes(value)) {
    throw validationError('invokeMode', value, `Member must satisfy enum value set: [${INVOKE_MODES.join(', ')}]`);
  }
  return value as FunctionUrlRecord['invokeMode'];
}

/** Lambda's constraints on Cors (from its model), reported as its ValidationException; keeps only the members given. */
export function checkCors(cors: CorsInput | undefined): UrlCors | undefined {
  if (cors === undefined) return undefined;
  const out: UrlCors = {};
  if (cors.AllowCredentials !== undefined) out.AllowCredentials = cors.AllowCredentials;
  const lists = [
    ['AllowHeaders', 100, 0, 1024],
    ['AllowMethods', 6, 0, 6],
    ['AllowOrigins', 100, 1, 253],
    ['ExposeHeaders', 100, 0, 1024],
  ] as const;
  for (const [member, maxItems, minLength, maxLength] of lists) {
    const list = cors[member];
    if (list === undefined) continue;
    const field = `cors.${member.charAt(0).toLowerCase()}${member.slice(1)}`;
    if (list.length > maxItems) throw validationError(field, `[${list.join(', ')}]`, `Member must have length less than or equal to ${maxItems}`);
    const bad = list.find((v) => v.length < minLength || v.length > maxLength);
    if (bad !== undefined) {
      const constraints = [
        ...(minLength > 0 ? [`Member must have length greater than or equal to ${minLength}`] : []),
        `Member must have length less than or equal to ${maxLength}`,
        'Member must satisfy regular expression pattern: .*',
      ];
      throw validationError(field, `[${list.join(', ')}]`, `Member must satisfy constraint: [${constraints.join(', ')}]`);
    }
    out[member] = [...list];
  }
  if (cors.MaxAge !== undefined) {
    const age = cors.MaxAge;
    if (!Number.isInteger(age)) {
      throw new KumoError('InvalidRequestContentException', `Could not parse request body into json: unexpected value at 'cors.maxAge': ${age}`);
    }
    if (age < 0) throw validationError('cors.maxAge', age, 'Member must have value greater than or equal to 0');
    if (age > 86400) throw validationError('cors.maxAge', age, 'Member must have value less than or equal to 86400');
    out.MaxAge = age;
  }
  return out;
}
