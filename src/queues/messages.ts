import { KumoError } from '../errors/index.js';
import type { StoredAttributeValue } from '../store/index.js';
import type { MessageAttributes } from './md5.js';

/** Checks of what SendMessage takes: body characters, message attributes and their sizes. */

// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF (lone surrogates are out).
const INVALID_BODY = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\..+)?$/;
const MAX_ATTRIBUTES = 10;

export function checkBody(body: string): void {
  if (body.length === 0) throw new KumoError('MissingParameter', 'The request must contain the parameter MessageBody.');
  if (INVALID_BODY.test(body)) {
    throw new KumoError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  }
}

/** Checks message attributes; returns their size as SQS counts it (name + type + value bytes). */
export function checkAttributes(attributes: MessageAttributes, system = false): number {
  const names = Object.keys(attributes);
  if (!system && names.length > MAX_ATTRIBUTES) {
    throw new KumoError(
      'InvalidParameterValue',
      `Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`,
    );
  }
  let size = 0;
  for (const name of names) {
    const v = attributes[name];
    if (!v) continue;
    if (system && name !== 'AWSTraceHeader') {
      throw new KumoError('InvalidParameterValue', `Message system attribute name '${name}' is invalid.`);
    }
    if (
      !system &&
      (!ATTRIBUTE_NAME.test(name) || name.includes('..') || name.startsWith('.') || name.endsWith('.') || /^(aws\.|amazon\.)/i.test(name))
    ) {
      throw new KumoError(
        'InvalidParameterValue',
        `Message (user) attribute name '${name}' is invalid. The attribute name can contain alphanumeric characters, hyphens (-), underscores (_) and periods (.); it must not start or end with a period, contain two periods in a row or start with 'AWS.' or 'Amazon.'.`,
      );
    }
    if (typeof v.DataType !== 'string' || !DATA_TYPE.test(v.DataType) || v.DataType.length > 256) {
      throw new KumoError(
        'InvalidParameterValue',
        `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
      );
    }
    const binary = v.DataType.startsWith('Binary');
    if (binary ? v.BinaryValue === undefined : v.StringValue === undefined || v.StringValue === '') {
      throw new KumoError(
        'InvalidParameterValue',
        `Message (user) attribute '${name}' must contain a non-empty value of message attribute type '${v.DataType.split('.')[0] ?? ''}'.`,
      );
    }
    if (v.DataType.startsWith('Number') && !/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v.StringValue ?? '')) {
      throw new KumoError('InvalidParameterValue', `Can't cast the value of message (user) attribute '${name}' to a number.`);
    }
    if (v.StringValue !== undefined && INVALID_BODY.test(v.StringValue)) {
      throw new KumoError('InvalidParameterValue', `Message (user) attribute '${name}' value contains invalid characters.`);
    }
    size +=
      Buffer.byteLength(name) +
      Buffer.byteLength(v.DataType) +
      (binary ? (v.BinaryValue?.length ?? 0) : Buffer.byteLength(v.StringValue ?? ''));
  }
  return size;
}

export function toStored(attributes: MessageAttributes): Record<string, StoredAttributeValue> | null {
  const names = Object.keys(attributes);
  if (names.length === 0) return null;
  const out: Record<string, StoredAttributeValue> = {};
  for (const name of names) {
    const v = attributes[name];
    if (!v) continue;
    out[name] = v.DataType.startsWith('Binary')
      ? { DataType: v.DataType, BinaryValue: (v.BinaryValue ?? Buffer.alloc(0)).toString('base64') }
      : { DataType: v.DataType, StringValue: v.StringValue ?? '' };
  }
  return out;
}

export function fromStored(stored: Record<string, StoredAttributeValue>): MessageAttributes {
  const out: MessageAttributes = {};
  for (const [name, v] of Object.entries(stored)) {
    out[name] =
      v.BinaryValue !== undefined
        ? { DataType: v.DataType, BinaryValue: Buffer.from(v.BinaryValue, 'base64') }
        : { DataType: v.DataType, StringValue: v.StringValue ?? '' };
  }
  return out;
}

/** MessageAttributeNames filtering: `All`, `.*`, exact names and `prefix.*`. */
export function selectAttributes(attributes: MessageAttributes, wanted: readonly string[]): MessageAttributes {
  if (wanted.length === 0) return {};
  if (wanted.includes('All') || wanted.includes('.*')) return attributes;
  const out: MessageAttributes = {};
  for (const [name, v] of Object.entries(attributes)) {
    const hit = wanted.some((w) => (w.endsWith('.*') ? name.startsWith(w.slice(0, -1)) : w === name));
    if (hit) out[name] = v;
  }
  return out;
}
