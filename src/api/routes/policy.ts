import { z } from 'zod';
import type { FunctionPolicies } from '../../functions/index.js';
import { json, jsonBody, type ApiRequest, type Route } from '../http.js';
import { parse } from '../schemas.js';

const str = z.string();

const AddPermissionBody = z.object({
  StatementId: str,
  Action: str,
  Principal: str,
  SourceArn: str.optional(),
  SourceAccount: str.optional(),
  EventSourceToken: str.optional(),
  RevisionId: str.optional(),
  PrincipalOrgID: str.optional(),
  FunctionUrlAuthType: str.optional(),
  InvokedViaFunctionUrl: z.boolean().optional(),
});

const POLICY = '/2015-03-31/functions/{FunctionName}/policy';

/** Resource-based policies: AddPermission, RemovePermission, GetPolicy. */
export function policyRoutes(policies: FunctionPolicies): Route[] {
  return [
    {
      method: 'POST',
      pattern: POLICY,
      handler: async (req) => {
        const body = parse(AddPermissionBody, jsonBody(req));
        return json(201, { Statement: await policies.add(fn(req), query(req, 'Qualifier'), body) });
      },
    },
    {
      method: 'GET',
      pattern: POLICY,
      handler: async (req) => {
        const { policy, revisionId } = await policies.get(fn(req), query(req, 'Qualifier'));
        return json(200, { Policy: policy, RevisionId: revisionId });
      },
    },
    {
      method: 'DELETE',
      pattern: `${POLICY}/{StatementId}`,
      handler: async (req) => {
        await policies.remove(fn(req), query(req, 'Qualifier'), req.params.StatementId ?? '', query(req, 'RevisionId'));
        return { status: 204 };
      },
    },
  ];
}

function fn(req: ApiRequest): string {
  return req.params.FunctionName ?? '';
}

function query(req: ApiRequest, name: string): string | undefined {
  return req.query.get(name) ?? undefined;
}
