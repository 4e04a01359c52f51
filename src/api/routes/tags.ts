import { z } from 'zod';
import type { FunctionTags } from '../../functions/index.js';
import { json, jsonBody, type Route } from '../http.js';
import { parse } from '../schemas.js';

const TagResourceBody = z.object({ Tags: z.record(z.string(), z.string()) });

const TAGS = '/2017-03-31/tags/{Resource}';

/** TagResource, UntagResource, ListTags. `Resource` is an ARN, URL-encoded in the path. */
export function tagRoutes(tags: FunctionTags): Route[] {
  return [
    {
      method: 'POST',
      pattern: TAGS,
      handler: async (req) => {
        const body = parse(TagResourceBody, jsonBody(req));
        await tags.tag(req.params.Resource ?? '', body.Tags);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: TAGS,
      handler: async (req) => {
        await tags.untag(req.params.Resource ?? '', req.query.getAll('tagKeys'));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: TAGS,
      handler: async (req) => json(200, { Tags: await tags.list(req.params.Resource ?? '') }),
    },
  ];
}
