import type { AsyncService } from '../../async/index.js';
import { json, jsonBody, type ApiRequest, type Route } from '../http.js';
import { EventInvokeConfigBody, parse } from '../schemas.js';

const PATH = '/2019-09-25/functions/{FunctionName}/event-invoke-config';

/** Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s): retries, maximum event age and destinations. */
export function eventInvokeConfigRoutes(events: AsyncService): Route[] {
  return [
    {
      method: 'PUT',
      pattern: PATH,
      handler: async (req) => json(200, await events.putConfig(fn(req), qualifier(req), parse(EventInvokeConfigBody, jsonBody(req)))),
    },
    {
      method: 'POST',
      pattern: PATH,
      handler: async (req) => json(200, await events.updateConfig(fn(req), qualifier(req), parse(EventInvokeConfigBody, jsonBody(req)))),
    },
    {
      method: 'GET',
      pattern: PATH,
      handler: async (req) => json(200, await events.getConfig(fn(req), qualifier(req))),
    },
    {
      method: 'DELETE',
      pattern: PATH,
      handler: async (req) => {
        await events.deleteConfig(fn(req), qualifier(req));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: `${PATH}/list`,
      handler: async (req) => {
        const maxItems = req.query.get('MaxItems');
        return json(
          200,
          await events.listConfigs(fn(req), req.query.get('Marker') ?? undefined, maxItems === null ? undefined : Number(maxItems)),
        );
      },
    },
  ];
}

function fn(req: ApiRequest): string {
  return req.params.FunctionName ?? '';
}

function qualifier(req: ApiRequest): string | undefined {
  return req.query.get('Qualifier') ?? undefined;
}
