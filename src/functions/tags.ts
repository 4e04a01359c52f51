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

/** TagResource, UntagResource, ListTags, and the `Tags` of GetFunction. */
export class FunctionTags {
  constructor(
    private readonly functions: FunctionService,
    private readonly repo: TagRepo,
  ) {}

  async list(resource: string): Promise<Record<string, string>> {
    const name = await this.resolve(resource);
    return this.repo.get(name);
  }

  /** The tags of a function known to exist (GetFunction). */
  of(name: string): Promise<Record<string, string>> {
    return this.repo.get(name);
  }

  async tag(resource: string, tags: Record<string, string>): Promise<void> {
    if (Object.keys(tags).length === 0) throw invalidParameter('An error occurred and the request cannot be processed.');
    const name = await this.resolve(resource);
    await this.functions.revise({ name, qualifier: undefined }, async (current, next) => {
      const existing = await this.repo.get(name);
      return this.repo.set(name, checkTags(tags, existing), { expected: current.revisionId, next });
    });
  }

  async untag(resource: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) {
      throw new KumoError(
        'ValidationException',
        "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
      );
    }
    const name = await this.resolve(resource);
    await this.functions.revise({ name, qualifier: undefined }, async (current, next) => {
      const tags = await this.repo.get(name);
      for (const key of keys) delete tags[key];
      return this.repo.set(name, tags, { expected: current.revisionId, next });
    });
  }

  /** The name of the function `resource` names; Lambda's errors for anything else. */
  private async resolve(resource: string): Promise<string> {
    if (!TAGGABLE_ARN_RE.test(resource)) {
      throw new KumoError(
        'ValidationException',
        `1 validation error detected: Value '${resource}' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: ${TAGGABLE_ARN_PATTERN}`,
      );
    }
    if (!/:function:/.test(resource)) throw new KumoError('ResourceNotFoundException', 'The resource you requested does not exist.');
    const ref = this.functions.ref(resource);
    if (ref.qualifier !== undefined) {
      throw invalidParameter('Tags on function aliases and versions are not supported. Please specify a function ARN.');
    }
    return (await this.functions.get(ref.name)).name;
  }
}
