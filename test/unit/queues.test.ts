import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromQueryParams, toXml } from '../../src/api/routes/sqs-query.js';
import type { Clock } from '../../src/clock/index.js';
import { md5OfAttributes, QueueService } from '../../src/queues/index.js';
import { withoutPermission, withPermission } from '../../src/queues/permissions.js';
import { Waiters } from '../../src/queues/waiters.js';
import { openStore, type QueueRepo, type Store } from '../../src/store/index.js';
import type { KumoError } from '../../src/errors/index.js';
import { eventually } from '../helpers/wait.js';

test('MD5OfMessageAttributes matches values SQS computed', () => {
  // A message received from real SQS (captured in a public test suite), and moto's test of SQS's algorithm.
  assert.equal(
    md5OfAttributes({ AtTimestamp: { DataType: 'String', StringValue: '2021-02-15T12:00:33+09:00' } }),
    '9fd5e217089075be61cd1d67e35e5117',
  );
  assert.equal(md5OfAttributes({ timestamp: { DataType: 'Number', StringValue: '1493147359900' } }), '235c5c510d26fb653d073faed50ae77c');
});

test('MD5OfMessageAttributes does not depend on the order attributes are given in; binary values use transport type 2', () => {
  const a = { x: { DataType: 'String', StringValue: '1' }, b: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) } };
  const b = { b: a.b, x: a.x };
  assert.equal(md5OfAttributes(a), md5OfAttributes(b));
  assert.notEqual(
    md5OfAttributes({ b: { DataType: 'Binary', BinaryValue: Buffer.from('1') } }),
    md5OfAttributes({ b: { DataType: 'String', StringValue: '1' } }),
  );
});

test('query parameters decode into the JSON protocol shape', () => {
  const params = new URLSearchParams({
    Action: 'SendMessageBatch',
    Version: '2012-11-05',
    QueueUrl: 'http://h/000000000000/q',
    'SendMessageBatchRequestEntry.1.Id': 'a',
    'SendMessageBatchRequestEntry.1.MessageBody': 'one',
    'SendMessageBatchRequestEntry.1.DelaySeconds': '5',
    'SendMessageBatchRequestEntry.1.MessageAttribute.1.Name': 'k',
    'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType': 'String',
    'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue': 'v',
    'SendMessageBatchRequestEntry.2.Id': 'b',
    'SendMessageBatchRequestEntry.2.MessageBody': 'two',
  });
  assert.deepEqual(fromQueryParams(params), {
    QueueUrl: 'http://h/000000000000/q',
    Entries: [
      { Id: 'a', MessageBody: 'one', DelaySeconds: 5, MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } },
      { Id: 'b', MessageBody: 'two' },
    ],
  });
  assert.deepEqual(
    fromQueryParams(
      new URLSearchParams({
        'Attribute.1.Name': 'VisibilityTimeout',
        'Attribute.1.Value': '9',
        'AttributeName.1': 'All',
        'Tag.1.Key': 't',
        'Tag.1.Value': 'v',
      }),
    ),
    { Attributes: { VisibilityTimeout: '9' }, AttributeNames: ['All'], tags: { t: 'v' } },
  );
});

test("AddPermission's query parameters decode into its JSON shape; an empty list is an empty list", () => {
  const params = new URLSearchParams({
    Action: 'AddPermission',
    Label: 'l',
    'AWSAccountId.1': '111122223333',
    'AWSAccountId.2': '444455556666',
    'ActionName.1': 'SendMessage',
  });
  assert.deepEqual(fromQueryParams(params), {
    Label: 'l',
    AWSAccountIds: ['111122223333', '444455556666'],
    Actions: ['SendMessage'],
  });
  // botocore sends an empty list as the member's bare name with no value.
  assert.deepEqual(fromQueryParams(new URLSearchParams('Action=AddPermission&Actions=&AWSAccountIds=')), {
    Actions: [],
    AWSAccountIds: [],
  });
  assert.equal(
    toXml('AddPermission', {}, 'r'),
    '<?xml version="1.0"?><AddPermissionResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">' +
      '<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AddPermissionResponse>',
  );
});

test("permissions edit the queue's policy document: a single statement becomes a list, other members are kept, a label goes with all its statements", () => {
  const queueArn = 'arn:aws:sqs:us-east-1:000000000000:q';
  const grant = { Label: 'p', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] };
  const generated = {
    Sid: 'p',
    Effect: 'Allow',
    Principal: { AWS: 'arn:aws:iam::111122223333:root' },
    Action: 'SQS:SendMessage',
    Resource: queueArn,
  };
  assert.equal(
    withPermission(undefined, queueArn, grant),
    JSON.stringify({ Version: '2008-10-17', Id: `${queueArn}/SQSDefaultPolicy`, Statement: [generated] }),
  );

  const mine = { Effect: 'Deny', Principal: '*', Action: 'sqs:PurgeQueue', Resource: queueArn };
  const custom = JSON.stringify({ Statement: mine, Id: 'mine', Version: '2012-10-17' });
  const added = withPermission(custom, queueArn, grant);
  assert.equal(added, JSON.stringify({ Statement: [mine, generated], Id: 'mine', Version: '2012-10-17' }));
  assert.equal(withoutPermission(added, 'p'), JSON.stringify({ Statement: [mine], Id: 'mine', Version: '2012-10-17' }));

  // Statements a user set with the same Sid all go; with the last statement the policy goes.
  const twice = JSON.stringify({
    Statement: [
      { ...mine, Sid: 'x' },
      { ...generated, Sid: 'x' },
    ],
  });
  assert.equal(withoutPermission(twice, 'x'), undefined);
  assert.throws(() => withoutPermission(twice, 'y'), {
    code: 'InvalidParameterValue',
    message: "Value y for parameter Label is invalid. Reason: can't find label.",
  });
  assert.throws(() => withoutPermission(undefined, 'y'), { code: 'InvalidParameterValue' });
  // An 80-character label is the longest.
  assert.doesNotThrow(() => withPermission(undefined, queueArn, { ...grant, Label: 'a'.repeat(80) }));
  assert.throws(() => withPermission(undefined, queueArn, { ...grant, Label: 'a'.repeat(81) }), { code: 'InvalidParameterValue' });
});

test('a stored Policy the check refuses is neither replaced nor edited: AddPermission and RemovePermission refuse it', () => {
  const queueArn = 'arn:aws:sqs:us-east-1:000000000000:q';
  const grant = { Label: 'p', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] };
  // Policies an older Kumo may have stored: no statements, a lower-case Effect, not JSON at all.
  for (const stored of ['{"Version":"2012-10-17","Statement":[]}', '{"Statement":{"Sid":"p","Effect":"allow"}}', 'not json']) {
    const refused = { code: 'InvalidAttributeValue', message: /^The queue's Policy attribute is not a valid policy document/ };
    assert.throws(() => withPermission(stored, queueArn, grant), refused, stored);
    assert.throws(() => withoutPermission(stored, 'p'), refused, stored);
  }
  // An empty one is no policy: AddPermission generates the document.
  assert.equal((JSON.parse(withPermission('', queueArn, grant)) as { Id: string }).Id, `${queueArn}/SQSDefaultPolicy`);
});

test('query responses are SQS XML with flattened lists and maps', () => {
  const xml = toXml(
    'ReceiveMessage',
    {
      Messages: [
        {
          MessageId: 'm',
          Body: 'a<b',
          Attributes: { SentTimestamp: '1' },
          MessageAttributes: { k: { DataType: 'Binary', BinaryValue: Buffer.from([255]) } },
        },
      ],
    },
    'rid',
  );
  assert.equal(
    xml,
    '<?xml version="1.0"?><ReceiveMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><ReceiveMessageResult>' +
      '<Message><MessageId>m</MessageId><Body>a&lt;b</Body><Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>' +
      '<MessageAttribute><Name>k</Name><Value><DataType>Binary</DataType><BinaryValue>/w==</BinaryValue></Value></MessageAttribute></Message>' +
      '</ReceiveMessageResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ReceiveMessageResponse>',
  );
  assert.match(
    toXml('DeleteMessageBatch', { Successful: [{ Id: 'a' }], Failed: [] }, 'r'),
    /<DeleteMessageBatchResultEntry><Id>a<\/Id><\/DeleteMessageBatchResultEntry>/,
  );
});

/** A clock whose time moves only when the test says so. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 1_000;
  const timers = new Set<{ at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.add(t);
      return { cancel: () => timers.delete(t) };
    },
    advance(ms) {
      now += ms;
      for (const t of [...timers].sort((a, b) => a.at - b.at)) {
        if (t.at <= now) {
          timers.delete(t);
          t.fn();
        }
      }
    },
  };
}

test('a long poll wakes on a signal, on the time a message becomes visible, or at its deadline, without polling', async () => {
  const clock = manualClock();
  const w = new Waiters(clock);
  let woke = false;
  const p1 = w.wait('q', clock.now() + 20_000, w.version('q')).then(() => (woke = true));
  assert.equal(w.count, 1);
  w.signal('q');
  await p1;
  assert.ok(woke);

  // A message becoming visible in 5 s moves the 20 s timer earlier.
  let at = 0;
  const p2 = w.wait('q', clock.now() + 20_000, w.version('q')).then(() => (at = clock.now()));
  w.signal('q', clock.now() + 5_000);
  clock.advance(4_999);
  await Promise.resolve();
  assert.equal(at, 0);
  clock.advance(1);
  await p2;
  assert.equal(at, 6_000);

  // A signal between reading the version and waiting is not lost.
  const version = w.version('q');
  w.signal('q');
  await w.wait('q', clock.now() + 20_000, version);
  assert.equal(w.count, 0);

  const p3 = w.wait('q', clock.now() + 20_000, w.version('q'));
  w.close();
  await p3;
  assert.equal(w.count, 0);
});

test('QueueService on a manual clock: delays, visibility timeouts, retention and long polls follow the clock, not the wall', async () => {
  const clock = manualClock();
  const store = openStore(':memory:');
  const queues = new QueueService({ repo: store.queues, region: 'us-east-1', accountId: '000000000000', clock });
  try {
    const url = await queues.createQueue('http://h', 'timed', { VisibilityTimeout: '30', MessageRetentionPeriod: '60' });
    await queues.sendMessage(url, { MessageBody: 'delayed', DelaySeconds: 10 });
    assert.deepEqual(await queues.receiveMessage(url), []);
    clock.advance(10_000);
    const [m] = await queues.receiveMessage(url, { VisibilityTimeout: 5 });
    assert.equal(m?.Body, 'delayed');
    assert.deepEqual(await queues.receiveMessage(url), []);

    // A long poll parks, and wakes when the visibility timeout ends on the clock.
    const polling = queues.receiveMessage(url, { WaitTimeSeconds: 20 });
    await eventually(() => queues.waitingReceivers === 1);
    clock.advance(5_000);
    const [again] = await polling;
    assert.equal(again?.MessageId, m.MessageId);

    // Past the retention period the message is neither delivered nor counted.
    clock.advance(60_000);
    assert.deepEqual(await queues.receiveMessage(url, { VisibilityTimeout: 0 }), []);
    assert.equal((await queues.getQueueAttributes(url, ['ApproximateNumberOfMessages'])).ApproximateNumberOfMessages, '0');

    // A long poll ends at its deadline with nothing.
    const empty = queues.receiveMessage(url, { WaitTimeSeconds: 2 });
    await eventually(() => queues.waitingReceivers === 1);
    clock.advance(2_000);
    assert.deepEqual(await empty, []);
  } finally {
    queues.close();
    await store.close();
  }
});

test("per-call overrides of an integer attribute are held to the attribute's range, in SQS's words; prototype names are no attributes", async () => {
  const store = openStore(':memory:');
  const queues = new QueueService({ repo: store.queues, region: 'us-east-1', accountId: '000000000000' });
  const refused = async (call: Promise<unknown>, code: string, message: string): Promise<void> => {
    await assert.rejects(call, (err: Error & { code?: string }) => {
      assert.equal(err.code, code);
      assert.equal(err.message, message);
      return true;
    });
  };
  try {
    const url = await queues.createQueue('http://h', 'ranges');
    await queues.sendMessage(url, { MessageBody: 'edge', DelaySeconds: 900 });
    const cases: Array<[() => Promise<unknown>, string, number, string]> = [
      [
        () => queues.sendMessage(url, { MessageBody: 'x', DelaySeconds: 901 }),
        'DelaySeconds',
        901,
        'DelaySeconds must be >= 0 and <= 900.',
      ],
      [() => queues.receiveMessage(url, { WaitTimeSeconds: 21 }), 'WaitTimeSeconds', 21, 'Must be >= 0 and <= 20, if provided.'],
      [() => queues.receiveMessage(url, { VisibilityTimeout: -1 }), 'VisibilityTimeout', -1, 'Must be between 0 and 43200, if provided.'],
      [() => queues.receiveMessage(url, { VisibilityTimeout: 1.5 }), 'VisibilityTimeout', 1.5, 'Must be between 0 and 43200, if provided.'],
    ];
    for (const [call, parameter, value, reason] of cases) {
      await refused(call(), 'InvalidParameterValue', `Value ${value} for parameter ${parameter} is invalid. Reason: ${reason}`);
    }
    assert.deepEqual(await queues.receiveMessage(url, { VisibilityTimeout: 43_200 }), []);
    for (const name of ['toString', 'constructor', '__proto__']) {
      await refused(queues.setQueueAttributes(url, { [name]: '1' }), 'InvalidAttributeName', `Unknown Attribute ${name}.`);
      await refused(queues.getQueueAttributes(url, [name]), 'InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
  } finally {
    queues.close();
    await store.close();
  }
});

/** A turn of the event loop: what a store over the network takes, at the least, to answer. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `repo` with every write of a queue record answering a turn later. The SQLite adapter writes at
 * once; an adapter over the network answers later, and the service must not compute a change from
 * a record another change is still writing.
 */
function slowWrites(repo: QueueRepo): QueueRepo {
  const later = async <R>(write: () => Promise<R>): Promise<R> => {
    await turn();
    return write();
  };
  return {
    ...repo,
    create: (...args) => later(() => repo.create(...args)),
    update: (...args) => later(() => repo.update(...args)),
    setTags: (...args) => later(() => repo.setTags(...args)),
    purge: (...args) => later(() => repo.purge(...args)),
    delete: (...args) => later(() => repo.delete(...args)),
  };
}

/** Runs `body` on a QueueService over an in-memory store whose writes answer late (`slowWrites`). */
async function overSlowStore(body: (queues: QueueService, store: Store) => Promise<void>): Promise<void> {
  const store = openStore(':memory:');
  const queues = new QueueService({ repo: slowWrites(store.queues), region: 'us-east-1', accountId: '000000000000' });
  try {
    await body(queues, store);
  } finally {
    queues.close();
    await store.close();
  }
}

test('attribute changes to one queue apply one after another, also over a store whose writes take time', async () => {
  await overSlowStore(async (queues, store) => {
    const url = await queues.createQueue('http://h', 'busy');
    const labels = ['a', 'b', 'c', 'd', 'e'];
    await Promise.all([
      ...labels.map((Label) => queues.addPermission(url, { Label, AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] })),
      queues.setQueueAttributes(url, { VisibilityTimeout: '45' }),
      // A change that fails writes nothing and does not stop the ones after it.
      assert.rejects(queues.addPermission(url, { Label: 'a', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] }), {
        code: 'InvalidParameterValue',
      }),
      queues.addPermission(url, { Label: 'f', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] }),
    ]);
    const attributes = await queues.getQueueAttributes(url, ['Policy', 'VisibilityTimeout']);
    const policy = JSON.parse(attributes.Policy ?? '{}') as { Statement: Array<{ Sid: string }> };
    assert.deepEqual(
      policy.Statement.map((s) => s.Sid),
      [...labels, 'f'],
    );
    assert.equal(attributes.VisibilityTimeout, '45');
    // What the service answers is what the store holds.
    assert.equal((await store.queues.get('busy'))?.attributes.Policy, attributes.Policy);
  });
});

test('concurrent TagQueue, UntagQueue, PurgeQueue and attribute changes on one queue all land, over a store whose writes take time', async () => {
  await overSlowStore(async (queues, store) => {
    const url = await queues.createQueue('http://h', 'tagged', {}, { keep: 'k', drop: 'd' });
    await queues.sendMessage(url, { MessageBody: 'purged' });
    const keys = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const outcomes = await Promise.allSettled([
      queues.purgeQueue(url),
      ...keys.map((k) => queues.tagQueue(url, { [k]: 'v' })),
      queues.untagQueue(url, ['drop']),
      queues.addPermission(url, { Label: 'p', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] }),
      queues.setQueueAttributes(url, { VisibilityTimeout: '45' }),
      // The second purge sees the first one's time: SQS allows one a minute.
      queues.purgeQueue(url),
    ]);
    assert.deepEqual(
      outcomes.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as KumoError).code)),
      ['ok', ...keys.map(() => 'ok'), 'ok', 'ok', 'ok', 'PurgeQueueInProgress'],
    );

    const tags: Record<string, string> = { keep: 'k', ...Object.fromEntries(keys.map((k) => [k, 'v'])) };
    assert.deepEqual(await queues.listQueueTags(url), tags);
    const attributes = await queues.getQueueAttributes(url, ['Policy', 'VisibilityTimeout', 'ApproximateNumberOfMessages']);
    assert.equal((JSON.parse(attributes.Policy ?? '{}') as { Statement: Array<{ Sid: string }> }).Statement[0]?.Sid, 'p');
    assert.equal(attributes.VisibilityTimeout, '45');
    assert.equal(attributes.ApproximateNumberOfMessages, '0');
    // What the service answers is what the store holds.
    const stored = await store.queues.get('tagged');
    assert.ok(stored);
    assert.deepEqual(stored.tags, tags);
    assert.equal(stored.attributes.Policy, attributes.Policy);
    assert.equal(stored.attributes.VisibilityTimeout, '45');
    assert.notEqual(stored.purgedAt, null);
  });
});

test('a change waiting its turn while its queue is deleted and made again lands on the old queue, never on the new one', async () => {
  await overSlowStore(async (queues, store) => {
    const url = await queues.createQueue('http://h', 'again');
    // In the order they arrive: a tag and a permission for the first queue, its deletion, a tag that
    // comes too late for it and too early for the next, then a queue of the same name.
    await Promise.all([
      queues.tagQueue(url, { old: 'yes' }),
      queues.addPermission(url, { Label: 'old', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] }),
      queues.deleteQueue(url),
      assert.rejects(queues.tagQueue(url, { late: 'yes' }), { code: 'QueueDoesNotExist' }),
      queues.createQueue('http://h', 'again'),
    ]);
    assert.deepEqual(await queues.listQueueTags(url), {});
    assert.deepEqual(await queues.getQueueAttributes(url, ['Policy']), {});
    const stored = await store.queues.get('again');
    assert.ok(stored);
    assert.deepEqual(stored.tags, {});
    assert.equal(stored.attributes.Policy, undefined);
  });
});

test('a queue record read before a change is not cached after it', async () => {
  const store = openStore(':memory:');
  const first = new QueueService({ repo: store.queues, region: 'us-east-1', accountId: '000000000000' });
  const url = await first.createQueue('http://h', 'cold');
  first.close();
  // A store whose first read answers late (with what it read at once), as a read over the network may.
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reads = 0;
  const repo: QueueRepo = {
    ...store.queues,
    get: async (name) => {
      const row = await store.queues.get(name);
      if (reads++ === 0) await released;
      return row;
    },
  };
  const queues = new QueueService({ repo, region: 'us-east-1', accountId: '000000000000' });
  try {
    const reading = queues.getQueueAttributes(url, ['VisibilityTimeout']);
    await queues.setQueueAttributes(url, { VisibilityTimeout: '45' });
    release();
    // The slow read answers with what it read; the service then answers with what the store holds.
    assert.deepEqual(await reading, { VisibilityTimeout: '30' });
    assert.deepEqual(await queues.getQueueAttributes(url, ['VisibilityTimeout']), { VisibilityTimeout: '45' });
  } finally {
    queues.close();
    await store.close();
  }
});
