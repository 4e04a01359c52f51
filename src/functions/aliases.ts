import crypto from 'node:crypto';
import { KumoError, invalidParameter, validationError, updateInProgress } from '../errors/index.js';
import type { AliasRecord, AliasRepo } from '../store/index.js';
import { QUALIFIER_KEY, pageOf, pageSize, readMarker } from './paging.js';
import { checkRevision, isAliasName, type FunctionService } from './service.js';

/** CreateAlias / UpdateAlias parameters, shape-checked at the edge. */
export interface AliasInput {
  FunctionVersion?: string | undefined;
  Description?: string | undefined;
  RoutingConfig?: { AdditionalVersionWeights?: Record<string, number> | undefined } | undefined;
}

const ALIAS_PATTERN = '(?!^[0-9]+$)([a-zA-Z0-9-_]+)';
const VERSION_RE = /^(\$LATEST|[0-9]+)$/;

/**
 * Function aliases: CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases. An alias points
 * at a version and may send a share of invocations to one more (RoutingConfig); FunctionService
 * resolves alias qualifiers when it reads or invokes.
 */
export class FunctionAliases {
  constructor(
    private readonly functions: FunctionService,
    private readonly repo: AliasRepo,
  ) {}

  async create(functionName: string, name: string, input: AliasInput): Promise<AliasRecord> {
    const fn = await this.functions.get(this.functions.ref(functionName).name);
    checkAliasName(name);
    const version = input.FunctionVersion;
    if (version === undefined) throw validationError('functionVersion', null, 'Member must not be null');
    const record: AliasRecord = {
      functionName: fn.name,
      name,
      functionVersion: version,
      description: input.Description ?? '',
      additionalVersionWeights: {},
      revisionId: crypto.randomUUID(),
    };
    await this.check(record, input);
    if (!(await this.repo.create(record))) {
      throw new KumoError('ResourceConflictException', `Alias already exists: ${this.functions.arn(fn.name, name)}`);
    }
    return record;
  }

  async get(functionName: string, name: string): Promise<AliasRecord> {
    const fn = await this.functions.get(this.functions.ref(functionName).name);
    const alias = await this.repo.get(fn.name, name);
    if (!alias) throw this.notFound(fn.name, name);
    return alias;
  }

  async update(functionName: string, name: string, input: AliasInput & { RevisionId?: string | undefined }): Promise<AliasRecord> {
    const current = await this.get(functionName, name);
    checkRevision(current, input.RevisionId);
    const next: AliasRecord = {
      ...current,
      functionVersion: input.FunctionVersion ?? current.functionVersion,
      description: input.Description ?? current.description,
      revisionId: crypto.randomUUID(),
    };
    if (input.RoutingConfig === undefined) {
      await this.check(next, { RoutingConfig: { AdditionalVersionWeights: current.additionalVersionWeights } });
    } else {
      await this.check(next, input);
    }
    const replaced = await this.repo.replace(next, current.revisionId);
    // After the write: a read that raced it must not leave the old alias cached (see `alias`).
    this.functions.forgetAliases(current.functionName, name);
    if (!replaced) throw updateInProgress(this.functions.arn(current.functionName, name));
    this.functions.changed(current.functionName);
    return next;
  }

  /** DeleteAlias answers 204 whether or not the alias existed (the function must exist). */
  async delete(functionName: string, name: string): Promise<void> {
    const fn = await this.functions.get(this.functions.ref(functionName).name);
    const deleted = await this.repo.delete(fn.name, name);
    this.functions.forgetAliases(fn.name, name);
    if (deleted) this.functions.changed(fn.name);
  }

  async list(
    functionName: string,
    functionVersion: string | undefined,
    marker: string | undefined,
    maxItems: number | undefined,
  ): Promise<{ aliases: AliasRecord[]; nextMarker: string | undefined }> {
    const limit = pageSize(maxItems);
    const fn = await this.functions.get(this.functions.ref(functionName).name);
    const after = readMarker(marker, QUALIFIER_KEY);
    const all = (await this.repo.list(fn.name)).filter(
      (a) => (functionVersion === undefined || a.functionVersion === functionVersion) && (after === undefined || a.name > after),
    );
    const { page, nextMarker } = pageOf(all, limit, (a) => a.name);
    return { aliases: page, nextMarker };
  }

  /** AliasConfiguration, as Lambda renders it. */
  view(alias: AliasRecord): Record<string, unknown> {
    const out: Record<string, unknown> = {
      AliasArn: this.functions.arn(alias.functionName, alias.name),
      Name: alias.name,
      FunctionVersion: alias.functionVersion,
      Description: alias.description,
    };
    if (Object.keys(alias.additionalVersionWeights).length > 0) {
      out.RoutingConfig = { AdditionalVersionWeights: { ...alias.additionalVersionWeights } };
    }
    out.RevisionId = alias.revisionId;
    return out;
  }

  /** Checks the target version and the routing configuration, setting `record`'s weights. */
  private async check(record: AliasRecord, input: AliasInput): Promise<void> {
    const version = record.functionVersion;
    if (version.length > 1024 || !VERSION_RE.test(version)) {
      throw validationError('functionVersion', version, 'Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)');
    }
    await this.functions.get(record.functionName, version);
    const weights = input.RoutingConfig?.AdditionalVersionWeights ?? {};
    const entries = Object.entries(weights);
    if (entries.length > 1) throw invalidParameter('Number of items in AdditionalVersionWeights cannot be greater than 1');
    for (const [key, weight] of entries) {
      const shown = `{${key}=${Number.isInteger(weight) ? weight.toFixed(1) : String(weight)}}`;
      if (!(weight >= 0 && weight <= 1)) {
        throw validationError(
          'routingConfig.additionalVersionWeights',
          shown,
          'Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]',
        );
      }
      if (key === version) {
        throw invalidParameter(
          `Invalid function version ${version}. Function version ${version} is already included in routing configuration.`,
        );
      }
      if (version === '$LATEST') throw invalidParameter('$LATEST is not supported for an alias pointing to more than 1 version');
      if (!/^[0-9]+$/.test(key)) {
        throw validationError(
          'routingConfig.additionalVersionWeights',
          shown,
          'Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+, Member must not be null]',
        );
      }
      await this.functions.get(record.functionName, key);
    }
    record.additionalVersionWeights = { ...weights };
  }

  private notFound(functionName: string, name: string): KumoError {
    return new KumoError('ResourceNotFoundException', `Cannot find alias arn: ${this.functions.arn(functionName, name)}`);
  }
}

function checkAliasName(name: string): void {
  if (name.length < 1 || name.length > 128) {
    throw validationError(
      'name',
      name,
      `Member must have length ${name.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 128'}`,
    );
  }
  if (!isAliasName(name) || !/^[a-zA-Z0-9-_]+$/.test(name)) {
    throw validationError('name', name, `Member must satisfy regular expression pattern: ${ALIAS_PATTERN}`);
  }
}
