import crypto from 'node:crypto';
import { KumoError, invalidParameter, validationError, updateInProgress } from '../errors/index.js';
import type { PolicyRepo } from '../store/index.js';
import { functionArn } from './names.js';
import { checkRevision, isAliasName, type FunctionService } from './service.js';

/** AddPermission's parameters, shape-checked at the edge. */
export interface AddPermissionInput {
  StatementId: string;
  Action: string;
  Principal: string;
  SourceArn?: string | undefined;
  SourceAccount?: string | undefined;
  EventSourceToken?: string | undefined;
  RevisionId?: string | undefined;
  PrincipalOrgID?: string | undefined;
  FunctionUrlAuthType?: string | undefined;
  InvokedViaFunctionUrl?: boolean | undefined;
}

/** One statement of a resource-based policy, in the order of keys Lambda prints. */
export type PolicyStatement = Record<string, unknown>;

/** Lambda's limit on a function's policy document. */
export const MAX_POLICY_BYTES = 20_480;

const SOURCE_ARN_PATTERN = 'arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)';

/** What holds a policy: a function version (`$LATEST` or published) or an alias, with its RevisionId. */
interface PolicyHolder {
  kind: 'version' | 'alias';
  /** The policy's qualifier in the store: the version, or the alias name. */
  key: string;
  revisionId: string;
}

/**
 * Resource-based policies of functions: AddPermission, RemovePermission, GetPolicy. Statements
 * are stored as Lambda renders them, so GetPolicy returns the document exactly as Lambda does:
 * `{"Version":"2012-10-17","Id":"default","Statement":[...]}`. Each version and each alias has a
 * policy of its own (`Qualifier`); a change gives what holds it a new RevisionId, and GetPolicy's
 * RevisionId is the version's or the alias's. A statement's Resource is the qualified ARN.
 */
export class FunctionPolicies {
  /** Told after every AddPermission or RemovePermission has written (see `watch`). */
  private readonly watchers: Array<(functionName: string) => void> = [];

  constructor(
    private readonly functions: FunctionService,
    private readonly repo: PolicyRepo,
  ) {}

  /**
   * Calls `watcher` with the function's name after an AddPermission or RemovePermission on it (or
   * on one of its versions or aliases) has written, before the call answers: what keeps a policy's
   * verdict in memory (function URLs) drops it.
   */
  watch(watcher: (functionName: string) => void): void {
    this.watchers.push(watcher);
  }

  /** The statements of a version's (`$LATEST` included) or an alias's policy as stored; undefined when it has none. */
  statements(functionName: string, qualifier: string): Promise<ReadonlyArray<Record<string, unknown>> | undefined> {
    return this.repo.get(functionName, qualifier);
  }

  /** AddPermission: returns the statement added, as Lambda's `Statement` string. */
  async add(functionName: string, qualifier: string | undefined, input: AddPermissionInput): Promise<string> {
    const ref = this.functions.ref(functionName, qualifier);
    if (ref.qualifier === '$LATEST') throw invalidParameter('We currently do not support adding policies for $LATEST.');
    checkStatementInput(input);
    let added: PolicyStatement | undefined;
    await this.change(ref.name, ref.qualifier, async (holder, next) => {
      checkRevision(holder, input.RevisionId);
      const statements = (await this.repo.get(ref.name, holder.key)) ?? [];
      checkStatementIdFree(statements, input.StatementId);
      added = buildStatement(functionArn(this.functions.partition, ref.name, ref.qualifier), input);
      const all = [...statements, added];
      checkPolicySize(all);
      return this.repo.put(ref.name, holder.key, all, { expected: holder.revisionId, next }, holder.kind);
    });
    return JSON.stringify(added);
  }

  /** RemovePermission. */
  async remove(functionName: string, qualifier: string | undefined, statementId: string, revisionId: string | undefined): Promise<void> {
    const ref = this.functions.ref(functionName, qualifier);
    try {
      await this.functions.get(ref.name);
    } catch (err) {
      if (err instanceof KumoError && err.code === 'ResourceNotFoundException') {
        throw new KumoError('ResourceNotFoundException', `No policy found for: ${this.functions.arn(ref.name)}`);
      }
      throw err;
    }
    await this.change(ref.name, ref.qualifier, async (holder, next) => {
      const statements = await this.repo.get(ref.name, holder.key);
      if (!statements) throw new KumoError('ResourceNotFoundException', 'No policy is associated with the given resource.');
      const kept = statements.filter((s) => s.Sid !== statementId);
      if (kept.length === statements.length) {
        throw new KumoError('ResourceNotFoundException', `Statement ${statementId} is not found in resource policy.`);
      }
      checkRevision(holder, revisionId);
      return this.repo.put(ref.name, holder.key, kept, { expected: holder.revisionId, next }, holder.kind);
    });
  }

  /** GetPolicy: the policy document as a JSON string, and the RevisionId of its version or alias. */
  async get(functionName: string, qualifier: string | undefined): Promise<{ policy: string; revisionId: string }> {
    const ref = this.functions.ref(functionName, qualifier);
    const holder = await this.holder(ref.name, ref.qualifier);
    const statements = await this.repo.get(ref.name, holder.key);
    if (!statements) throw new KumoError('ResourceNotFoundException', 'The resource you requested does not exist.');
    return { policy: policyDocument(statements), revisionId: holder.revisionId };
  }

  /** What `qualifier` names: `$LATEST` (none), a published version or an alias; Lambda's not-found errors otherwise. */
  private async holder(name: string, qualifier: string | undefined): Promise<PolicyHolder> {
    const fn = await this.functions.get(name); // an unknown function is reported as such first
    if (!isAliasName(qualifier)) {
      const version = qualifier === undefined ? fn : await this.functions.get(name, qualifier);
      return { kind: 'version', key: version.version, revisionId: version.revisionId };
    }
    const alias = await this.functions.alias(name, qualifier);
    if (!alias) throw new KumoError('ResourceNotFoundException', `Cannot find alias arn: ${this.functions.arn(name, qualifier)}`);
    return { kind: 'alias', key: alias.name, revisionId: alias.revisionId };
  }

  /**
   * Runs `write` against the policy's holder with a new RevisionId for it; `write` stores both
   * (false: the stored revision moved on meanwhile, a conflict). A version goes through
   * FunctionService.revise (its cached record follows); an alias's cached record is dropped. The
   * watchers are told whether or not it wrote.
   */
  private async change(
    name: string,
    qualifier: string | undefined,
    write: (holder: PolicyHolder, nextRevisionId: string) => Promise<boolean>,
  ): Promise<void> {
    const holder = await this.holder(name, qualifier);
    try {
      if (holder.kind === 'version') {
        await this.functions.revise({ name, qualifier: holder.key }, (fn, next) =>
          write({ kind: 'version', key: fn.version, revisionId: fn.revisionId }, next),
        );
        return;
      }
      const written = await write(holder, crypto.randomUUID());
      this.functions.forgetAliases(name, holder.key);
      if (!written) {
        throw updateInProgress(this.functions.arn(name, holder.key));
      }
    } finally {
      for (const watcher of this.watchers) watcher(name);
    }
  }
}

/** A resource-based policy (a function's, a layer version's) as Lambda renders it. */
export function policyDocument(statements: ReadonlyArray<Record<string, unknown>>): string {
  return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements });
}

/** AddPermission, AddLayerVersionPermission: a statement id may be used once in a policy. */
export function checkStatementIdFree(statements: ReadonlyArray<Record<string, unknown>>, sid: string): void {
  if (statements.some((s) => s.Sid === sid)) {
    throw new KumoError(
      'ResourceConflictException',
      `The statement id (${sid}) provided already exists. Please provide a new statement id, or remove the existing statement.`,
    );
  }
}

/** Lambda's limit on a policy document (functions' and layer versions' alike). */
export function checkPolicySize(statements: ReadonlyArray<Record<string, unknown>>): void {
  const size = Buffer.byteLength(policyDocument(statements));
  if (size > MAX_POLICY_BYTES) {
    throw new KumoError('PolicyLengthExceededException', `The final policy size (${size}) is bigger than the limit (${MAX_POLICY_BYTES}).`);
  }
}

/** A StatementId (AddPermission, AddLayerVersionPermission) against the model's length and pattern. */
export function checkStatementId(sid: string): void {
  if (sid.length < 1 || sid.length > 100) {
    throw validationError(
      'statementId',
      sid,
      `Member must have length ${sid.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 100'}`,
    );
  }
  if (!/^[a-zA-Z0-9-_]+$/.test(sid))
    throw validationError('statementId', sid, 'Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)');
}

/** AddPermission's parameters against the patterns of Lambda's model. */
function checkStatementInput(input: AddPermissionInput): void {
  checkStatementId(input.StatementId);
  if (!/^(lambda:[*]|lambda:[a-zA-Z]+|[*])$/.test(input.Action)) {
    throw validationError('action', input.Action, 'Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])');
  }
  if (!/^[^\s]+$/.test(input.Principal)) {
    throw validationError('principal', input.Principal, 'Member must satisfy regular expression pattern: [^\\s]+');
  }
  if (input.SourceAccount !== undefined && !/^\d{12}$/.test(input.SourceAccount)) {
    throw validationError('sourceAccount', input.SourceAccount, 'Member must satisfy regular expression pattern: \\d{12}');
  }
  if (input.SourceArn !== undefined && !new RegExp(`^${SOURCE_ARN_PATTERN}$`).test(input.SourceArn)) {
    throw validationError('sourceArn', input.SourceArn, `Member must satisfy regular expression pattern: ${SOURCE_ARN_PATTERN}`);
  }
  if (input.EventSourceToken !== undefined) {
    if (input.EventSourceToken.length > 256) {
      throw validationError('eventSourceToken', input.EventSourceToken, 'Member must have length less than or equal to 256');
    }
    if (!/^[a-zA-Z0-9._-]+$/.test(input.EventSourceToken)) {
      throw validationError(
        'eventSourceToken',
        input.EventSourceToken,
        'Member must satisfy regular expression pattern: [a-zA-Z0-9._\\-]+',
      );
    }
  }
  if (input.PrincipalOrgID !== undefined && !/^o-[a-z0-9]{10,32}$/.test(input.PrincipalOrgID)) {
    throw validationError('principalOrgID', input.PrincipalOrgID, 'Member must satisfy regular expression pattern: ^o-[a-z0-9]{10,32}$');
  }
  if (input.FunctionUrlAuthType !== undefined && input.FunctionUrlAuthType !== 'NONE' && input.FunctionUrlAuthType !== 'AWS_IAM') {
    throw validationError('functionUrlAuthType', input.FunctionUrlAuthType, 'Member must satisfy enum value set: [AWS_IAM, NONE]');
  }
}

/**
 * The statement Lambda writes for an AddPermission: a service principal (`s3.amazonaws.com`) as
 * `{"Service":..}`, an account id as its root user `{"AWS":"arn:aws:iam::<id>:root"}`, an IAM ARN
 * as `{"AWS":..}`, `*` as is; the optional parameters become `StringEquals`, `ArnLike` and `Bool`
 * conditions.
 */
export function buildStatement(resource: string, input: AddPermissionInput): PolicyStatement {
  const statement: PolicyStatement = {
    Sid: input.StatementId,
    Effect: 'Allow',
    Principal: principal(input.Principal),
    Action: input.Action,
    Resource: resource,
  };
  const stringEquals: Record<string, string> = {};
  if (input.FunctionUrlAuthType !== undefined) stringEquals['lambda:FunctionUrlAuthType'] = input.FunctionUrlAuthType;
  if (input.PrincipalOrgID !== undefined) stringEquals['aws:PrincipalOrgID'] = input.PrincipalOrgID;
  if (input.SourceAccount !== undefined) stringEquals['AWS:SourceAccount'] = input.SourceAccount;
  if (input.EventSourceToken !== undefined) stringEquals['lambda:EventSourceToken'] = input.EventSourceToken;
  const condition: Record<string, Record<string, string>> = {};
  if (Object.keys(stringEquals).length > 0) condition.StringEquals = stringEquals;
  if (input.SourceArn !== undefined) condition.ArnLike = { 'AWS:SourceArn': input.SourceArn };
  if (input.InvokedViaFunctionUrl !== undefined) condition.Bool = { 'lambda:InvokedViaFunctionUrl': String(input.InvokedViaFunctionUrl) };
  if (Object.keys(condition).length > 0) statement.Condition = condition;
  return statement;
}

function principal(value: string): unknown {
  if (value === '*') return '*';
  if (/^\d{12}$/.test(value)) return { AWS: `arn:aws:iam::${value}:root` };
  if (/^arn:aws[a-zA-Z-]*:iam::/.test(value)) return { AWS: value };
  if (/^[a-z0-9][a-z0-9.-]*\.(amazonaws\.com|amazon\.com)$/.test(value)) return { Service: value };
  throw invalidParameter('The provided principal was invalid. Please check the principal and try again.');
}
