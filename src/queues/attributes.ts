import { KumoError } from '../errors/index.js';
import type { QueueRecord } from '../store/index.js';
import { checkPolicy } from './permissions.js';

/**
 * Queue attributes as SQS defines them: which may be set, their ranges and defaults, and the
 * read-only ones GetQueueAttributes computes. Values travel as strings, as in SQS's API.
 */

/** The largest message SQS accepts, and its default MaximumMessageSize: 1 MiB (256 KiB before 2025). */
export const MAX_MESSAGE_SIZE = 1_048_576;

interface IntRange {
  min: number;
  max: number;
  default: number;
}

/**
 * The integer attributes: THE place their ranges are written. The parameters that override one of
 * them for a single call (SendMessage's DelaySeconds, ReceiveMessage's WaitTimeSeconds and
 * VisibilityTimeout, ChangeMessageVisibility's) are checked against the same range
 * (`checkOverride`).
 */
const INT_ATTRIBUTES = {
  DelaySeconds: { min: 0, max: 900, default: 0 },
  MaximumMessageSize: { min: 1024, max: MAX_MESSAGE_SIZE, default: MAX_MESSAGE_SIZE },
  MessageRetentionPeriod: { min: 60, max: 1_209_600, default: 345_600 },
  ReceiveMessageWaitTimeSeconds: { min: 0, max: 20, default: 0 },
  VisibilityTimeout: { min: 0, max: 43_200, default: 30 },
  KmsDataKeyReusePeriodSeconds: { min: 60, max: 86_400, default: 300 },
} as const satisfies Record<string, IntRange>;

export type IntAttributeName = keyof typeof INT_ATTRIBUTES;

function isIntAttribute(name: string): name is IntAttributeName {
  return Object.hasOwn(INT_ATTRIBUTES, name);
}

function inRange(range: IntRange, n: number): boolean {
  return Number.isInteger(n) && n >= range.min && n <= range.max;
}

const BOOLEAN_ATTRIBUTES = new Set(['FifoQueue', 'ContentBasedDeduplication', 'SqsManagedSseEnabled']);
const FIFO_ONLY = new Set(['ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']);
const ENUM_ATTRIBUTES: Record<string, readonly string[]> = {
  DeduplicationScope: ['messageGroup', 'queue'],
  FifoThroughputLimit: ['perQueue', 'perMessageGroupId'],
};
/** Settable attributes whose value Kumo keeps but does not act on (a Policy is checked: permissions.ts). */
const OPAQUE_ATTRIBUTES = new Set(['Policy', 'KmsMasterKeyId', 'RedriveAllowPolicy']);

/** Attributes GetQueueAttributes computes; they cannot be set. */
export const COMPUTED_ATTRIBUTES = [
  'QueueArn',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
] as const;

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

export function isSettable(name: string): boolean {
  return (
    isIntAttribute(name) ||
    BOOLEAN_ATTRIBUTES.has(name) ||
    Object.hasOwn(ENUM_ATTRIBUTES, name) ||
    OPAQUE_ATTRIBUTES.has(name) ||
    name === 'RedrivePolicy'
  );
}

export function isKnownAttribute(name: string): boolean {
  return isSettable(name) || (COMPUTED_ATTRIBUTES as readonly string[]).includes(name);
}

/** A new queue's attributes: defaults, then the caller's (checked). */
export function initialAttributes(fifo: boolean, given: Record<string, string>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, range] of Object.entries(INT_ATTRIBUTES))
    if (name !== 'KmsDataKeyReusePeriodSeconds') attributes[name] = String(range.default);
  attributes.SqsManagedSseEnabled = 'true';
  if (fifo) {
    attributes.FifoQueue = 'true';
    attributes.ContentBasedDeduplication = 'false';
    attributes.DeduplicationScope = 'queue';
    attributes.FifoThroughputLimit = 'perQueue';
  }
  return { ...attributes, ...normalizeAttributes(given, fifo, true) };
}

/**
 * Checks attributes a caller sets and returns them normalized (booleans lower-case, integers
 * canonical). `creating` allows FifoQueue, which only CreateQueue may set.
 */
export function normalizeAttributes(given: Record<string, string>, fifo: boolean, creating: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(given)) {
    if (!isSettable(name) || (name === 'FifoQueue' && !creating)) {
      throw new KumoError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
    if (FIFO_ONLY.has(name) && !fifo) {
      throw new KumoError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
    const value = String(raw);
    const allowed = Object.hasOwn(ENUM_ATTRIBUTES, name) ? ENUM_ATTRIBUTES[name] : undefined;
    if (isIntAttribute(name)) {
      const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!inRange(INT_ATTRIBUTES[name], n)) throw invalidValue(name);
      out[name] = String(n);
    } else if (BOOLEAN_ATTRIBUTES.has(name)) {
      const lower = value.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw invalidValue(name);
      out[name] = lower;
    } else if (allowed) {
      if (!allowed.includes(value)) throw invalidValue(name);
      out[name] = value;
    } else if (name === 'Policy' && value !== '') {
      checkPolicy(value);
      out[name] = value;
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** Parses a RedrivePolicy attribute (its DLQ's existence is checked by the service). */
export function parseRedrivePolicy(value: string): RedrivePolicy {
  const bad = (reason: string) =>
    new KumoError('InvalidParameterValue', `Value ${value} for parameter RedrivePolicy is invalid. Reason: ${reason}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw bad('Redrive policy is not a valid JSON map.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('Redrive policy is not a valid JSON map.');
  const p = parsed as Record<string, unknown>;
  for (const key of Object.keys(p)) {
    if (key !== 'deadLetterTargetArn' && key !== 'maxReceiveCount')
      throw bad(`Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].`);
  }
  if (typeof p.deadLetterTargetArn !== 'string') throw bad('Redrive policy does not contain mandatory attribute: deadLetterTargetArn.');
  if (p.maxReceiveCount === undefined) throw bad('Redrive policy does not contain mandatory attribute: maxReceiveCount.');
  const count = Number(p.maxReceiveCount);
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw bad('Invalid value for maxReceiveCount: must be between 1 and 1000.');
  return { deadLetterTargetArn: p.deadLetterTargetArn, maxReceiveCount: count };
}

export function intAttribute(attributes: Record<string, string>, name: IntAttributeName): number {
  const v = attributes[name];
  return v === undefined ? INT_ATTRIBUTES[name].default : Number(v);
}

/**
 * A parameter that overrides the integer attribute `name` for one call: an integer in the
 * attribute's range, or SQS's InvalidParameterValue, whose reason (worded per parameter, as SQS
 * words it) is given the range.
 */
export function checkOverride(
  parameter: string,
  value: number,
  name: IntAttributeName,
  reason: (range: { min: number; max: number }) => string,
): void {
  const range = INT_ATTRIBUTES[name];
  if (inRange(range, value)) return;
  throw new KumoError('InvalidParameterValue', `Value ${value} for parameter ${parameter} is invalid. Reason: ${reason(range)}`);
}

function invalidValue(name: string): KumoError {
  return new KumoError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`);
}

export function isFifo(q: QueueRecord): boolean {
  return q.attributes.FifoQueue === 'true';
}
