import { z } from 'zod';
import { KumoError } from '../../errors/index.js';
import type { CodeSigning, SigningProfiles } from '../../signing/index.js';
import { json, jsonBody, type ApiRequest, type Route } from '../http.js';
import { parse } from '../schemas.js';

const str = z.string();
const AllowedPublishers = z.object({ SigningProfileVersionArns: z.array(str) });
const CodeSigningPolicies = z.object({ UntrustedArtifactOnDeployment: str.optional() });

const CreateBody = z.object({
  Description: str.optional(),
  AllowedPublishers,
  CodeSigningPolicies: CodeSigningPolicies.optional(),
  Tags: z.record(z.string(), z.string()).optional(),
});
const UpdateBody = z.object({
  Description: str.optional(),
  AllowedPublishers: AllowedPublishers.optional(),
  CodeSigningPolicies: CodeSigningPolicies.optional(),
});
const PutFunctionBody = z.object({ CodeSigningConfigArn: str });
const CreateProfileBody = z.object({ profileName: str });
const SignBody = z.object({ digest: str });

const CSC = '/2020-04-22/code-signing-configs';
const FN_CSC = '/2020-06-30/functions/{FunctionName}/code-signing-config';
const PROFILES = '/_kumo/signing-profiles';

/**
 * Lambda's code signing API, and Kumo's own small API for its signing profiles
 * (`/_kumo/signing-profiles`: create, list, get, revoke, and sign a manifest digest for `kumo sign`).
 */
export function signingRoutes(signing: CodeSigning, profiles: SigningProfiles): Route[] {
  return [
    {
      method: 'POST',
      pattern: CSC,
      handler: async (req) => json(201, { CodeSigningConfig: signing.view(await signing.create(parse(CreateBody, jsonBody(req)))) }),
    },
    {
      method: 'GET',
      pattern: CSC,
      handler: async (req) => {
        const maxItems = req.query.get('MaxItems');
        const page = await signing.list(req.query.get('Marker') ?? undefined, maxItems === null ? undefined : Number(maxItems));
        return json(200, {
          CodeSigningConfigs: page.configs.map((c) => signing.view(c)),
          ...(page.nextMarker === undefined ? {} : { NextMarker: page.nextMarker }),
        });
      },
    },
    {
      method: 'GET',
      pattern: `${CSC}/{CodeSigningConfigArn}`,
      handler: async (req) => json(200, { CodeSigningConfig: signing.view(await signing.get(arn(req))) }),
    },
    {
      method: 'PUT',
      pattern: `${CSC}/{CodeSigningConfigArn}`,
      handler: async (req) =>
        json(200, { CodeSigningConfig: signing.view(await signing.update(arn(req), parse(UpdateBody, jsonBody(req)))) }),
    },
    {
      method: 'DELETE',
      pattern: `${CSC}/{CodeSigningConfigArn}`,
      handler: async (req) => {
        await signing.delete(arn(req));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: `${CSC}/{CodeSigningConfigArn}/functions`,
      handler: async (req) => json(200, { FunctionArns: await signing.functionsUsing(arn(req)) }),
    },
    {
      method: 'PUT',
      pattern: FN_CSC,
      handler: async (req) =>
        json(200, await signing.attach(req.params.FunctionName ?? '', parse(PutFunctionBody, jsonBody(req)).CodeSigningConfigArn)),
    },
    {
      method: 'GET',
      pattern: FN_CSC,
      handler: async (req) => json(200, await signing.ofFunction(req.params.FunctionName ?? '')),
    },
    {
      method: 'DELETE',
      pattern: FN_CSC,
      handler: async (req) => {
        await signing.detach(req.params.FunctionName ?? '');
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: PROFILES,
      handler: async (req) => json(201, await profiles.create(parse(CreateProfileBody, jsonBody(req)).profileName)),
    },
    { method: 'GET', pattern: PROFILES, handler: async () => json(200, { profiles: await profiles.list() }) },
    { method: 'GET', pattern: `${PROFILES}/{name}`, handler: async (req) => json(200, await profiles.get(name(req))) },
    { method: 'POST', pattern: `${PROFILES}/{name}/revoke`, handler: async (req) => json(200, await profiles.revoke(name(req))) },
    {
      method: 'POST',
      pattern: `${PROFILES}/{name}/sign`,
      handler: async (req) => json(200, await profiles.sign(name(req), parse(SignBody, jsonBody(req)).digest)),
    },
  ];
}

function arn(req: ApiRequest): string {
  return req.params.CodeSigningConfigArn ?? '';
}

function name(req: ApiRequest): string {
  const n = req.params.name;
  if (!n) throw new KumoError('ValidationException', 'A signing profile name is required.');
  return n;
}
