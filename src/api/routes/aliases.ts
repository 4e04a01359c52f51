import { z } from 'zod';
import type { FunctionAliases } from '../../functions/index.js';
import { json, jsonBody, type Route } from '../http.js';
import { parse } from '../schemas.js';

const str = z.string();
const RoutingConfig = z.object({ AdditionalVersionWeights: z.record(z.string(), z.number()).optional() });

const CreateAliasBody = z.object({
  Name: str,
  FunctionVersion: str,
  Description: str.optional(),
  RoutingConfig: RoutingConfig.optional(),
});

const UpdateAliasBody = z.object({
  FunctionVersion: str.optional(),
  Description: str.optional(),
  RoutingConfig: RoutingConfig.optional(),
  RevisionId: str.optional(),
});

const ALIASES = '/2015-03-31/functions/{FunctionName}/aliases';

/** Function aliases: CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases. */
export function aliasRoutes(aliases: FunctionAliases): Route[] {
  return [
    {
      method: 'POST',
      pattern: ALIASES,
      handler: async (req) => {
        const body = parse(CreateAliasBody, jsonBody(req));
        return json(201, aliases.view(await aliases.create(req.params.FunctionName ?? '', body.Name, body)));
      },
    },
    {
      method: 'GET',
      pattern: ALIASES,
      handler: async (req) => {
        const maxItems = req.query.get('MaxItems');
        const page = await aliases.list(
          req.params.FunctionName ?? '',
          req.query.get('FunctionVersion') ?? undefined,
          req.query.get('Marker') ?? undefined,
          maxItems === null ? undefined : Number(maxItems),
        );
        const out: Record<string, unknown> = { Aliases: page.aliases.map((a) => aliases.view(a)) };
        if (page.nextMarker) out.NextMarker = page.nextMarker;
        return json(200, out);
      },
    },
    {
      method: 'GET',
      pattern: `${ALIASES}/{Name}`,
      handler: async (req) => json(200, aliases.view(await aliases.get(req.params.FunctionName ?? '', req.params.Name ?? ''))),
    },
    {
      method: 'PUT',
      pattern: `${ALIASES}/{Name}`,
      handler: async (req) => {
        const body = parse(UpdateAliasBody, jsonBody(req));
        return json(200, aliases.view(await aliases.update(req.params.FunctionName ?? '', req.params.Name ?? '', body)));
      },
    },
    {
      method: 'DELETE',
      pattern: `${ALIASES}/{Name}`,
      handler: async (req) => {
        await aliases.delete(req.params.FunctionName ?? '', req.params.Name ?? '');
        return { status: 204 };
      },
    },
  ];
}
