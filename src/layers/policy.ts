import { validationError } from '../errors/index.js';
import { checkStatementId } from '../functions/index.js';

/** AddLayerVersionPermission's parameters, shape-checked at the edge. */
export interface AddLayerPermissionInput {
  StatementId: string;
  Action: string;
  Principal: string;
  OrganizationId?: string | undefined;
}

const PRINCIPAL_PATTERN = '\\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root';

/** Checks AddLayerVersionPermission's parameters against the patterns of Lambda's model. */
export function checkLayerStatementInput(input: AddLayerPermissionInput): void {
  checkStatementId(input.StatementId);
  if (input.Action !== 'lambda:GetLayerVersion') {
    throw validationError('action', input.Action, 'Member must satisfy regular expression pattern: lambda:GetLayerVersion');
  }
  if (!new RegExp(`^(?:${PRINCIPAL_PATTERN})$`).test(input.Principal)) {
    throw validationError('principal', input.Principal, `Member must satisfy regular expression pattern: ${PRINCIPAL_PATTERN}`);
  }
  if (input.OrganizationId !== undefined) {
    if (!/^o-[a-z0-9]{10,32}$/.test(input.OrganizationId)) {
      throw validationError('organizationId', input.OrganizationId, 'Member must satisfy regular expression pattern: o-[a-z0-9]{10,32}');
    }
  }
}

/**
 * The statement Lambda writes for an AddLayerVersionPermission: an account id as its root user
 * (`{"AWS":"arn:aws:iam::<id>:root"}`), `*` as is, and an organization as a `StringEquals` condition
 * on `aws:PrincipalOrgID`.
 */
export function buildLayerStatement(resource: string, input: AddLayerPermissionInput): Record<string, unknown> {
  const statement: Record<string, unknown> = {
    Sid: input.StatementId,
    Effect: 'Allow',
    Principal:
      input.Principal === '*' ? '*' : { AWS: /^\d{12}$/.test(input.Principal) ? `arn:aws:iam::${input.Principal}:root` : input.Principal },
    Action: input.Action,
    Resource: resource,
  };
  if (input.OrganizationId !== undefined) statement.Condition = { StringEquals: { 'aws:PrincipalOrgID': input.OrganizationId } };
  return statement;
}
