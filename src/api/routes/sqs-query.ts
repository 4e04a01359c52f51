import { xmlEscape } from '../errors.js';

/**
 * SQS's query protocol, both ways. Requests: flattened form parameters (`Attribute.1.Name`,
 * `MessageAttribute.1.Value.StringValue`, `SendMessageBatchRequestEntry.2.Id`, ...) become the
 * JSON protocol's input shape, so one schema checks both. Responses: the JSON output shape becomes
 * `<XResponse><XResult>..</XResult><ResponseMetadata>..</ResponseMetadata></XResponse>`.
 */

type Tree = { [key: string]: Tree | string };

/** Query parameter name -> JSON member name, for the flattened lists and maps. */
const MEMBER_NAMES: Record<string, string> = {
  Attribute: 'Attributes',
  AttributeName: 'AttributeNames',
  MessageAttribute: 'MessageAttributes',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttribute: 'MessageSystemAttributes',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  TagKey: 'TagKeys',
  AWSAccountId: 'AWSAccountIds',
  ActionName: 'Actions',
  SendMessageBatchRequestEntry: 'Entries',
  DeleteMessageBatchRequestEntry: 'Entries',
  ChangeMessageVisibilityBatchRequestEntry: 'Entries',
};
/** Maps sent as lists of {Name, Value} (or {Key, Value} for tags). */
const MAPS = new Set(['Attributes', 'MessageAttributes', 'MessageSystemAttributes', 'tags', 'Tags']);
/** List members; an empty list is sent as the bare member name with an empty value (`Actions=`). */
const LISTS = new Set(Object.values(MEMBER_NAMES).filter((m) => !MAPS.has(m)));
const INTEGERS = new Set(['DelaySeconds', 'MaxNumberOfMessages', 'WaitTimeSeconds', 'VisibilityTimeout', 'MaxResults']);

export function fromQueryParams(params: URLSearchParams): Record<string, unknown> {
  // CreateQueue's tags are `tags` in JSON, TagQueue's are `Tags`; both are `Tag.N` in the query.
  const tagMember = params.get('Action') === 'TagQueue' ? 'Tags' : 'tags';
  const tree: Tree = {};
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let node = tree;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i] as string;
      const next = node[part];
      node = typeof next === 'object' ? next : (node[part] = {});
    }
    node[parts[parts.length - 1] as string] = value;
  }
  return normalize(tree, tagMember) as Record<string, unknown>;
}

function normalize(node: Tree | string, tagMember: string, name?: string): unknown {
  if (typeof node === 'string') {
    if (name !== undefined && INTEGERS.has(name) && /^-?\d+$/.test(node)) return Number(node);
    if (name !== undefined && LISTS.has(name) && node === '') return [];
    return node;
  }
  const keys = Object.keys(node);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => normalize(node[k] as Tree | string, tagMember));
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const member = key === 'Tag' ? tagMember : (MEMBER_NAMES[key] ?? key);
    let value = normalize(node[key] as Tree | string, tagMember, member);
    if (MAPS.has(member) && Array.isArray(value)) value = toMap(value);
    out[member] = value;
  }
  return out;
}

function toMap(list: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const e = item as Record<string, unknown>;
    const key = e.Name ?? e.Key;
    if (typeof key === 'string') out[key] = e.Value;
  }
  return out;
}

/** Element name of one member of each flattened list in the output. */
const LIST_ELEMENTS: Record<string, string> = {
  QueueUrls: 'QueueUrl',
  queueUrls: 'QueueUrl',
  Messages: 'Message',
  Failed: 'BatchResultErrorEntry',
};
const SUCCESS_ELEMENTS: Record<string, string> = {
  SendMessageBatch: 'SendMessageBatchResultEntry',
  DeleteMessageBatch: 'DeleteMessageBatchResultEntry',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibilityBatchResultEntry',
};
/** Flattened maps: member name -> [element, key tag]. */
const MAP_ELEMENTS: Record<string, [string, string]> = {
  Attributes: ['Attribute', 'Name'],
  MessageAttributes: ['MessageAttribute', 'Name'],
  Tags: ['Tag', 'Key'],
};

/** Operations whose response has an `<XResult>` element, even when it is empty (botocore needs it). */
const WITH_RESULT = new Set([
  'CreateQueue',
  'GetQueueUrl',
  'ListQueues',
  'ListDeadLetterSourceQueues',
  'GetQueueAttributes',
  'ListQueueTags',
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibilityBatch',
]);

export function toXml(action: string, output: object, requestId: string): string {
  const body = members(output as Record<string, unknown>, action);
  const result = WITH_RESULT.has(action) || Object.keys(output).length > 0 ? `<${action}Result>${body}</${action}Result>` : '';
  return (
    `<?xml version="1.0"?><${action}Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/">${result}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

function members(obj: Record<string, unknown>, action: string): string {
  let xml = '';
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const map = MAP_ELEMENTS[key];
    if (map && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        xml += `<${map[0]}><${map[1]}>${xmlEscape(k)}</${map[1]}><Value>${scalarOrStruct(v, action)}</Value></${map[0]}>`;
      }
    } else if (Array.isArray(value)) {
      const element = key === 'Successful' ? (SUCCESS_ELEMENTS[action] ?? key) : (LIST_ELEMENTS[key] ?? key);
      for (const item of value) xml += `<${element}>${scalarOrStruct(item, action)}</${element}>`;
    } else {
      xml += `<${key}>${scalarOrStruct(value, action)}</${key}>`;
    }
  }
  return xml;
}

function scalarOrStruct(value: unknown, action: string): string {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value !== null && typeof value === 'object') return members(value as Record<string, unknown>, action);
  return xmlEscape(String(value));
}
