/** A message attribute as SQS takes it (DataType String, Number or Binary). */
export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Buffer;
}

export interface DestinationMessage {
  body: string;
  attributes?: Record<string, MessageAttribute>;
}

/**
 * Somewhere an invocation record or a dead-lettered event can go, chosen by the service part of
 * its ARN (`arn:aws:<service>:...`). Kumo has `lambda` (another function, invoked asynchronously)
 * and `sqs` (a Kumo queue); SNS topics and EventBridge buses are further targets of this shape.
 */
export interface DestinationTarget {
  readonly service: string;
  deliver(arn: string, message: DestinationMessage): Promise<void>;
}

/**
 * The queue service as the async subsystem needs it: `QueueService.sendByArn` of src/queues,
 * which throws when the queue does not exist.
 */
export interface QueueSender {
  sendByArn(queueArn: string, body: string, attributes?: Record<string, MessageAttribute>): Promise<{ messageId: string }>;
}

/** Delivers to an SQS-compatible Kumo queue. */
export class QueueTarget implements DestinationTarget {
  readonly service = 'sqs';
  constructor(private readonly queues: () => QueueSender | undefined) {}

  async deliver(arn: string, message: DestinationMessage): Promise<void> {
    const queues = this.queues();
    if (!queues) throw new Error(`cannot deliver to ${arn}: this Kumo has no queue service`);
    await queues.sendByArn(arn, message.body, message.attributes);
  }
}

/** Delivers to another function by invoking it asynchronously with the message as its event. */
export class FunctionTarget implements DestinationTarget {
  readonly service = 'lambda';
  constructor(private readonly enqueue: (functionArn: string, payload: Buffer) => Promise<void>) {}

  deliver(arn: string, message: DestinationMessage): Promise<void> {
    return this.enqueue(arn, Buffer.from(message.body, 'utf8'));
  }
}

/** Routes a destination ARN to the target for its service. */
export class Destinations {
  private readonly byService = new Map<string, DestinationTarget>();

  constructor(targets: readonly DestinationTarget[]) {
    for (const t of targets) this.byService.set(t.service, t);
  }

  supports(service: string): boolean {
    return this.byService.has(service);
  }

  deliver(arn: string, message: DestinationMessage): Promise<void> {
    const target = this.byService.get(serviceOf(arn));
    if (!target) return Promise.reject(new Error(`no destination target for ${arn}`));
    return target.deliver(arn, message);
  }
}

/** `sqs` of `arn:aws:sqs:us-east-1:000000000000:q`. */
export function serviceOf(arn: string): string {
  return arn.split(':')[2] ?? '';
}
