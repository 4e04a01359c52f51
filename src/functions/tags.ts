import { KumoError, invalidParameter } from '../errors/index.js';
import type { TagRepo } from '../store/index.js';
import type { FunctionService } from './service.js';

/** Lambda's limit of tags per resource. */
export const MAX_TAGS = 50;

/**
 * What TagResource, UntagResource and ListTags accept as `Resource` (Lambda's own pattern, quoted
 * in its error): functions, layers, code signing configs and event source mappings. Kumo tags
 * functions; the other kinds are well-formed but name nothing Kumo has.
 */
const TAGGABLE_ARN_PATTERN =
  'arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})';
const TAGGABLE_ARN_RE = new RegExp(`^${TAGGABLE_ARN_PATTERN}$`);

/**
 * Checks tags to add against Lambda's rules and returns the function's tags with them applied:
 * keys of 1-128 characters not starting with `aws:`, values of at most 256, at most 50 in all.
 */
export function checkTags(add: Record<string, string>, existing: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(add)) {
    if (key.length < 1 || key.length > 128) {
      throw tagsConstraint(
        add,
        'Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]',
      );
    }
    if (value.length > 256) {
      throw tagsConstraint(
        add,
        'Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0]',
      );
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw invalidParameter(`Invalid tag key: ${key}. Tag keys that start with 'aws:' are reserved for AWS use.`);
    }
  }
  const merged = { ...existing, ...add };
  if (Object.keys(merged).length > MAX_TAGS) throw invalidParameter('Number of tags exceeds resource tag limit.');
  return merged;
}

/** AWS's validation message for the `tags` map, which it prints in Java's `{k=v, ...}` form. */
function tagsConstraint(tags: Record<string, string>, constraint: string): KumoError {
  const shown = `{${Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}}`;
  return new KumoError(
    'ValidationException',
    `1 validation error detected: Value '${shown}' at 'tags' failed to satisfy constraint: ${constraint}`,
  );
}

/**
 * Finds a taggable resource other than a function (a code signing configuration) by its ARN and
 * returns the key its tags are stored under; throws Lambda's not-found error when it does not exist.
 */
export type TaggableResolver = (arn: string) => Promise<string>;

/**
 * TagResource, UntagResource, ListTags, and the `Tags` of GetFunction. Functions' tags are keyed
 * by the function name; other resources (registered with `registerTaggable`) by keys containing a
 * `:`, which no function name has.
 */
export class FunctionTags {
  private readonly others = new Map<string, TaggableResolver>();

  constructor(
    private readonly functions: FunctionService,
    private readonly repo: TagRepo,
  ) {}

  /** Lets another subsystem's resources be tagged, e.g. `code-signing-config`. */
  registerTaggable(kind: string, resolve: TaggableResolver): void {
    this.others.set(kind, resolve);
  }

  async list(resource: string): Promise<Record<string, string>> {
    const target = await this.resolve(resource);
    return this.repo.get(target.key);
  }

  /** The tags of a function known to exist (GetFunction). */
  of(name: string): Promise<Record<string, string>> {
    return this.repo.get(name);
  }

  async tag(resource: string, tags: Record<string, string>): Promise<void> {
    if (Object.keys(tags).length === 0) throw invalidParameter('An error occurred and the request cannot be processed.');
    const target = await this.resolve(resource);
    await this.change(target, (existing) => checkTags(tags, existing));
  }

  async untag(resource: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) {
      throw new KumoError(
        'ValidationException',
        "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
      );
    }
    const target = await this.resolve(resource);
    await this.change(target, (tags) => {
      for (const key of keys) delete tags[key];
      return tags;
    });
  }

  /** Applies `edit` to the stored tags; a function's change also gives `$LATEST` a new RevisionId. */
  private async change(
    target: { key: string; fn: boolean },
    edit: (tags: Record<string, string>) => Record<string, string>,
  ): Promise<void> {
    if (!target.fn) {
      await this.repo.set(target.key, edit(await this.repo.get(target.key)));
      return;
    }
    await this.functions.revise({ name: target.key, qualifier: undefined }, async (current, next) =>
      this.repo.set(target.key, edit(await this.repo.get(target.key)), { expected: current.revisionId, next }),
    );
  }

  /** Where the tags of the resource `resource` names are kept; Lambda's errors for anything else. */
  private async resolve(resource: string): Promise<{ key: string; fn: boolean }> {
    if (!TAGGABLE_ARN_RE.test(resource)) {
      throw new KumoError(
        'ValidationException',
        `1 validation error detected: Value '${resource}' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: ${TAGGABLE_ARN_PATTERN}`,
      );
    }
    const kind = /^arn:[^:]*:lambda:[^:]*:\d{12}:([a-z-]+):/.exec(resource)?.[1] ?? '';
    if (kind !== 'function') {
      const other = this.others.get(kind);
      if (!other) throw new KumoError('ResourceNotFoundException', 'The resource you requested does not exist.');
      return { key: await other(resource), fn: false };
    }
    const ref = this.functions.ref(resource);
    if (ref.qualifier !== undefined) {
      throw invalidParameter('Tags on function aliases and versions are not supported. Please specify a function ARN.');
    }
    return { key: (await this.functions.get(ref.name)).name, fn: true };
  }
}
