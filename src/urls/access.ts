/**
 * Whether a function's resource-based policy lets anyone invoke it through a function URL whose
 * AuthType is NONE, as Lambda decides it: the policy must allow the anonymous principal (`*`)
 * both `lambda:InvokeFunctionUrl` and — for function URLs created since October 2025, which
 * every Kumo URL is — `lambda:InvokeFunction`, and deny neither. A statement's conditions are
 * evaluated against what a URL request carries: `lambda:FunctionUrlAuthType` (the URL's
 * AuthType) and `lambda:InvokedViaFunctionUrl` (`true`); a condition on anything else (a source
 * ARN, a source account, an organisation) cannot hold for an anonymous request.
 */
export function allowsPublicUrlAccess(
  statements: ReadonlyArray<Record<string, unknown>> | undefined,
  resourceArn: string,
  authType: 'NONE' | 'AWS_IAM',
): boolean {
  if (!statements) return false;
  const context: Record<string, string> = {
    'lambda:functionurlauthtype': authType,
    'lambda:invokedviafunctionurl': 'true',
  };
  const decide = (action: string): boolean => {
    const applicable = statements.filter(
      (s) => isAnonymous(s.Principal) && matchesAny(s.Action, action) && matchesAny(s.Resource, resourceArn) && conditionsHold(s.Condition, context),
    );
    return applicable.some((s) => s.Effect === 'Allow') && !applicable.some((s) => s.Effect === 'Deny');
  };
  return decide('lambda:InvokeFunctionUrl') && decide('lambda:InvokeFunction');
}

function isAnonymous(principal: unknown): boolean {
  if (principal === '*') return true;
  if (typeof principal === 'object' && principal !== null) {
    const aws = (principal as Record<string, unknown>).AWS;
    return aws === '*' || (Array.isArray(aws) && aws.includes('*'));
  }
  return false;
}

/** IAM's wildcard match (`*` and `?`), case-insensitively, of `value` against one pattern or a list. */
function matchesAny(patterns: unknown, value: string): boolean {
  const list = Array.isArray(patterns) ? (patterns as unknown[]) : [patterns];
  return list.some((p) => typeof p === 'string' && globToRegExp(p).test(value));
}

function globToRegExp(pattern: string, caseSensitive = false): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, caseSensitive ? '' : 'i');
}

function conditionsHold(condition: unknown, context: Record<string, string>): boolean {
  if (condition === undefined) return true;
  if (typeof condition !== 'object' || condition === null) return false;
  for (const [operator, entries] of Object.entries(condition as Record<string, unknown>)) {
    if (typeof entries !== 'object' || entries === null) return false;
    for (const [key, expected] of Object.entries(entries as Record<string, unknown>)) {
      const actual = context[key.toLowerCase()];
      if (actual === undefined) return false;
      const wanted = (Array.isArray(expected) ? (expected as unknown[]) : [expected]).map(String);
      if (operator === 'StringEquals' && !wanted.includes(actual)) return false;
      if (operator === 'StringEqualsIgnoreCase' && !wanted.some((w) => w.toLowerCase() === actual.toLowerCase())) return false;
      if (operator === 'StringLike' && !wanted.some((w) => globToRegExp(w, true).test(actual))) return false;
      if (operator === 'Bool' && !wanted.some((w) => w.toLowerCase() === actual)) return false;
      if (!['StringEquals', 'StringEqualsIgnoreCase', 'StringLike', 'Bool'].includes(operator)) return false;
    }
  }
  return true;
}
