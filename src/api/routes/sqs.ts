import { z } from 'zod';
import { KumoError } from '../../errors/index.js';
import type { MessageAttributes, QueueService, ReceivedMessage } from '../../queues/index.js';
import { json, type ApiRequest, type ApiResponse, type Route } from '../http.js';
import { fromQueryParams, toXml } from './sqs-query.js';

/**
 * SQS on Kumo's one endpoint, in both of SQS's protocols:
 * - JSON (current SDKs): `POST /` with `X-Amz-Target: AmazonSQS.<Operation>` and
 *   `Content-Type: application/x-amz-json-1.0`;
 * - query (older SDKs and Debian's AWS CLI v2): form-encoded `Action=<Operation>&Version=2012-11-05`,
 *   POSTed to `/` or to the queue URL, answered in XML.
 * Both decode into the same input shape, checked by the same zod schema, and call `QueueService`.
 */

const TARGET_PREFIX = 'AmazonSQS.';
const JSON_10 = 'application/x-amz-json-1.0';

const str = z.string();
const int = z.number().int();
const stringMap = z.record(z.string(), z.string());
const names = z.array(z.string());
const AttributeValue = z.object({
  DataType: str,
  StringValue: str.optional(),
  BinaryValue: str.optional(),
  StringListValues: names.optional(),
  BinaryListValues: names.optional(),
});
const AttributeMap = z.record(z.string(), AttributeValue);
const QueueRef = { QueueUrl: str };
const SendFields = {
  MessageBody: str,
  DelaySeconds: int.optional(),
  MessageAttributes: AttributeMap.optional(),
  MessageSystemAttributes: AttributeMap.optional(),
  MessageDeduplicationId: str.optional(),
  MessageGroupId: str.optional(),
};
const HandleEntry = z.object({ Id: str, ReceiptHandle: str });

const schemas = {
  CreateQueue: z.object({ QueueName: str, Attributes: stringMap.optional(), tags: stringMap.optional() }),
  GetQueueUrl: z.object({ QueueName: str, QueueOwnerAWSAccountId: str.optional() }),
  ListQueues: z.object({ QueueNamePrefix: str.optional(), NextToken: str.optional(), MaxResults: int.optional() }),
  ListDeadLetterSourceQueues: z.object({ ...QueueRef, NextToken: str.optional(), MaxResults: int.optional() }),
  DeleteQueue: z.object(QueueRef),
  PurgeQueue: z.object(QueueRef),
  GetQueueAttributes: z.object({ ...QueueRef, AttributeNames: names.optional() }),
  SetQueueAttributes: z.object({ ...QueueRef, Attributes: stringMap }),
  AddPermission: z.object({ ...QueueRef, Label: str, AWSAccountIds: names, Actions: names }),
  RemovePermission: z.object({ ...QueueRef, Label: str }),
  ListQueueTags: z.object(QueueRef),
  TagQueue: z.object({ ...QueueRef, Tags: stringMap }),
  UntagQueue: z.object({ ...QueueRef, TagKeys: names }),
  SendMessage: z.object({ ...QueueRef, ...SendFields }),
  SendMessageBatch: z.object({ ...QueueRef, Entries: z.array(z.object({ Id: str, ...SendFields })) }),
  ReceiveMessage: z.object({
    ...QueueRef,
    AttributeNames: names.optional(),
    MessageSystemAttributeNames: names.optional(),
    MessageAttributeNames: names.optional(),
    MaxNumberOfMessages: int.optional(),
    VisibilityTimeout: int.optional(),
    WaitTimeSeconds: int.optional(),
    ReceiveRequestAttemptId: str.optional(),
  }),
  DeleteMessage: z.object({ ...QueueRef, ReceiptHandle: str }),
  DeleteMessageBatch: z.object({ ...QueueRef, Entries: z.array(HandleEntry) }),
  ChangeMessageVisibility: z.object({ ...QueueRef, ReceiptHandle: str, VisibilityTimeout: int }),
  ChangeMessageVisibilityBatch: z.object({
    ...QueueRef,
    Entries: z.array(HandleEntry.extend({ VisibilityTimeout: int })),
  }),
} as const;

type Operations = { [K in keyof typeof schemas]: (input: z.infer<(typeof schemas)[K]>, req: ApiRequest) => Promise<object> };

/** One table of operations: parsed input in, SQS's output shape out (binary values as Buffers). */
function operations(queues: QueueService): Operations {
  const none = async (p: Promise<void>): Promise<object> => {
    await p;
    return {};
  };
  return {
    CreateQueue: async (i, req) => ({ QueueUrl: await queues.createQueue(req.origin, i.QueueName, i.Attributes ?? {}, i.tags ?? {}) }),
    GetQueueUrl: async (i, req) => ({ QueueUrl: await queues.getQueueUrl(req.origin, i.QueueName, i.QueueOwnerAWSAccountId) }),
    ListQueues: (i, req) => queues.listQueues(req.origin, i),
    ListDeadLetterSourceQueues: (i, req) => queues.listDeadLetterSourceQueues(req.origin, i.QueueUrl, i),
    DeleteQueue: (i) => none(queues.deleteQueue(i.QueueUrl)),
    PurgeQueue: (i) => none(queues.purgeQueue(i.QueueUrl)),
    GetQueueAttributes: async (i) => {
      const attributes = await queues.getQueueAttributes(i.QueueUrl, i.AttributeNames ?? []);
      return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
    },
    SetQueueAttributes: (i) => none(queues.setQueueAttributes(i.QueueUrl, i.Attributes)),
    AddPermission: (i) => none(queues.addPermission(i.QueueUrl, i)),
    RemovePermission: (i) => none(queues.removePermission(i.QueueUrl, i.Label)),
    ListQueueTags: async (i) => {
      const tags = await queues.listQueueTags(i.QueueUrl);
      return Object.keys(tags).length > 0 ? { Tags: tags } : {};
    },
    TagQueue: (i) => none(queues.tagQueue(i.QueueUrl, i.Tags)),
    UntagQueue: (i) => none(queues.untagQueue(i.QueueUrl, i.TagKeys)),
    SendMessage: (i) => queues.sendMessage(i.QueueUrl, sendInput(i)),
    SendMessageBatch: (i) =>
      queues.sendMessageBatch(
        i.QueueUrl,
        i.Entries.map((e) => ({ Id: e.Id, ...sendInput(e) })),
      ),
    ReceiveMessage: async (i, req) => {
      const messages = await queues.receiveMessage(i.QueueUrl, i, req.signal);
      return messages.length > 0 ? { Messages: messages.map(encodeBinary) } : {};
    },
    DeleteMessage: (i) => none(queues.deleteMessage(i.QueueUrl, i.ReceiptHandle)),
    DeleteMessageBatch: (i) => queues.deleteMessageBatch(i.QueueUrl, i.Entries),
    ChangeMessageVisibility: (i) => none(queues.changeMessageVisibility(i.QueueUrl, i.ReceiptHandle, i.VisibilityTimeout)),
    ChangeMessageVisibilityBatch: (i) => queues.changeMessageVisibilityBatch(i.QueueUrl, i.Entries),
  };
}

type SendWire = { MessageBody: string } & Partial<
  Record<'MessageDeduplicationId' | 'MessageGroupId', string> & { DelaySeconds: number } & Record<
      'MessageAttributes' | 'MessageSystemAttributes',
      z.infer<typeof AttributeMap>
    >
>;

function sendInput(i: SendWire) {
  return {
    MessageBody: i.MessageBody,
    ...(i.DelaySeconds !== undefined ? { DelaySeconds: i.DelaySeconds } : {}),
    ...(i.MessageAttributes ? { MessageAttributes: decodeAttributes(i.MessageAttributes) } : {}),
    ...(i.MessageSystemAttributes ? { MessageSystemAttributes: decodeAttributes(i.MessageSystemAttributes) } : {}),
    ...(i.MessageDeduplicationId !== undefined ? { MessageDeduplicationId: i.MessageDeduplicationId } : {}),
    ...(i.MessageGroupId !== undefined ? { MessageGroupId: i.MessageGroupId } : {}),
  };
}

function decodeAttributes(wire: z.infer<typeof AttributeMap>): MessageAttributes {
  const out: MessageAttributes = {};
  for (const [name, v] of Object.entries(wire)) {
    out[name] = {
      DataType: v.DataType,
      ...(v.StringValue !== undefined ? { StringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { BinaryValue: Buffer.from(v.BinaryValue, 'base64') } : {}),
    };
  }
  return out;
}

type OperationName = keyof typeof schemas;

function isOperation(name: string): name is OperationName {
  return Object.hasOwn(schemas, name);
}

/** Checks input against the operation's schema; SQS's MissingParameter / InvalidParameterValue otherwise. */
function parse<N extends OperationName>(name: N, input: unknown): z.infer<(typeof schemas)[N]> {
  const result = schemas[name].safeParse(input);
  if (result.success) return result.data as z.infer<(typeof schemas)[N]>;
  const issue = result.error.issues[0];
  const path = issue?.path ?? [];
  let value: unknown = input;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  const param = path.filter((p) => typeof p === 'string').join('.');
  if (value === undefined) throw new KumoError('MissingParameter', `The request must contain the parameter ${param}.`);
  throw new KumoError(
    'InvalidParameterValue',
    `Value ${JSON.stringify(value)} for parameter ${param} is invalid. Reason: ${issue?.message ?? 'invalid'}.`,
  );
}

/** Kumo's SQS front: the JSON-protocol target handler and the query-protocol handler. */
export function sqsApi(queues: QueueService): {
  target: (target: string, req: ApiRequest) => Promise<ApiResponse> | undefined;
  query: (req: ApiRequest) => Promise<ApiResponse>;
} {
  const ops = operations(queues);
  const run = (name: OperationName, input: unknown, req: ApiRequest): Promise<object> =>
    (ops[name] as (i: unknown, req: ApiRequest) => Promise<object>)(parse(name, input), req);

  const target = (t: string, req: ApiRequest): Promise<ApiResponse> | undefined => {
    if (!t.startsWith(TARGET_PREFIX)) return undefined;
    const name = t.slice(TARGET_PREFIX.length);
    return (async (): Promise<ApiResponse> => {
      // Errors go to the server's mapper, which answers them in SQS's JSON shape for AmazonSQS.* targets.
      if (!isOperation(name)) throw new KumoError('UnsupportedOperation', `Kumo's queue service does not support the operation ${name}.`);
      let input: unknown;
      try {
        input = req.body.length === 0 ? {} : JSON.parse(req.body.toString('utf8'));
      } catch {
        throw new KumoError('InvalidParameterValue', 'The request body is not valid JSON.');
      }
      const out = await run(name, input, req);
      return { status: 200, headers: { 'Content-Type': JSON_10 }, body: Buffer.from(JSON.stringify(out)) };
    })();
  };

  const query = async (req: ApiRequest): Promise<ApiResponse> => {
    const params = new URLSearchParams(req.query);
    if (req.body.length > 0) for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) params.append(k, v);
    const action = params.get('Action') ?? '';
    if (!isOperation(action)) {
      throw new KumoError('InvalidAction', `The action ${action} is not valid for this endpoint.`);
    }
    const input = fromQueryParams(params);
    // A request POSTed to the queue URL names its queue by its path.
    if (input.QueueUrl === undefined && /^\/\d{12}\/[^/]+\/?$/.test(req.path)) input.QueueUrl = `${req.origin}${req.path}`;
    const out = await run(action, input, req);
    return { status: 200, headers: { 'Content-Type': 'text/xml' }, body: Buffer.from(toXml(action, out, req.requestId)) };
  };

  return { target, query };
}

/** Binary attribute values travel base64-encoded in both protocols. */
function encodeBinary(m: ReceivedMessage): object {
  if (!m.MessageAttributes) return m;
  const attributes: Record<string, object> = {};
  for (const [name, v] of Object.entries(m.MessageAttributes)) {
    attributes[name] = v.BinaryValue === undefined ? v : { ...v, BinaryValue: v.BinaryValue.toString('base64') };
  }
  return { ...m, MessageAttributes: attributes };
}

/**
 * Kumo's own queue inspection, for `kumo queues peek`: `GET /_kumo/queues/{QueueName}/messages?limit=N`
 * lists the oldest messages without receiving them. Not part of SQS (SQS has no way to look
 * without receiving); errors come in Kumo's REST shape (`X-Amzn-ErrorType`).
 */
export function queueAdminRoutes(queues: QueueService): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/_kumo/queues/{QueueName}/messages',
      handler: async (req) => {
        const limit = Number(req.query.get('limit') ?? '10');
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
          throw new KumoError(
            'InvalidParameterValue',
            `Value ${req.query.get('limit')} for parameter limit is invalid. Reason: Must be between 1 and 100.`,
          );
        }
        return json(200, { Messages: await queues.peek(req.params.QueueName ?? '', limit) });
      },
    },
  ];
}
