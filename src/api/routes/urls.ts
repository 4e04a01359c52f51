import { z } from 'zod';
import type { FunctionUrls } from '../../urls/index.js';
import { json, jsonBody, type ApiRequest, type Route } from '../http.js';
import { parse } from '../schemas.js';

const strings = z.array(z.string());
const Cors = z.object({
  AllowCredentials: z.boolean().optional(),
  AllowHeaders: strings.optional(),
  AllowMethods: strings.optional(),
  AllowOrigins: strings.optional(),
  ExposeHeaders: strings.optional(),
  MaxAge: z.number().optional(),
});
const UrlConfigBody = z.object({ AuthType: z.string().optional(), InvokeMode: z.string().optional(), Cors: Cors.optional() });

const URL = '/2021-10-31/functions/{FunctionName}/url';

/** Function URL configurations: Create, Get, Update, Delete and ListFunctionUrlConfigs. */
export function urlRoutes(urls: FunctionUrls): Route[] {
  return [
    {
      method: 'POST',
      pattern: URL,
      handler: async (req) => json(201, urls.view(await urls.create(fn(req), qualifier(req), parse(UrlConfigBody, jsonBody(req))), port(req), false)),
    },
    {
      method: 'GET',
      pattern: URL,
      handler: async (req) => json(200, urls.view(await urls.get(fn(req), qualifier(req)), port(req))),
    },
    {
      method: 'PUT',
      pattern: URL,
      handler: async (req) => json(200, urls.view(await urls.update(fn(req), qualifier(req), parse(UrlConfigBody, jsonBody(req))), port(req))),
    },
    {
      method: 'DELETE',
      pattern: URL,
      handler: async (req) => {
        await urls.delete(fn(req), qualifier(req));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/2021-10-31/functions/{FunctionName}/urls',
      handler: async (req) => {
        const maxItems = req.query.get('MaxItems');
        const page = await urls.list(fn(req), req.query.get('Marker') ?? undefined, maxItems === null ? undefined : Number(maxItems));
        const out: Record<string, unknown> = { FunctionUrlConfigs: page.urls.map((u) => urls.view(u, port(req))) };
        if (page.nextMarker) out.NextMarker = page.nextMarker;
        return json(200, out);
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

/** The port the caller reached Kumo on (from its Host; none when it named none): function URLs are served there too. */
function port(req: ApiRequest): string {
  return /:(\d{1,5})$/.exec(req.origin)?.[1] ?? '';
}
