/**
 * SQS's AddPermission and RemovePermission on Kumo's queue service, through the real
 * `@aws-sdk/client-sqs` (JSON protocol) and Debian's AWS CLI (query protocol): the statements they
 * write into the queue's `Policy` attribute, exactly as SQS generates them; how they combine with a
 * policy set by SetQueueAttributes; and SQS's errors for misuse, each of which changes nothing.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  AddPermissionCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  RemovePermissionCommand,
  SetQueueAttributesCommand,
  type AddPermissionCommandInput,
  type QueueAttributeName,
  type SQSClient,
  type SQSServiceException,
} from '@aws-sdk/client-sqs';
import { AWS_CLI_MISSING, awsCli, type ServiceCli } from '../helpers/aws-cli.js';
import { sqsClient } from '../helpers/clients.js';
import { rejectsWith } from '../helpers/errors.js';
import { useKumo } from '../helpers/kumo-suite.js';
import { startKumo } from '../helpers/server.js';

const ACCOUNT = '000000000000';
const arn = (name: string): string => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
const root = (account: string): string => `arn:aws:iam::${account}:root`;

/** Eight actions another account may be granted: one more than a statement may have. */
const EIGHT_ACTIONS =
  'SendMessage ReceiveMessage DeleteMessage ChangeMessageVisibility GetQueueAttributes GetQueueUrl PurgeQueue ListDeadLetterSourceQueues'.split(
    ' ',
  );

/** A statement as AddPermission writes it on queue `queue`, with its principal(s) and action(s) as given. */
function statement(queue: string, sid: string, principal: string | string[], action: string | string[]): object {
  return { Sid: sid, Effect: 'Allow', Principal: { AWS: principal }, Action: action, Resource: arn(queue) };
}

/** The document SQS generates for a queue's first AddPermission. */
function generated(name: string, statements: object[]): object {
  return { Version: '2008-10-17', Id: `${arn(name)}/SQSDefaultPolicy`, Statement: statements };
}

describe('AddPermission and RemovePermission through @aws-sdk/client-sqs (JSON protocol)', () => {
  let sqs: SQSClient;
  const k = useKumo({}, ({ url }) => {
    sqs = sqsClient(url);
  });

  async function create(name: string, attributes: Record<string, string> = {}): Promise<string> {
    const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    assert.ok(out.QueueUrl);
    return out.QueueUrl;
  }

  async function attributes(url: string, ...names: QueueAttributeName[]): Promise<Record<string, string>> {
    return (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }))).Attributes ?? {};
  }

  /** The queue's Policy attribute, parsed; undefined when the queue has none. */
  async function policy(url: string): Promise<unknown> {
    const text = (await attributes(url, 'Policy')).Policy;
    return text === undefined ? undefined : JSON.parse(text);
  }

  const add = (input: AddPermissionCommandInput) => sqs.send(new AddPermissionCommand(input));
  const remove = (url: string, label: string) => sqs.send(new RemovePermissionCommand({ QueueUrl: url, Label: label }));

  test('the round trip: statements as SQS generates them, one-or-many, removed one by one until Policy is gone', async () => {
    const url = await create('perm-jobs');
    assert.deepEqual(await attributes(url, 'Policy'), {});

    await add({ QueueUrl: url, Label: 'send-1', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] });
    const first = statement('perm-jobs', 'send-1', root('111122223333'), 'SQS:SendMessage');
    const text = (await attributes(url, 'Policy')).Policy ?? '';
    // One line of JSON, keys in SQS's order.
    assert.equal(text, JSON.stringify(generated('perm-jobs', [first])));

    await add({
      QueueUrl: url,
      Label: 'Both_Accounts',
      AWSAccountIds: ['111122223333', '444455556666'],
      Actions: ['ReceiveMessage', 'DeleteMessage', '*'],
    });
    const second = statement(
      'perm-jobs',
      'Both_Accounts',
      [root('111122223333'), root('444455556666')],
      ['SQS:ReceiveMessage', 'SQS:DeleteMessage', 'SQS:*'],
    );
    assert.deepEqual(await policy(url), generated('perm-jobs', [first, second]));
    assert.deepEqual(JSON.parse((await attributes(url, 'All')).Policy ?? ''), generated('perm-jobs', [first, second]));

    // The policy is stored: it survives a restart of Kumo.
    await k.restart();
    sqs.destroy();
    sqs = sqsClient(k.url);
    assert.deepEqual(await policy(url), generated('perm-jobs', [first, second]));

    await remove(url, 'send-1');
    assert.deepEqual(await policy(url), generated('perm-jobs', [second]));
    await remove(url, 'Both_Accounts');
    assert.equal(await policy(url), undefined);
    assert.equal((await attributes(url, 'All')).Policy, undefined);

    // A label removed can be used again; the new document is generated afresh.
    await add({ QueueUrl: url, Label: 'send-1', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] });
    assert.deepEqual(await policy(url), generated('perm-jobs', [first]));
  });

  test('account ids SQS cannot verify are dropped; none left is an error', async () => {
    const url = await create('perm-accounts');
    await add({ QueueUrl: url, Label: 'some', AWSAccountIds: ['111122223333', 'not-an-account', '12345'], Actions: ['GetQueueUrl'] });
    assert.deepEqual(
      await policy(url),
      generated('perm-accounts', [statement('perm-accounts', 'some', root('111122223333'), 'SQS:GetQueueUrl')]),
    );
    const before = await attributes(url, 'Policy', 'LastModifiedTimestamp');
    await rejectsWith(
      add({ QueueUrl: url, Label: 'none', AWSAccountIds: ['not-an-account', '12345'], Actions: ['GetQueueUrl'] }),
      'InvalidParameterValue',
      'Value [not-an-account, 12345] for parameter PrincipalId is invalid. Reason: Unable to verify.',
    );
    assert.deepEqual(await attributes(url, 'Policy', 'LastModifiedTimestamp'), before);
  });

  test('misuse gets SQS errors and changes nothing', async () => {
    const url = await create('perm-errors');
    await add({ QueueUrl: url, Label: 'existing', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] });
    const before = await attributes(url, 'Policy', 'LastModifiedTimestamp');
    const base = { QueueUrl: url, Label: 'new-label', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] };

    await rejectsWith(
      add({ ...base, Label: 'existing' }),
      'InvalidParameterValue',
      'Value existing for parameter Label is invalid. Reason: Already exists.',
    );
    await rejectsWith(
      add({ ...base, Label: 'has space' }),
      'InvalidParameterValue',
      /^Value has space for parameter Label is invalid\. Reason: Label can only include/,
    );
    await rejectsWith(add({ ...base, Label: 'x'.repeat(81) }), 'InvalidParameterValue', /parameter Label is invalid/);
    await rejectsWith(add({ ...base, Label: '' }), 'MissingParameter', 'The request must contain the parameter Label.');
    await rejectsWith(add({ ...base, Actions: [] }), 'MissingParameter', 'The request must contain the parameter Actions.');
    await rejectsWith(add({ ...base, Actions: undefined }), 'MissingParameter', 'The request must contain the parameter Actions.');
    await rejectsWith(
      add({ ...base, AWSAccountIds: [] }),
      'InvalidParameterValue',
      'Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.',
    );
    await rejectsWith(
      add({ ...base, AWSAccountIds: ['abc', '1234'] }),
      'InvalidParameterValue',
      'Value [abc, 1234] for parameter PrincipalId is invalid. Reason: Unable to verify.',
    );
    await rejectsWith(
      add({ ...base, Actions: ['DeleteQueue'] }),
      'InvalidParameterValue',
      'Value SQS:DeleteQueue for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action.',
    );
    await rejectsWith(
      add({ ...base, Actions: ['SendMessage', 'SendMessageBatch'] }),
      'InvalidParameterValue',
      'Value SQS:SendMessageBatch for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions.',
    );
    await assert.rejects(add({ ...base, Actions: EIGHT_ACTIONS }), (err: SQSServiceException) => {
      assert.equal(err.name, 'OverLimit');
      assert.equal(err.message, '8 Actions were found, maximum allowed is 7.');
      assert.equal(err.$metadata.httpStatusCode, 403);
      return true;
    });
    await rejectsWith(add({ ...base, QueueUrl: `${k.url}/${ACCOUNT}/perm-nothing` }), 'QueueDoesNotExist');
    await rejectsWith(
      remove(url, 'missing'),
      'InvalidParameterValue',
      "Value missing for parameter Label is invalid. Reason: can't find label.",
    );
    await rejectsWith(remove(url, ''), 'MissingParameter', 'The request must contain the parameter Label.');
    await rejectsWith(remove(`${k.url}/${ACCOUNT}/perm-nothing`, 'existing'), 'QueueDoesNotExist');
    assert.deepEqual(await attributes(url, 'Policy', 'LastModifiedTimestamp'), before);

    // A queue without a policy: RemovePermission finds no label.
    const bare = await create('perm-bare');
    await rejectsWith(
      remove(bare, 'anything'),
      'InvalidParameterValue',
      "Value anything for parameter Label is invalid. Reason: can't find label.",
    );
    assert.deepEqual(await attributes(bare, 'Policy'), {});
  });

  test('a policy holds at most 20 statements (OverLimit), the 21st changes nothing', async () => {
    const url = await create('perm-twenty');
    for (let i = 1; i <= 20; i++) await add({ QueueUrl: url, Label: `l${i}`, AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] });
    const before = (await attributes(url, 'Policy')).Policy;
    await rejectsWith(
      add({ QueueUrl: url, Label: 'l21', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] }),
      'OverLimit',
      '21 Statements were found, maximum allowed is 20.',
    );
    assert.equal((await attributes(url, 'Policy')).Policy, before);
  });

  test('a policy names at most 50 principals and holds at most 8,192 bytes (OverLimit), and a call over either changes nothing', async () => {
    const accounts = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => String(100000000000 + from + i));
    const url = await create('perm-principals');
    await rejectsWith(
      add({ QueueUrl: url, Label: 'many', AWSAccountIds: accounts(0, 51), Actions: ['SendMessage'] }),
      'OverLimit',
      '51 Principals were found, maximum allowed is 50.',
    );
    assert.equal(await policy(url), undefined);
    // The principals of every statement count, those of a policy that was set too ("*" is one).
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: url,
        Attributes: {
          Policy: JSON.stringify({ Statement: { Sid: 'anyone', Effect: 'Allow', Principal: '*', Action: 'sqs:GetQueueUrl' } }),
        },
      }),
    );
    await add({ QueueUrl: url, Label: 'first', AWSAccountIds: accounts(0, 30), Actions: ['SendMessage'] });
    const before = await attributes(url, 'Policy', 'LastModifiedTimestamp');
    await rejectsWith(
      add({ QueueUrl: url, Label: 'second', AWSAccountIds: accounts(30, 20), Actions: ['SendMessage'] }),
      'OverLimit',
      '51 Principals were found, maximum allowed is 50.',
    );
    assert.deepEqual(await attributes(url, 'Policy', 'LastModifiedTimestamp'), before);
    await add({ QueueUrl: url, Label: 'second', AWSAccountIds: accounts(30, 19), Actions: ['SendMessage'] });

    // A policy of exactly 8,192 bytes may be set; one more byte, or a statement added to it, is too many.
    const bytesUrl = await create('perm-bytes');
    const sized = (bytes: number): string => {
      const doc = { Id: '', Statement: [{ Sid: 'mine', Effect: 'Allow', Principal: '*', Action: 'sqs:SendMessage' }] };
      return JSON.stringify({ ...doc, Id: 'x'.repeat(bytes - JSON.stringify(doc).length) });
    };
    const tooBig = 'Submitted policy is over max allowed size.';
    await rejectsWith(
      sqs.send(new SetQueueAttributesCommand({ QueueUrl: bytesUrl, Attributes: { Policy: sized(8193) } })),
      'OverLimit',
      tooBig,
    );
    await rejectsWith(create('perm-bytes-created', { Policy: sized(8193) }), 'OverLimit', tooBig);
    assert.equal(await policy(bytesUrl), undefined);
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: bytesUrl, Attributes: { Policy: sized(8192) } }));
    const full = await attributes(bytesUrl, 'Policy', 'LastModifiedTimestamp');
    assert.equal(Buffer.byteLength(full.Policy ?? ''), 8192);
    await rejectsWith(
      add({ QueueUrl: bytesUrl, Label: 'more', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] }),
      'OverLimit',
      tooBig,
    );
    assert.deepEqual(await attributes(bytesUrl, 'Policy', 'LastModifiedTimestamp'), full);
  });

  test('concurrent AddPermissions on one queue all land', async () => {
    // One client per call, each on connections of its own, as calls from separate processes are.
    // The calls of one client reach the service one after another (measured: no lost statement in
    // ten rounds with the service's per-queue ordering taken out), so they would pass without it. On
    // their own connections they overlap in some rounds only (three to five in ten, measured the same
    // way), hence several rounds here; the unit test over a slow store is the deterministic guard.
    for (let round = 0; round < 5; round++) {
      const url = await create(`perm-concurrent-${round}`);
      const labels = Array.from({ length: 12 }, (_, i) => `c${i}`);
      const clients = labels.map(() => sqsClient(k.url));
      try {
        await Promise.all(
          clients.map((c, i) =>
            c.send(
              new AddPermissionCommand({ QueueUrl: url, Label: `c${i}`, AWSAccountIds: ['111122223333'], Actions: ['ReceiveMessage'] }),
            ),
          ),
        );
      } finally {
        for (const c of clients) c.destroy();
      }
      const doc = (await policy(url)) as { Statement: Array<{ Sid: string }> };
      assert.deepEqual(doc.Statement.map((s) => s.Sid).sort(), [...labels].sort(), `round ${round}`);
    }
  });

  test('a policy set with SetQueueAttributes is the same attribute: AddPermission appends, RemovePermission removes by Sid', async () => {
    const custom = {
      Sid: 'FromTopic',
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: arn('perm-custom'),
      Condition: { ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:us-east-1:000000000000:topic' } },
    };
    // A single statement object, IAM's Version, no Id.
    const url = await create('perm-custom', { Policy: JSON.stringify({ Version: '2012-10-17', Statement: custom }) });
    await rejectsWith(
      add({ QueueUrl: url, Label: 'FromTopic', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] }),
      'InvalidParameterValue',
      'Value FromTopic for parameter Label is invalid. Reason: Already exists.',
    );
    await add({ QueueUrl: url, Label: 'Partner', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] });
    const partner = statement('perm-custom', 'Partner', root('111122223333'), 'SQS:SendMessage');
    assert.deepEqual(await policy(url), { Version: '2012-10-17', Statement: [custom, partner] });
    await remove(url, 'FromTopic');
    assert.deepEqual(await policy(url), { Version: '2012-10-17', Statement: [partner] });

    // Policy "" removes the whole policy; a label is then unknown.
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: '' } }));
    assert.equal(await policy(url), undefined);
    await rejectsWith(remove(url, 'Partner'), 'InvalidParameterValue', /can't find label/);

    // A Policy that is not a policy document is refused and changes nothing.
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: JSON.stringify({ Statement: [partner] }) } }));
    for (const bad of [
      'not json',
      '[]',
      '{"Statement":[]}',
      '{"Version":"2012-10-17"}',
      JSON.stringify({ Statement: [{ Sid: 'x', Effect: 'Maybe' }] }),
      JSON.stringify({ Version: '2020-01-01', Statement: [partner] }),
    ]) {
      await rejectsWith(
        sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: bad, VisibilityTimeout: '99' } })),
        'InvalidAttributeValue',
        'Invalid value for the parameter Policy.',
      );
    }
    assert.deepEqual(await attributes(url, 'Policy', 'VisibilityTimeout'), {
      Policy: JSON.stringify({ Statement: [partner] }),
      VisibilityTimeout: '30',
    });
    await rejectsWith(create('perm-custom-bad', { Policy: '{' }), 'InvalidAttributeValue', 'Invalid value for the parameter Policy.');
  });
});

describe('a Policy an older Kumo stored', () => {
  test('that this check refuses is neither replaced nor edited: AddPermission and RemovePermission refuse it and change nothing', async () => {
    let k = await startKumo({});
    let sqs = sqsClient(k.url);
    try {
      const { QueueUrl: url } = await sqs.send(new CreateQueueCommand({ QueueName: 'perm-old' }));
      assert.ok(url);
      // An older Kumo kept any Policy string: here a hand-written one with a lower-case Effect.
      const old = JSON.stringify({ Statement: { Sid: 'old', Effect: 'allow', Principal: '*', Action: 'sqs:SendMessage' } });
      sqs.destroy();
      const dataDir = k.dataDir;
      await k.close({ keepData: true });
      const db = new Database(path.join(dataDir, 'kumo.db'));
      db.prepare("UPDATE sqs_queues SET attributes = json_set(attributes, '$.Policy', ?) WHERE name = 'perm-old'").run(old);
      db.close();
      k = await startKumo({ dataDir });
      sqs = sqsClient(k.url);

      const read = async () =>
        (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['Policy', 'LastModifiedTimestamp'] })))
          .Attributes ?? {};
      const before = await read();
      assert.equal(before.Policy, old);
      const refused = /^The queue's Policy attribute is not a valid policy document/;
      await rejectsWith(
        sqs.send(new AddPermissionCommand({ QueueUrl: url, Label: 'new', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] })),
        'InvalidAttributeValue',
        refused,
      );
      await rejectsWith(sqs.send(new RemovePermissionCommand({ QueueUrl: url, Label: 'old' })), 'InvalidAttributeValue', refused);
      assert.deepEqual(await read(), before);

      // Removing it (Policy "") lets AddPermission generate a new document.
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: '' } }));
      await sqs.send(new AddPermissionCommand({ QueueUrl: url, Label: 'new', AWSAccountIds: ['111122223333'], Actions: ['SendMessage'] }));
      assert.deepEqual(
        JSON.parse((await read()).Policy ?? ''),
        generated('perm-old', [statement('perm-old', 'new', root('111122223333'), 'SQS:SendMessage')]),
      );
    } finally {
      sqs.destroy();
      await k.close();
    }
  });
});

describe('add-permission and remove-permission through the AWS CLI (query protocol)', { skip: AWS_CLI_MISSING }, () => {
  let sqs: ServiceCli;
  const k = useKumo({}, (running) => {
    sqs = awsCli(running, 'sqs');
  });

  async function cliPolicy(url: string): Promise<unknown> {
    const out = await sqs.json<{ Attributes?: { Policy?: string } }>(
      'get-queue-attributes',
      '--queue-url',
      url,
      '--attribute-names',
      'Policy',
    );
    return out.Attributes?.Policy === undefined ? undefined : JSON.parse(out.Attributes.Policy);
  }

  /** Runs a command that must fail with the service error `code` (exit 254); returns stderr. */
  async function fails(code: string, ...args: string[]): Promise<string> {
    const r = await sqs(...args);
    assert.equal(r.code, 254, `expected exit 254, got ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`An error occurred \\(${code}\\) when calling the`), r.stderr);
    return r.stderr;
  }

  /** `add-permission` arguments: the label, then account ids and actions (each one or more). */
  const grant = (url: string, label: string, accounts: string[], actions: string[]): string[] => [
    'add-permission',
    '--queue-url',
    url,
    '--label',
    label,
    '--aws-account-ids',
    ...accounts,
    '--actions',
    ...actions,
  ];

  test('the round trip, and the errors, each changing nothing', async () => {
    const { QueueUrl: url } = await sqs.json<{ QueueUrl: string }>('create-queue', '--queue-name', 'perm-cli');
    assert.equal(url, `${k.url}/${ACCOUNT}/perm-cli`);
    assert.deepEqual(await sqs.json(...grant(url, 'Partners', ['111122223333', '444455556666'], ['SendMessage', 'ReceiveMessage'])), {});
    await sqs.json(...grant(url, 'Reader', ['111122223333'], ['GetQueueAttributes']));
    const partners = statement(
      'perm-cli',
      'Partners',
      [root('111122223333'), root('444455556666')],
      ['SQS:SendMessage', 'SQS:ReceiveMessage'],
    );
    const reader = statement('perm-cli', 'Reader', root('111122223333'), 'SQS:GetQueueAttributes');
    assert.deepEqual(await cliPolicy(url), generated('perm-cli', [partners, reader]));

    const refused: Array<[string, string[], RegExp]> = [
      [
        'InvalidParameterValue',
        grant(url, 'Reader', ['111122223333'], ['SendMessage']),
        /Value Reader for parameter Label is invalid\. Reason: Already exists\./,
      ],
      ['OverLimit', grant(url, 'Many', ['111122223333'], EIGHT_ACTIONS), /8 Actions were found, maximum allowed is 7\./],
      [
        'InvalidParameterValue',
        grant(url, 'Owner', ['111122223333'], ['SetQueueAttributes']),
        /Value SQS:SetQueueAttributes for parameter ActionName is invalid\. Reason: Only the queue owner is allowed to invoke this action\./,
      ],
      ['InvalidParameterValue', grant(url, 'bad/label', ['111122223333'], ['SendMessage']), /parameter Label is invalid/],
      [
        'InvalidParameterValue',
        ['remove-permission', '--queue-url', url, '--label', 'Nobody'],
        /Value Nobody for parameter Label is invalid\. Reason: can't find label\./,
      ],
      [
        'AWS.SimpleQueueService.NonExistentQueue',
        ['remove-permission', '--queue-url', `${k.url}/${ACCOUNT}/perm-none`, '--label', 'Reader'],
        /does not exist/,
      ],
    ];
    for (const [code, args, message] of refused) assert.match(await fails(code, ...args), message);
    assert.deepEqual(await cliPolicy(url), generated('perm-cli', [partners, reader]));

    assert.deepEqual(await sqs.json('remove-permission', '--queue-url', url, '--label', 'Partners'), {});
    assert.deepEqual(await cliPolicy(url), generated('perm-cli', [reader]));
    await sqs.json('remove-permission', '--queue-url', url, '--label', 'Reader');
    assert.equal(await cliPolicy(url), undefined);
  });
});
