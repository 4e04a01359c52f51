import { z } from 'zod';
import type { FunctionProvisioning } from '../../functions/index.js';
import { json, jsonBody, type ApiRequest, type Route } from '../http.js';
import { parse } from '../schemas.js';

const PutBody = z.object({ ProvisionedConcurrentExecutions: z.number() });

const PATH = '/2019-09-30/functions/{FunctionName}/provisioned-concurrency';

/**
 * Provisioned concurrency: Put (202), Get, Delete (204), and List, which shares Get's path and is
 * told apart by `List=ALL`.
 */
export function provisionedRoutes(provisioning: FunctionProvisioning): Route[] {
  return [
    {
      method: 'PUT',
      pattern: PATH,
      handler: async (req) => {
        const body = parse(PutBody, jsonBody(req));
        return json(202, await provisioning.put(fn(req), query(req, 'Qualifier'), body.ProvisionedConcurrentExecutions));
      },
    },
    {
      method: 'GET',
      pattern: PATH,
      handler: async (req) => {
        if (req.query.get('List') === 'ALL') {
          const maxItems = query(req, 'MaxItems');
          return json(200, await provisioning.list(fn(req), query(req, 'Marker'), maxItems === undefined ? undefined : Number(maxItems)));
        }
        return json(200, await provisioning.get(fn(req), query(req, 'Qualifier')));
      },
    },
    {
      method: 'DELETE',
      pattern: PATH,
      handler: async (req) => {
        await provisioning.delete(fn(req), query(req, 'Qualifier'));
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
