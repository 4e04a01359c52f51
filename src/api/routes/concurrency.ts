import { z } from 'zod';
import type { FunctionService } from '../../functions/index.js';
import { json, jsonBody, type Route } from '../http.js';
import { parse } from '../schemas.js';

const PutFunctionConcurrencyBody = z.object({ ReservedConcurrentExecutions: z.number() });

/** Reserved concurrency: PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency. */
export function concurrencyRoutes(functions: FunctionService): Route[] {
  return [
    {
      method: 'PUT',
      pattern: '/2017-10-31/functions/{FunctionName}/concurrency',
      handler: async (req) => {
        const body = parse(PutFunctionConcurrencyBody, jsonBody(req));
        const value = await functions.putConcurrency(req.params.FunctionName ?? '', body.ReservedConcurrentExecutions);
        return json(200, { ReservedConcurrentExecutions: value });
      },
    },
    {
      method: 'GET',
      pattern: '/2019-09-30/functions/{FunctionName}/concurrency',
      handler: async (req) => {
        const value = await functions.getConcurrency(req.params.FunctionName ?? '');
        return json(200, value === undefined ? {} : { ReservedConcurrentExecutions: value });
      },
    },
    {
      method: 'DELETE',
      pattern: '/2017-10-31/functions/{FunctionName}/concurrency',
      handler: async (req) => {
        await functions.deleteConcurrency(req.params.FunctionName ?? '');
        return { status: 204 };
      },
    },
  ];
}
