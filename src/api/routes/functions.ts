import fs from 'node:fs';
import type { CodeStore } from '../../code/index.js';
import { KumoError, invalidParameter } from '../../errors/index.js';
import { isAliasName, toFunctionConfiguration, type FunctionService, type FunctionTags } from '../../functions/index.js';
import type { CodeLinks } from '../code-links.js';
import { json, jsonBody, type ApiRequest, type Route } from '../http.js';
import { CreateFunctionBody, PublishVersionBody, UpdateFunctionCodeBody, UpdateFunctionConfigurationBody, parse } from '../schemas.js';

const FN = '/2015-03-31/functions/{FunctionName}';

/** Lambda's function control plane: create, read, list, update, delete. */
export function functionRoutes(functions: FunctionService, code: CodeStore, links: CodeLinks, tags: FunctionTags): Route[] {
  const p = functions.partition;
  return [
    {
      method: 'POST',
      pattern: '/2015-03-31/functions',
      tooLarge: () =>
        new KumoError('RequestEntityTooLargeException', 'Request must be smaller than 70167211 bytes for the CreateFunction operation'),
      handler: async (req) => {
        const body = parse(CreateFunctionBody, jsonBody(req));
        const record = await functions.create({ ...body, zip: zipFrom(body.Code) });
        return json(201, toFunctionConfiguration(p, record, 'create'));
      },
    },
    {
      method: 'GET',
      pattern: '/2015-03-31/functions',
      handler: async (req) => {
        const version = req.query.get('FunctionVersion');
        if (version !== null && version !== 'ALL') {
          throw new KumoError(
            'ValidationException',
            `1 validation error detected: Value '${version}' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]`,
          );
        }
        const maxItems = req.query.get('MaxItems');
        const page = await functions.list(
          req.query.get('Marker') ?? undefined,
          maxItems === null ? undefined : Number(maxItems),
          version === 'ALL',
        );
        const out: Record<string, unknown> = { Functions: page.functions.map((f) => toFunctionConfiguration(p, f, 'list')) };
        if (page.nextMarker) out.NextMarker = page.nextMarker;
        return json(200, out);
      },
    },
    {
      method: 'GET',
      pattern: FN,
      handler: async (req) => {
        const record = await functions.get(req.params.FunctionName ?? '', qualifier(req));
        const reserved = await functions.getConcurrency(record.name);
        const tagged = await tags.of(record.name);
        return json(200, {
          Configuration: toFunctionConfiguration(p, record, 'get', aliasOf(functions, req)),
          Code: { RepositoryType: 'S3', Location: links.url(req.origin, record.codeSha256Hex) },
          ...(Object.keys(tagged).length === 0 ? {} : { Tags: tagged }),
          ...(reserved === undefined ? {} : { Concurrency: { ReservedConcurrentExecutions: reserved } }),
        });
      },
    },
    {
      method: 'GET',
      pattern: `${FN}/configuration`,
      handler: async (req) =>
        json(
          200,
          toFunctionConfiguration(p, await functions.get(req.params.FunctionName ?? '', qualifier(req)), 'get', aliasOf(functions, req)),
        ),
    },
    {
      method: 'PUT',
      pattern: `${FN}/configuration`,
      handler: async (req) => {
        const body = parse(UpdateFunctionConfigurationBody, jsonBody(req));
        const record = await functions.updateConfiguration(req.params.FunctionName ?? '', body);
        return json(200, toFunctionConfiguration(p, record, 'update'));
      },
    },
    {
      method: 'PUT',
      pattern: `${FN}/code`,
      tooLarge: () =>
        new KumoError('RequestEntityTooLargeException', 'Request must be smaller than 70167211 bytes for the UpdateFunctionCode operation'),
      handler: async (req) => {
        const body = parse(UpdateFunctionCodeBody, jsonBody(req));
        const record = await functions.updateCode(req.params.FunctionName ?? '', {
          zip: zipFrom(body),
          RevisionId: body.RevisionId,
          Publish: body.Publish,
        });
        return json(200, toFunctionConfiguration(p, record, 'update'));
      },
    },
    {
      method: 'POST',
      pattern: `${FN}/versions`,
      handler: async (req) => {
        const body = parse(PublishVersionBody, jsonBody(req));
        const record = await functions.publishVersion(req.params.FunctionName ?? '', body);
        return json(201, toFunctionConfiguration(p, record, 'get'));
      },
    },
    {
      method: 'GET',
      pattern: `${FN}/versions`,
      handler: async (req) => {
        const maxItems = req.query.get('MaxItems');
        const page = await functions.listVersions(
          req.params.FunctionName ?? '',
          req.query.get('Marker') ?? undefined,
          maxItems === null ? undefined : Number(maxItems),
        );
        const out: Record<string, unknown> = { Versions: page.versions.map((f) => toFunctionConfiguration(p, f, 'list')) };
        if (page.nextMarker) out.NextMarker = page.nextMarker;
        return json(200, out);
      },
    },
    {
      method: 'DELETE',
      pattern: FN,
      handler: async (req) => {
        await functions.delete(req.params.FunctionName ?? '', qualifier(req));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/_kumo/code/{file}',
      handler: (req) => {
        const sha = /^([0-9a-f]{64})\.zip$/.exec(req.params.file ?? '')?.[1];
        if (!sha || !links.verify(sha, req.query.get('Expires'), req.query.get('Signature')) || !code.has(sha)) {
          return {
            status: 403,
            headers: { 'Content-Type': 'application/xml' },
            body: Buffer.from(
              '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired or the signature does not match</Message></Error>',
            ),
          };
        }
        return { status: 200, headers: { 'Content-Type': 'application/zip' }, body: fs.readFileSync(code.zipPath(sha)) };
      },
    },
  ];
}

function qualifier(req: ApiRequest): string | undefined {
  return req.query.get('Qualifier') ?? undefined;
}

/** The alias a read names (by `Qualifier` or in the function's ARN), if it names one. */
function aliasOf(functions: FunctionService, req: ApiRequest): string | undefined {
  const ref = functions.ref(req.params.FunctionName ?? '', qualifier(req));
  return isAliasName(ref.qualifier) ? ref.qualifier : undefined;
}

export function zipFrom(codeInput: { ZipFile?: string | undefined; S3Bucket?: string | undefined; ImageUri?: string | undefined }): Buffer {
  if (codeInput.ImageUri !== undefined)
    throw invalidParameter('Kumo runs .zip deployment packages; container images (ImageUri) are not supported.');
  if (codeInput.S3Bucket !== undefined)
    throw invalidParameter('Code from S3 (S3Bucket/S3Key) is not supported by this Kumo version yet; pass ZipFile.');
  if (codeInput.ZipFile === undefined) throw invalidParameter('Please provide a source for function code.');
  return Buffer.from(codeInput.ZipFile, 'base64');
}
