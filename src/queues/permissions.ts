import { KumoError } from '../errors/index.js';

/**
 * A queue's access policy, the `Policy` attribute, and the statements AddPermission and
 * RemovePermission write into it. Kumo keeps the policy and answers with it, as SQS does, but
 * does not enforce it: every caller may call every operation.
 *
 * The document AddPermission generates is the one SQS generates (recorded from SQS in a public
 * emulator's test suite): `{"Version":"2008-10-17","Id":"<queue ARN>/SQSDefaultPolicy",
 * "Statement":[{"Sid":<Label>,"Effect":"Allow","Principal":{"AWS":<root ARN(s)>},
 * "Action":<"SQS:<action>"(s)>,"Resource":<queue ARN>}]}`, where a single principal or action is a
 * string and several are an array. RemovePermission removes the statements with that Sid; the
 * attribute goes away with the last one. AddPermission keeps SQS's policy quotas (its "policy
 * quotas" page): 7 actions a statement, 20 statements, 50 principals and 8,192 bytes a policy.
 */

export interface PermissionInput {
  Label: string;
  AWSAccountIds: readonly string[];
  Actions: readonly string[];
}

/** SQS's policy version for the documents it generates (older than IAM's 2012-10-17). */
export const GENERATED_POLICY_VERSION = '2008-10-17';
const POLICY_VERSIONS = ['2008-10-17', '2012-10-17'];
const LABEL = /^[A-Za-z0-9_-]{1,80}$/;
const ACCOUNT_ID = /^\d{12}$/;
const MAX_ACTIONS = 7;
const MAX_STATEMENTS = 20;
const MAX_PRINCIPALS = 50;
/** SQS's largest policy document, in bytes of its JSON. */
const MAX_POLICY_BYTES = 8192;
const UNREADABLE_POLICY =
  "The queue's Policy attribute is not a valid policy document, so no statement can be added to or removed from it. " +
  'Set a valid policy with SetQueueAttributes, or remove it by setting Policy to "".';
/** Actions another account may be granted. */
const SHARED_ACTIONS = new Set([
  '*',
  'ChangeMessageVisibility',
  'DeleteMessage',
  'GetQueueAttributes',
  'GetQueueUrl',
  'ListDeadLetterSourceQueues',
  'PurgeQueue',
  'ReceiveMessage',
  'SendMessage',
]);
/** Actions only the queue's owner may call, which SQS refuses to grant with its own reason. */
const OWNER_ACTIONS = new Set([
  'AddPermission',
  'CancelMessageMoveTask',
  'CreateQueue',
  'DeleteQueue',
  'ListMessageMoveTasks',
  'ListQueues',
  'ListQueueTags',
  'RemovePermission',
  'SetQueueAttributes',
  'StartMessageMoveTask',
  'TagQueue',
  'UntagQueue',
]);

type Statement = Record<string, unknown>;
interface Policy {
  document: Record<string, unknown>;
  statements: Statement[];
}

/**
 * Checks a `Policy` given to CreateQueue or SetQueueAttributes: at most 8,192 bytes (SQS's
 * OverLimit), a JSON policy document whose `Statement` is one statement or a non-empty list of
 * them, each with an `Effect` of Allow or Deny. SQS's InvalidAttributeValue otherwise. (SQS checks
 * the whole policy grammar and its other quotas; Kumo checks what AddPermission and RemovePermission
 * rely on.)
 */
export function checkPolicy(value: string): void {
  checkPolicySize(value);
  if (parsePolicy(value) === undefined) throw new KumoError('InvalidAttributeValue', 'Invalid value for the parameter Policy.');
}

/** The queue's policy with the statement AddPermission generates added; SQS's errors for bad input. */
export function withPermission(current: string | undefined, queueArn: string, input: PermissionInput): string {
  const { Label: label, AWSAccountIds: accounts, Actions: actions } = input;
  if (label === '') throw new KumoError('MissingParameter', 'The request must contain the parameter Label.');
  if (!LABEL.test(label)) {
    throw invalid(label, 'Label', 'Label can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.');
  }
  if (actions.length === 0) throw new KumoError('MissingParameter', 'The request must contain the parameter Actions.');
  // SQS keeps the account ids it can verify and refuses the request only when none is left;
  // Kumo cannot look accounts up, so any 12-digit id is one.
  const principals = accounts.filter((a) => ACCOUNT_ID.test(a)).map((a) => `arn:aws:iam::${a}:root`);
  if (principals.length === 0) throw invalid(`[${accounts.join(', ')}]`, 'PrincipalId', 'Unable to verify.');
  if (actions.length > MAX_ACTIONS) {
    throw new KumoError('OverLimit', `${actions.length} Actions were found, maximum allowed is ${MAX_ACTIONS}.`);
  }
  for (const action of actions) {
    if (SHARED_ACTIONS.has(action)) continue;
    const reason = OWNER_ACTIONS.has(action)
      ? 'Only the queue owner is allowed to invoke this action.'
      : 'Please refer to the appropriate WSDL for a list of valid actions.';
    throw invalid(`SQS:${action}`, 'ActionName', reason);
  }
  const policy = storedPolicy(current) ?? {
    document: { Version: GENERATED_POLICY_VERSION, Id: `${queueArn}/SQSDefaultPolicy` },
    statements: [],
  };
  if (policy.statements.some((s) => s.Sid === label)) throw invalid(label, 'Label', 'Already exists.');
  const statements = [
    ...policy.statements,
    {
      Sid: label,
      Effect: 'Allow',
      Principal: { AWS: oneOrMany(principals) },
      Action: oneOrMany(actions.map((a) => `SQS:${a}`)),
      Resource: queueArn,
    },
  ];
  if (statements.length > MAX_STATEMENTS) {
    throw new KumoError('OverLimit', `${statements.length} Statements were found, maximum allowed is ${MAX_STATEMENTS}.`);
  }
  const principalCount = statements.reduce((n, s) => n + countPrincipals(s.Principal) + countPrincipals(s.NotPrincipal), 0);
  if (principalCount > MAX_PRINCIPALS) {
    throw new KumoError('OverLimit', `${principalCount} Principals were found, maximum allowed is ${MAX_PRINCIPALS}.`);
  }
  const document = JSON.stringify({ ...policy.document, Statement: statements });
  checkPolicySize(document);
  return document;
}

/**
 * The queue's policy without the statements whose Sid is `label`, or undefined when none is left
 * (the attribute goes away). InvalidParameterValue when no statement has that Sid.
 */
export function withoutPermission(current: string | undefined, label: string): string | undefined {
  if (label === '') throw new KumoError('MissingParameter', 'The request must contain the parameter Label.');
  const policy = storedPolicy(current);
  const kept = policy?.statements.filter((s) => s.Sid !== label) ?? [];
  if (!policy || kept.length === policy.statements.length) throw invalid(label, 'Label', "can't find label.");
  return kept.length === 0 ? undefined : JSON.stringify({ ...policy.document, Statement: kept });
}

/**
 * The queue's stored `Policy`, parsed; undefined when it has none. A stored policy this version's
 * check refuses (written by an older Kumo, say) is not replaced or edited: the call is refused with
 * InvalidAttributeValue, so the owner decides what becomes of it. SQS never holds such a policy,
 * so it has no answer to copy; the code is the one SQS gives a malformed `Policy`, the words Kumo's.
 */
function storedPolicy(current: string | undefined): Policy | undefined {
  if (current === undefined || current === '') return undefined;
  const policy = parsePolicy(current);
  if (!policy) throw new KumoError('InvalidAttributeValue', UNREADABLE_POLICY);
  return policy;
}

function parsePolicy(value: string): Policy | undefined {
  let document: unknown;
  try {
    document = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!isObject(document)) return undefined;
  if (document.Version !== undefined && !POLICY_VERSIONS.includes(document.Version as string)) return undefined;
  const raw = document.Statement;
  const statements = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  if (statements.length === 0) return undefined;
  for (const s of statements) {
    if (!isObject(s) || (s.Effect !== 'Allow' && s.Effect !== 'Deny') || (s.Sid !== undefined && typeof s.Sid !== 'string'))
      return undefined;
  }
  return { document, statements: statements as Statement[] };
}

/** SQS's OverLimit for a policy of more than 8,192 bytes, in the words SQS answers SetQueueAttributes with. */
function checkPolicySize(document: string): void {
  if (Buffer.byteLength(document) > MAX_POLICY_BYTES) throw new KumoError('OverLimit', 'Submitted policy is over max allowed size.');
}

/** The principals a statement's `Principal` (or `NotPrincipal`) names: `"*"` is one, `{"AWS": [a, b]}` two. */
function countPrincipals(principal: unknown): number {
  if (principal === undefined) return 0;
  if (!isObject(principal)) return 1;
  return Object.values(principal).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 1), 0);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function oneOrMany(items: string[]): string | string[] {
  return items.length === 1 ? (items[0] as string) : items;
}

function invalid(value: string, parameter: string, reason: string): KumoError {
  return new KumoError('InvalidParameterValue', `Value ${value} for parameter ${parameter} is invalid. Reason: ${reason}`);
}
