import { KumoError, functionNotFound, invalidParameter, validationError } from '../errors/index.js';
import type { FunctionRecord, PolicyRepo } from '../store/index.js';
import { functionArn } from './names.js';
import { checkRevision, type FunctionService } from './service.js';

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

/**
 * Resource-based policies of functions: AddPermission, RemovePermission, GetPolicy. Statements
 * are stored as Lambda renders them, so GetPolicy returns the document exactly as Lambda does:
 * `{"Version":"2012-10-17","Id":"default","Statement":[...]}`. A change gives the function version
 * a new RevisionId; GetPolicy's RevisionId is the version's.
 */
export class FunctionPolicies {
  constructor(
    private readonly functions: FunctionService,
    private readonly repo: PolicyRepo,
  ) {}

  /** AddPermission: returns the statement added, as Lambda's `Statement` string. */
  async add(functionName: string, qualifier: string | undefined, input: AddPermissionInput): Promise<string> {
    const ref = this.functions.ref(functionName, qualifier);
    if (ref.qualifier !== undefined) checkQualifier(ref.qualifier);
    if (ref.qualifier === '$LATEST') throw invalidParameter('We currently do not support adding policies for $LATEST.');
    checkStatementInput(input);
    await this.version(ref.name, ref.qualifier);
    let added: PolicyStatement | undefined;
    await this.functions.revise(ref, async (fn, next) => {
      checkRevision(fn, input.RevisionId);
      const statements = (await this.repo.get(fn.name, fn.version)) ?? [];
      if (statements.some((s) => s.Sid === input.StatementId)) {
        throw new KumoError(
          'ResourceConflictException',
          `The statement id (${input.StatementId}) provided already exists. Please provide a new statement id, or remove the existing statement.`,
        );
      }
      added = buildStatement(this.resourceArn(fn, ref.qualifier), input);
      const all = [...statements, added];
      const size = Buffer.byteLength(document(all));
      if (size > MAX_POLICY_BYTES) {
        throw new KumoError(
          'PolicyLengthExceededException',
          `The final policy size (${size}) is bigger than the limit (${MAX_POLICY_BYTES}).`,
        );
      }
      return this.repo.put(fn.name, fn.version, all, { expected: fn.revisionId, next });
    });
    return JSON.stringify(added);
  }

  /** RemovePermission. */
  async remove(functionName: string, qualifier: string | undefined, statementId: string, revisionId: string | undefined): Promise<void> {
    const ref = this.functions.ref(functionName, qualifier);
    if (ref.qualifier !== undefined) checkQualifier(ref.qualifier);
    try {
      await this.functions.get(ref.name);
    } catch (err) {
      if (err instanceof KumoError && err.code === 'ResourceNotFoundException') {
        throw new KumoError('ResourceNotFoundException', `No policy found for: ${this.functions.arn(ref.name)}`);
      }
      throw err;
    }
    await this.version(ref.name, ref.qualifier);
    await this.functions.revise(ref, async (fn, next) => {
      const statements = await this.repo.get(fn.name, fn.version);
      if (!statements) throw new KumoError('ResourceNotFoundException', 'No policy is associated with the given resource.');
      const kept = statements.filter((s) => s.Sid !== statementId);
      if (kept.length === statements.length) {
        throw new KumoError('ResourceNotFoundException', `Statement ${statementId} is not found in resource policy.`);
      }
      checkRevision(fn, revisionId);
      return this.repo.put(fn.name, fn.version, kept, { expected: fn.revisionId, next });
    });
  }

  /** GetPolicy: the policy document as a JSON string, and the version's RevisionId. */
  async get(functionName: string, qualifier: string | undefined): Promise<{ policy: string; revisionId: string }> {
    const ref = this.functions.ref(functionName, qualifier);
    if (ref.qualifier !== undefined) checkQualifier(ref.qualifier);
    const fn = await this.version(ref.name, ref.qualifier);
    const statements = await this.repo.get(fn.name, fn.version);
    if (!statements) throw new KumoError('ResourceNotFoundException', 'The resource you requested does not exist.');
    return { policy: document(statements), revisionId: fn.revisionId };
  }

  /** The version `qualifier` names; Lambda's not-found errors for versions and aliases Kumo does not have yet. */
  private async version(name: string, qualifier: string | undefined): Promise<FunctionRecord> {
    if (qualifier !== undefined && qualifier !== '$LATEST') {
      await this.functions.get(name); // an unknown function is reported as such first
      const arn = this.functions.arn(name, qualifier);
      if (/^\d+$/.test(qualifier)) throw functionNotFound(arn);
      throw new KumoError('ResourceNotFoundException', `Cannot find alias arn: ${arn}`);
    }
    return this.functions.get(name);
  }

  private resourceArn(fn: FunctionRecord, qualifier: string | undefined): string {
    return functionArn(this.functions.partition, fn.name, qualifier);
  }
}

function document(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements });
}

function checkQualifier(qualifier: string): void {
  if (qualifier.length > 128) throw validationError('qualifier', qualifier, 'Member must have length less than or equal to 128');
  if (!/^[a-zA-Z0-9$_-]+$/.test(qualifier)) {
    throw validationError('qualifier', qualifier, 'Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)');
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
