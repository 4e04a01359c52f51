import { z } from 'zod';
import { KumoError } from '../../errors/index.js';
import { lambdaTimestamp } from '../../functions/index.js';
import type { LayerService } from '../../layers/index.js';
import type { LayerVersionRecord } from '../../store/index.js';
import type { CodeLinks } from '../code-links.js';
import { json, jsonBody, type ApiRequest, type Route } from '../http.js';
import { parse } from '../schemas.js';
import { zipFrom } from './functions.js';

const str = z.string();

const PublishLayerVersionBody = z.object({
  Description: str.optional(),
  Content: z.object({
    ZipFile: str.optional(),
    S3Bucket: str.optional(),
    S3Key: str.optional(),
    S3ObjectVersion: str.optional(),
  }),
  CompatibleRuntimes: z.array(str).optional(),
  CompatibleArchitectures: z.array(str).optional(),
  LicenseInfo: str.optional(),
});

const AddLayerVersionPermissionBody = z.object({
  StatementId: str,
  Action: str,
  Principal: str,
  OrganizationId: str.optional(),
});

const LAYERS = '/2018-10-31/layers';
const VERSION = `${LAYERS}/{LayerName}/versions/{VersionNumber}`;

/** Lambda's layer operations: PublishLayerVersion, Get/List/Delete, and layer version policies. */
export function layerRoutes(layers: LayerService, links: CodeLinks): Route[] {
  /** A layer version as GetLayerVersion and PublishLayerVersion return it. */
  const full = (req: ApiRequest, v: LayerVersionRecord): Record<string, unknown> => ({
    Content: {
      Location: links.url(req.origin, v.codeSha256Hex),
      CodeSha256: Buffer.from(v.codeSha256Hex, 'hex').toString('base64'),
      CodeSize: v.codeSize,
    },
    LayerArn: layers.arn(v.layerName),
    ...listItem(v),
  });
  /** A layer version as the listings show it (LayerVersionsListItem). */
  const listItem = (v: LayerVersionRecord): Record<string, unknown> => ({
    LayerVersionArn: layers.versionArn(v.layerName, v.version),
    Version: v.version,
    Description: v.description,
    CreatedDate: lambdaTimestamp(v.createdAt),
    ...(v.compatibleRuntimes === undefined ? {} : { CompatibleRuntimes: v.compatibleRuntimes }),
    ...(v.licenseInfo === undefined ? {} : { LicenseInfo: v.licenseInfo }),
    ...(v.compatibleArchitectures === undefined ? {} : { CompatibleArchitectures: v.compatibleArchitectures }),
  });
  return [
    {
      method: 'POST',
      pattern: `${LAYERS}/{LayerName}/versions`,
      tooLarge: () =>
        new KumoError(
          'RequestEntityTooLargeException',
          'Request must be smaller than 70167211 bytes for the PublishLayerVersion operation',
        ),
      handler: async (req) => {
        const body = parse(PublishLayerVersionBody, jsonBody(req));
        const record = await layers.publish({ ...body, LayerName: req.params.LayerName ?? '', zip: zipFrom(body.Content) });
        return json(201, full(req, record));
      },
    },
    {
      method: 'GET',
      pattern: LAYERS,
      handler: async (req) => {
        if (req.query.get('find') === 'LayerVersion') return json(200, full(req, await layers.getByArn(req.query.get('Arn') ?? '')));
        const page = await layers.list(listQuery(req));
        return json(200, {
          ...(page.nextMarker ? { NextMarker: page.nextMarker } : {}),
          Layers: page.layers.map((l) => ({ LayerName: l.name, LayerArn: layers.arn(l.name), LatestMatchingVersion: listItem(l.latest) })),
        });
      },
    },
    {
      method: 'GET',
      pattern: `${LAYERS}/{LayerName}/versions`,
      handler: async (req) => {
        const page = await layers.listVersions(req.params.LayerName ?? '', listQuery(req));
        return json(200, { ...(page.nextMarker ? { NextMarker: page.nextMarker } : {}), LayerVersions: page.versions.map(listItem) });
      },
    },
    {
      method: 'GET',
      pattern: VERSION,
      handler: async (req) => json(200, full(req, await layers.get(req.params.LayerName ?? '', req.params.VersionNumber ?? ''))),
    },
    {
      method: 'DELETE',
      pattern: VERSION,
      handler: async (req) => {
        await layers.delete(req.params.LayerName ?? '', req.params.VersionNumber ?? '');
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: `${VERSION}/policy`,
      handler: async (req) => {
        const body = parse(AddLayerVersionPermissionBody, jsonBody(req));
        const added = await layers.addPermission(
          req.params.LayerName ?? '',
          req.params.VersionNumber ?? '',
          body,
          req.query.get('RevisionId') ?? undefined,
        );
        return json(201, { Statement: added.statement, RevisionId: added.revisionId });
      },
    },
    {
      method: 'GET',
      pattern: `${VERSION}/policy`,
      handler: async (req) => {
        const { policy, revisionId } = await layers.getPolicy(req.params.LayerName ?? '', req.params.VersionNumber ?? '');
        return json(200, { Policy: policy, RevisionId: revisionId });
      },
    },
    {
      method: 'DELETE',
      pattern: `${VERSION}/policy/{StatementId}`,
      handler: async (req) => {
        await layers.removePermission(
          req.params.LayerName ?? '',
          req.params.VersionNumber ?? '',
          req.params.StatementId ?? '',
          req.query.get('RevisionId') ?? undefined,
        );
        return { status: 204 };
      },
    },
  ];
}

function listQuery(req: ApiRequest): { compatibleRuntime?: string; compatibleArchitecture?: string; marker?: string; maxItems?: number } {
  const maxItems = req.query.get('MaxItems');
  return {
    ...optional('compatibleRuntime', req.query.get('CompatibleRuntime')),
    ...optional('compatibleArchitecture', req.query.get('CompatibleArchitecture')),
    ...optional('marker', req.query.get('Marker')),
    ...(maxItems === null ? {} : { maxItems: Number(maxItems) }),
  };
}

function optional<K extends string>(key: K, value: string | null): Partial<Record<K, string>> {
  return value === null ? {} : ({ [key]: value } as Record<K, string>);
}
