import crypto from 'node:crypto';
import { KumoError, invalidParameter, validationError, updateInProgress } from '../errors/index.js';
import {
  LAMBDA_RUNTIME_ENUM,
  checkPolicySize,
  checkStatementIdFree,
  pageOf,
  pageSize,
  policyDocument,
  readMarker,
  type FunctionService,
  type LayerResolver,
  type Partition,
} from '../functions/index.js';
import type { LayerAttachment, LayerRepo, LayerVersionRecord } from '../store/index.js';
import {
  layerArn,
  layerVersionArn,
  parseFunctionLayer,
  parseLayerName,
  parseLayerVersionArn,
  parseVersionNumber,
  type LayerVersionRef,
} from './names.js';
import { buildLayerStatement, checkLayerStatementInput, type AddLayerPermissionInput } from './policy.js';

/** PublishLayerVersion's parameters, shape-checked at the edge; `zip` is Content.ZipFile decoded. */
export interface PublishLayerInput {
  LayerName: string;
  zip: Buffer;
  Description?: string | undefined;
  CompatibleRuntimes?: string[] | undefined;
  CompatibleArchitectures?: string[] | undefined;
  LicenseInfo?: string | undefined;
}

/** ListLayers / ListLayerVersions filters and paging. */
export interface LayerListQuery {
  compatibleRuntime?: string | undefined;
  compatibleArchitecture?: string | undefined;
  marker?: string | undefined;
  maxItems?: number | undefined;
}

/** A layer in ListLayers: its name and the newest version that matches the filters. */
export interface LayerListEntry {
  name: string;
  latest: LayerVersionRecord;
}

/** Lambda's limit on layers per function. */
export const MAX_LAYERS_PER_FUNCTION = 5;
const ARCHITECTURES = ['x86_64', 'arm64'] as const;

/**
 * Lambda layers: versions published from zips (kept in the code store, with the same checks as
 * function code), read, listed, deleted, and their resource-based policies. Also the resolver the
 * functions subsystem asks for the layers a configuration names.
 */
export class LayerService implements LayerResolver {
  readonly partition: Partition;

  constructor(
    private readonly repo: LayerRepo,
    private readonly functions: FunctionService,
  ) {
    this.partition = functions.partition;
  }

  arn(name: string): string {
    return layerArn(this.partition, name);
  }

  versionArn(name: string, version: number): string {
    return layerVersionArn(this.partition, name, version);
  }

  /** PublishLayerVersion: the layer's next version (1 for a new layer). */
  async publish(input: PublishLayerInput): Promise<LayerVersionRecord> {
    const { name, local } = parseLayerName(this.partition, input.LayerName);
    if (!local) throw invalidParameter(`Layers can only be published in this account and region: ${input.LayerName}`);
    const description = input.Description ?? '';
    if (description.length > 256) throw validationError('description', description, 'Member must have length less than or equal to 256');
    if (input.CompatibleRuntimes !== undefined) checkRuntimes('compatibleRuntimes', input.CompatibleRuntimes, 15);
    if (input.CompatibleArchitectures !== undefined) checkArchitectures('compatibleArchitectures', input.CompatibleArchitectures, 2);
    if (input.LicenseInfo !== undefined && input.LicenseInfo.length > 512) {
      throw validationError('licenseInfo', input.LicenseInfo, 'Member must have length less than or equal to 512');
    }
    return this.functions.storeArchive(input.zip, (code) =>
      this.repo.publish({
        layerName: name,
        description,
        compatibleRuntimes: input.CompatibleRuntimes,
        compatibleArchitectures: input.CompatibleArchitectures,
        licenseInfo: input.LicenseInfo,
        codeSha256Hex: code.sha256Hex,
        codeSize: code.size,
        codeUnzippedSize: code.unzippedSize,
        createdAt: Date.now(),
      }),
    );
  }

  /** GetLayerVersion. */
  async get(layerName: string, versionNumber: string): Promise<LayerVersionRecord> {
    const version = parseVersionNumber(versionNumber);
    const { name, local } = parseLayerName(this.partition, layerName);
    const record = local ? await this.repo.get(name, version) : undefined;
    if (!record) throw notFound();
    return record;
  }

  /** GetLayerVersionByArn. */
  async getByArn(arn: string): Promise<LayerVersionRecord> {
    const ref = parseLayerVersionArn(arn);
    const record = this.isLocal(ref) ? await this.repo.get(ref.name, ref.version) : undefined;
    if (!record) throw notFound();
    return record;
  }

  /** ListLayers: every layer with a version matching the filters, by name. */
  async list(query: LayerListQuery): Promise<{ layers: LayerListEntry[]; nextMarker: string | undefined }> {
    checkFilters(query);
    const limit = pageSize(query.maxItems, 50);
    const after = readMarker(query.marker, MARKER_KEY);
    const found: LayerListEntry[] = [];
    for (const name of await this.repo.names()) {
      if (after !== undefined && name <= after) continue;
      const latest = (await this.repo.versions(name)).find((v) => matches(v, query));
      if (latest) found.push({ name, latest });
      if (found.length > limit) break; // one past the page: more follow
    }
    const { page, nextMarker } = pageOf(found, limit, (l) => l.name);
    return { layers: page, nextMarker };
  }

  /** ListLayerVersions: a layer's versions matching the filters, newest first (none for an unknown layer). */
  async listVersions(
    layerName: string,
    query: LayerListQuery,
  ): Promise<{ versions: LayerVersionRecord[]; nextMarker: string | undefined }> {
    checkFilters(query);
    const limit = pageSize(query.maxItems, 50);
    const { name, local } = parseLayerName(this.partition, layerName);
    const marker = readMarker(query.marker, /^[0-9]{1,15}$/);
    const before = marker === undefined ? undefined : Number(marker);
    const all = (local ? await this.repo.versions(name) : []).filter(
      (v) => matches(v, query) && (before === undefined || v.version < before),
    );
    const { page, nextMarker } = pageOf(all, limit, (v) => String(v.version));
    return { versions: page, nextMarker };
  }

  /**
   * DeleteLayerVersion: idempotent, as on Lambda. Functions that use the version keep their copy of
   * its code (their configuration holds its hash, which code garbage collection keeps).
   */
  async delete(layerName: string, versionNumber: string): Promise<void> {
    const version = parseVersionNumber(versionNumber);
    const { name, local } = parseLayerName(this.partition, layerName);
    if (local && (await this.repo.delete(name, version))) await this.functions.collectCode();
  }

  /** AddLayerVersionPermission: the statement added (as Lambda's `Statement` string) and the policy's new RevisionId. */
  async addPermission(
    layerName: string,
    versionNumber: string,
    input: AddLayerPermissionInput,
    revisionId: string | undefined,
  ): Promise<{ statement: string; revisionId: string }> {
    checkLayerStatementInput(input);
    const { name, version } = await this.existing(layerName, versionNumber);
    const policy = await this.repo.policy(name, version);
    const statements = policy?.statements ?? [];
    checkStatementIdFree(statements, input.StatementId);
    checkPolicyRevision(policy?.revisionId, revisionId);
    const added = buildLayerStatement(this.versionArn(name, version), input);
    const all = [...statements, added];
    checkPolicySize(all);
    const next = crypto.randomUUID();
    if (!(await this.repo.putPolicy(name, version, all, policy?.revisionId, next))) throw updateInProgress(this.versionArn(name, version));
    return { statement: JSON.stringify(added), revisionId: next };
  }

  /** RemoveLayerVersionPermission. */
  async removePermission(layerName: string, versionNumber: string, statementId: string, revisionId: string | undefined): Promise<void> {
    const { name, version } = await this.existing(layerName, versionNumber);
    const policy = await this.repo.policy(name, version);
    checkPolicyRevision(policy?.revisionId, revisionId);
    const statements = policy?.statements ?? [];
    const kept = statements.filter((s) => s.Sid !== statementId);
    if (kept.length === statements.length) {
      throw new KumoError('ResourceNotFoundException', `Statement ${statementId} is not found in resource policy.`);
    }
    if (!(await this.repo.putPolicy(name, version, kept, policy?.revisionId, crypto.randomUUID()))) {
      throw updateInProgress(this.versionArn(name, version));
    }
  }

  /** GetLayerVersionPolicy: the policy document as a JSON string, and its RevisionId. */
  async getPolicy(layerName: string, versionNumber: string): Promise<{ policy: string; revisionId: string }> {
    const { name, version } = await this.existing(layerName, versionNumber);
    const policy = await this.repo.policy(name, version);
    if (!policy) throw new KumoError('ResourceNotFoundException', 'No policy is associated with the given resource.');
    return { policy: policyDocument(policy.statements), revisionId: policy.revisionId };
  }

  /**
   * The layer versions a function configuration names, in order, checked as Lambda checks them:
   * each ARN's form, at most five, each one existing, no layer twice.
   */
  async resolve(arns: readonly string[]): Promise<LayerAttachment[]> {
    const refs = arns.map((arn) => ({ arn, ref: parseFunctionLayer(arn) }));
    if (arns.length > MAX_LAYERS_PER_FUNCTION) throw invalidParameter(`Cannot reference more than ${MAX_LAYERS_PER_FUNCTION} layers.`);
    const seen = new Map<string, string>();
    const out: LayerAttachment[] = [];
    for (const { arn, ref } of refs) {
      if (ref && ref.region !== this.partition.region) {
        throw invalidParameter(
          `Layers are not in the same region as the function. Layers are expected to be in region ${this.partition.region}.`,
        );
      }
      const record = ref && this.isLocal(ref) ? await this.repo.get(ref.name, ref.version) : undefined;
      if (!ref || !record) throw invalidParameter(`Layer version ${arn} does not exist.`);
      const layer = arn.slice(0, arn.lastIndexOf(':'));
      const earlier = seen.get(layer);
      if (earlier !== undefined) {
        throw invalidParameter(
          `Two different versions of the same layer are not allowed to be referenced in the same function. ${earlier} and ${arn} are versions of the same layer.`,
        );
      }
      seen.set(layer, arn);
      out.push({ arn, codeSha256Hex: record.codeSha256Hex, codeSize: record.codeSize, codeUnzippedSize: record.codeUnzippedSize });
    }
    return out;
  }

  /** The layer version a LayerName and VersionNumber name, which must exist (for the policy operations). */
  private async existing(layerName: string, versionNumber: string): Promise<{ name: string; version: number }> {
    const version = parseVersionNumber(versionNumber);
    const { name, local } = parseLayerName(this.partition, layerName);
    if (!local || !(await this.repo.get(name, version))) {
      const arn = layerName.startsWith('arn:') ? `${layerName}:${version}` : this.versionArn(name, version);
      throw new KumoError('ResourceNotFoundException', `Layer version ${arn} does not exist.`);
    }
    return { name, version };
  }

  private isLocal(ref: LayerVersionRef): boolean {
    return ref.region === this.partition.region && ref.accountId === this.partition.accountId;
  }
}

function notFound(): KumoError {
  return new KumoError('ResourceNotFoundException', 'The resource you requested does not exist.');
}

function checkPolicyRevision(current: string | undefined, given: string | undefined): void {
  if (given !== undefined && given !== current) {
    throw new KumoError(
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id',
    );
  }
}

function matches(v: LayerVersionRecord, query: LayerListQuery): boolean {
  if (query.compatibleRuntime !== undefined && !(v.compatibleRuntimes ?? []).includes(query.compatibleRuntime)) return false;
  if (query.compatibleArchitecture !== undefined && !(v.compatibleArchitectures ?? []).includes(query.compatibleArchitecture)) return false;
  return true;
}

function checkFilters(query: LayerListQuery): void {
  if (query.compatibleRuntime !== undefined) checkRuntimes('compatibleRuntime', [query.compatibleRuntime], 1, query.compatibleRuntime);
  if (query.compatibleArchitecture !== undefined) {
    checkArchitectures('compatibleArchitecture', [query.compatibleArchitecture], 1, query.compatibleArchitecture);
  }
}

function checkRuntimes(field: string, runtimes: readonly string[], max: number, shown: unknown = `[${runtimes.join(', ')}]`): void {
  if (runtimes.length > max) throw validationError(field, shown, `Member must have length less than or equal to ${max}`);
  if (runtimes.some((r) => !(LAMBDA_RUNTIME_ENUM as readonly string[]).includes(r))) {
    const set = `Member must satisfy enum value set: [${LAMBDA_RUNTIME_ENUM.join(', ')}]`;
    throw validationError(field, shown, max === 1 ? set : `Member must satisfy constraint: [${set}]`);
  }
}

function checkArchitectures(
  field: string,
  architectures: readonly string[],
  max: number,
  shown: unknown = `[${architectures.join(', ')}]`,
): void {
  if (architectures.length > max) throw validationError(field, shown, `Member must have length less than or equal to ${max}`);
  if (architectures.some((a) => !(ARCHITECTURES as readonly string[]).includes(a))) {
    const set = `Member must satisfy enum value set: [${ARCHITECTURES.join(', ')}]`;
    throw validationError(field, shown, max === 1 ? set : `Member must satisfy constraint: [${set}]`);
  }
}

/** What a ListLayers marker may name: a layer name. */
const MARKER_KEY = /^[a-zA-Z0-9-_]{1,140}$/;
