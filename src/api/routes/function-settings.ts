import { z } from 'zod';
import type { FunctionSettings } from '../../functions/index.js';
import { json, jsonBody, type ApiRequest, type Route } from '../http.js';
import { parse } from '../schemas.js';

const RECURSION = '/2024-08-31/functions/{FunctionName}/recursion-config';
const RUNTIME_MANAGEMENT = '/2021-07-20/functions/{FunctionName}/runtime-management-config';

const PutFunctionRecursionConfigBody = z.object({ RecursiveLoop: z.string() });
const PutRuntimeManagementConfigBody = z.object({ UpdateRuntimeOn: z.string(), RuntimeVersionArn: z.string().optional() });

/** Get/PutFunctionRecursionConfig and Get/PutRuntimeManagementConfig (src/functions/settings.ts). */
export function functionSettingsRoutes(settings: FunctionSettings): Route[] {
  return [
    {
      method: 'GET',
      pattern: RECURSION,
      handler: async (req) => json(200, { RecursiveLoop: await settings.recursion(fn(req)) }),
    },
    {
      method: 'PUT',
      pattern: RECURSION,
      handler: async (req) => {
        const body = parse(PutFunctionRecursionConfigBody, jsonBody(req));
        return json(200, { RecursiveLoop: await settings.putRecursion(fn(req), body.RecursiveLoop) });
      },
    },
    {
      method: 'GET',
      pattern: RUNTIME_MANAGEMENT,
      handler: async (req) => json(200, await settings.runtimeManagement(fn(req), qualifier(req))),
    },
    {
      method: 'PUT',
      pattern: RUNTIME_MANAGEMENT,
      handler: async (req) =>
        json(200, await settings.putRuntimeManagement(fn(req), qualifier(req), parse(PutRuntimeManagementConfigBody, jsonBody(req)))),
    },
  ];
}

function fn(req: ApiRequest): string {
  return req.params.FunctionName ?? '';
}

function qualifier(req: ApiRequest): string | undefined {
  return req.query.get('Qualifier') ?? undefined;
}
