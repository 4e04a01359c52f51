import crypto from 'node:crypto';
import { KumoError } from '../errors/index.js';
import { pageOf, pageSize, readMarker, type FunctionService } from '../functions/index.js';
import type { FunctionUrlRecord, UrlCors, UrlRepo } from '../store/index.js';
import { allowsPublicUrlAccess } from './access.js';
import { ServedUrlCache, type ServedUrl } from './cache.js';
import { checkAuthType, checkCors, checkInvokeMode, checkUrlQualifier, type UrlSettingsInput } from './settings.js';

/** FunctionUrlConfig as Lambda renders it. */
export interface FunctionUrlConfigView {
  FunctionUrl: string;
  FunctionArn: string;
  AuthType: string;
  Cors?: UrlCors;
  CreationTime: string;
  LastModifiedTime?: string;
  InvokeMode: string;
}

/**
 * Where the AuthType NONE check reads a function's or alias's resource policy, and hears that one
 * changed (FunctionPolicies): `watch`'s watcher is called after each change, before it answers.
 */
export interface UrlPolicies {
  statements(functionName: string, qualifier: string): Promise<ReadonlyArray<Record<string, unknown>> | undefined>;
  watch(watcher: (functionName: string) => void): void;
}

const URL_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const URL_ID_LENGTH = 32;

/**
 * Function URLs' configurations: CreateFunctionUrlConfig, GetFunctionUrlConfig,
 * UpdateFunctionUrlConfig, DeleteFunctionUrlConfig, ListFunctionUrlConfigs. A URL belongs to a
 * function's `$LATEST` (no qualifier) or to one of its aliases, never to a version; it goes when
 * they go (the store's delete triggers). What serving needs is kept in memory (`serving`): this
 * class's writes, policy changes and the function service's changes (a function, version or
 * alias deleted) drop it.
 */
export class FunctionUrls {
  private readonly served = new ServedUrlCache((urlId) => this.load(urlId));

  constructor(
    private readonly deps: {
      functions: FunctionService;
      repo: UrlRepo;
      policies: UrlPolicies;
      region: string;
      now?: () => number;
    },
  ) {
    deps.functions.watch((name) => this.served.forget(name));
    deps.policies.watch((name) => this.served.forget(name));
  }

  async create(functionName: string, qualifier: string | undefined, input: UrlSettingsInput): Promise<FunctionUrlRecord> {
    const target = this.target(functionName, qualifier);
    const authType = checkAuthType(input.AuthType, true) ?? 'NONE';
    const invokeMode = checkInvokeMode(input.InvokeMode) ?? 'BUFFERED';
    const cors = checkCors(input.Cors);
    await this.requireFunction(target.name, 'Function does not exist');
    const existing = await this.deps.repo.get(target.name, target.qualifier);
    if (existing) {
      throw new KumoError(
        'ResourceConflictException',
        `Failed to create function url config for [functionArn = ${this.functionArn(existing)}]. Error message:  FunctionUrlConfig exists for this Lambda function`,
      );
    }
    await this.requireAlias(target.name, target.qualifier);
    const now = this.now();
    const record: FunctionUrlRecord = {
      urlId: newUrlId(),
      functionName: target.name,
      qualifier: target.qualifier,
      authType,
      invokeMode,
      cors,
      createdAt: now,
      lastModified: now,
    };
    const created = await this.deps.repo.create(record);
    this.served.forget(target.name);
    if (!created) {
      // A concurrent create of the same URL won, or the function or alias went meanwhile.
      return this.create(functionName, qualifier, input);
    }
    return record;
  }

  async get(functionName: string, qualifier: string | undefined): Promise<FunctionUrlRecord> {
    const target = this.target(functionName, qualifier);
    await this.requireFunction(target.name, NOT_FOUND);
    const record = await this.deps.repo.get(target.name, target.qualifier);
    if (!record) throw new KumoError('ResourceNotFoundException', NOT_FOUND);
    return record;
  }

  async update(functionName: string, qualifier: string | undefined, input: UrlSettingsInput): Promise<FunctionUrlRecord> {
    const target = this.target(functionName, qualifier);
    const authType = checkAuthType(input.AuthType, false);
    const invokeMode = checkInvokeMode(input.InvokeMode);
    const cors = checkCors(input.Cors);
    await this.requireFunction(target.name, 'Function does not exist');
    await this.requireAlias(target.name, target.qualifier);
    const current = await this.deps.repo.get(target.name, target.qualifier);
    if (!current) throw new KumoError('ResourceNotFoundException', NOT_FOUND);
    const next: FunctionUrlRecord = {
      ...current,
      authType: authType ?? current.authType,
      invokeMode: invokeMode ?? current.invokeMode,
      cors: cors ?? current.cors,
      lastModified: Math.max(this.now(), current.lastModified),
    };
    const updated = await this.deps.repo.update(next);
    this.served.forget(target.name);
    if (!updated) throw new KumoError('ResourceNotFoundException', NOT_FOUND);
    return next;
  }

  async delete(functionName: string, qualifier: string | undefined): Promise<void> {
    const target = this.target(functionName, qualifier);
    await this.requireFunction(target.name, NOT_FOUND);
    const deleted = await this.deps.repo.delete(target.name, target.qualifier);
    this.served.forget(target.name);
    if (!deleted) throw new KumoError('ResourceNotFoundException', NOT_FOUND);
  }

  /** ListFunctionUrlConfigs: the function's URLs ($LATEST's and its aliases'), oldest first, 50 a page at most. */
  async list(
    functionName: string,
    marker: string | undefined,
    maxItems: number | undefined,
  ): Promise<{ urls: FunctionUrlRecord[]; nextMarker: string | undefined }> {
    const limit = pageSize(maxItems, 50);
    const name = this.deps.functions.ref(functionName).name;
    await this.requireFunction(name, 'Function does not exist');
    const all = await this.deps.repo.list(name);
    const after = readMarker(marker, /^[a-z0-9]{1,64}$/);
    const start = after === undefined ? 0 : all.findIndex((u) => u.urlId === after) + 1;
    if (after !== undefined && start === 0) throw new KumoError('InvalidParameterValueException', 'Invalid marker');
    const { page, nextMarker } = pageOf(all.slice(start), limit, (u) => u.urlId);
    return { urls: page, nextMarker };
  }

  /** The URL with this id and whether anyone may invoke through it, for serving (from memory once warm). */
  serving(urlId: string): Promise<ServedUrl | undefined> {
    return this.served.get(urlId);
  }

  private async load(urlId: string): Promise<ServedUrl | undefined> {
    const url = await this.deps.repo.byId(urlId);
    if (!url) return undefined;
    if (url.authType !== 'NONE') return { url, publicAccess: false };
    const policy = await this.deps.policies.statements(url.functionName, url.qualifier);
    return { url, publicAccess: allowsPublicUrlAccess(policy, this.functionArn(url), url.authType) };
  }

  /** `http://<url-id>.lambda-url.<region>.localhost:<port>/`: the port is the one the caller reached Kumo on. */
  functionUrl(record: FunctionUrlRecord, port: string): string {
    return `http://${this.domain(record.urlId)}${port === '' ? '' : `:${port}`}/`;
  }

  /** The URL's host name, without a port. */
  domain(urlId: string): string {
    return `${urlId}.lambda-url.${this.deps.region}.localhost`;
  }

  /** The ARN of what the URL invokes: the function, or its alias. */
  functionArn(record: FunctionUrlRecord): string {
    return this.deps.functions.arn(record.functionName, record.qualifier === '$LATEST' ? undefined : record.qualifier);
  }

  /** FunctionUrlConfig as Lambda renders it; Create's answer has no LastModifiedTime. */
  view(record: FunctionUrlRecord, port: string, withLastModified = true): FunctionUrlConfigView {
    const out: FunctionUrlConfigView = {
      FunctionUrl: this.functionUrl(record, port),
      FunctionArn: this.functionArn(record),
      AuthType: record.authType,
      ...(record.cors ? { Cors: record.cors } : {}),
      CreationTime: urlTimestamp(record.createdAt),
      ...(withLastModified ? { LastModifiedTime: urlTimestamp(record.lastModified) } : {}),
      InvokeMode: record.invokeMode,
    };
    return out;
  }

  private target(functionName: string, qualifier: string | undefined): { name: string; qualifier: string } {
    checkUrlQualifier(qualifier); // before the general check in ref(): a URL's qualifier has its own pattern
    const ref = this.deps.functions.ref(functionName, qualifier);
    checkUrlQualifier(ref.qualifier);
    return { name: ref.name, qualifier: ref.qualifier ?? '$LATEST' };
  }

  private async requireFunction(name: string, message: string): Promise<void> {
    try {
      await this.deps.functions.get(name);
    } catch (err) {
      if (err instanceof KumoError && err.code === 'ResourceNotFoundException') throw new KumoError('ResourceNotFoundException', message);
      throw err;
    }
  }

  private async requireAlias(name: string, qualifier: string): Promise<void> {
    if (qualifier === '$LATEST') return;
    if (!(await this.deps.functions.alias(name, qualifier))) throw new KumoError('ResourceNotFoundException', 'Function does not exist');
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

const NOT_FOUND = 'The resource you requested does not exist.';

/** 32 lowercase alphanumerics, uniformly drawn (rejection sampling keeps the draw unbiased). */
export function newUrlId(): string {
  let id = '';
  while (id.length < URL_ID_LENGTH) {
    for (const byte of crypto.randomBytes(URL_ID_LENGTH)) {
      if (byte < 252 && id.length < URL_ID_LENGTH) id += URL_ID_ALPHABET[byte % 36];
    }
  }
  return id;
}

/** Function URL timestamps: ISO-8601 with microseconds, `2021-10-27T20:46:34.207000Z`. */
export function urlTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}
