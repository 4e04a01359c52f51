import { KumoError, invalidParameter, validationError } from '../errors/index.js';
import type { Partition } from '../functions/index.js';

/** LayerName as Lambda's model takes it: a name or a layer ARN (without version). */
const LAYER_NAME_PATTERN = '(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+';
const LAYER_NAME_RE = /^(?:arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+)|([a-zA-Z0-9-_]+))$/;
/** GetLayerVersionByArn's Arn. */
const LAYER_VERSION_ARN_PATTERN =
  'arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1}:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+';
const LAYER_VERSION_ARN_RE =
  /^arn:(?:aws[a-zA-Z-]*)?:lambda:([a-z]{2}(?:(?:-gov)|(?:-iso(?:b?)))?-[a-z]+-\d):(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)$/;
/** An element of a function's `Layers`. */
const FUNCTION_LAYER_PATTERN =
  '(arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)';
const FUNCTION_LAYER_RE =
  /^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:([a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d):(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)|arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)$/;

/** A layer version as an ARN names it. */
export interface LayerVersionRef {
  region: string;
  accountId: string;
  name: string;
  version: number;
}

export function layerArn(p: Partition, name: string): string {
  return `arn:aws:lambda:${p.region}:${p.accountId}:layer:${name}`;
}

export function layerVersionArn(p: Partition, name: string, version: number): string {
  return `${layerArn(p, name)}:${version}`;
}

/**
 * The layer a LayerName parameter names (a name or a layer ARN). A layer of another region or
 * account is reported as not found by the caller: Kumo has one of each.
 */
export function parseLayerName(p: Partition, input: string): { name: string; local: boolean } {
  checkLength('layerName', input, 140);
  const m = LAYER_NAME_RE.exec(input);
  if (!m) throw validationError('layerName', input, `Member must satisfy regular expression pattern: ${LAYER_NAME_PATTERN}`);
  const [, region, account, arnName, plainName] = m;
  if (plainName !== undefined) return { name: plainName, local: true };
  return { name: arnName ?? '', local: region === p.region && account === p.accountId };
}

function checkLength(field: string, input: string, max: number): void {
  if (input.length < 1 || input.length > max) {
    throw validationError(
      field,
      input,
      `Member must have length ${input.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${max}`}`,
    );
  }
}

/** A VersionNumber path parameter: Lambda's own message for one below 1. */
export function parseVersionNumber(input: string): number {
  const version = /^-?[0-9]+$/.test(input) ? Number(input) : NaN;
  if (!Number.isSafeInteger(version)) {
    throw new KumoError('InvalidRequestContentException', `Could not parse request body into json: bad version number '${input}'`);
  }
  if (version < 1) throw invalidParameter('Layer Version Cannot be less than 1');
  return version;
}

/** GetLayerVersionByArn's `Arn`. */
export function parseLayerVersionArn(input: string): LayerVersionRef {
  checkLength('arn', input, 140);
  const m = LAYER_VERSION_ARN_RE.exec(input);
  if (!m) throw validationError('arn', input, `Member must satisfy regular expression pattern: ${LAYER_VERSION_ARN_PATTERN}`);
  return { region: m[1] ?? '', accountId: m[2] ?? '', name: m[3] ?? '', version: Number(m[4]) };
}

/**
 * An element of CreateFunction's or UpdateFunctionConfiguration's `Layers`; undefined for an AWS
 * managed layer (`arn:aws:lambda:::awslayer:...`), which Kumo does not have.
 */
export function parseFunctionLayer(input: string): LayerVersionRef | undefined {
  const m = input.length <= 2048 ? FUNCTION_LAYER_RE.exec(input) : null;
  if (!m) {
    throw validationError(
      'layers',
      `[${input}]`,
      `Member must satisfy constraint: [Member must have length less than or equal to 2048, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: ${FUNCTION_LAYER_PATTERN}, Member must not be null]`,
    );
  }
  if (m[1] === undefined) return undefined;
  return { region: m[1], accountId: m[2] ?? '', name: m[3] ?? '', version: Number(m[4]) };
}
