import type { FunctionUrlRecord } from '../store/index.js';

/** What serving a function URL request needs to know before it invokes: the URL, and its access. */
export interface ServedUrl {
  url: FunctionUrlRecord;
  /** AuthType NONE and the resource policy lets anyone invoke through the URL; false for AWS_IAM. */
  publicAccess: boolean;
}

/**
 * Function URLs as the gateway serves them, kept in memory so that a warm URL request reads
 * nothing from the store. Everything that can change what an entry says (the URL's settings, the
 * policy of its function or alias, the function or alias going) calls `forget` with the
 * function's name once it has written and before its API call answers, so a request that comes
 * after that answer is served from the store again.
 *
 * A load that began before a `forget` is not kept: the write it raced may have landed after its
 * read. Only URLs that exist are kept, so the cache holds at most one entry per stored URL.
 */
export class ServedUrlCache {
  private readonly entries = new Map<string, ServedUrl>();
  /** Moves on at every `forget`: what a load read before it may be out of date. */
  private generation = 0;

  constructor(private readonly load: (urlId: string) => Promise<ServedUrl | undefined>) {}

  async get(urlId: string): Promise<ServedUrl | undefined> {
    const cached = this.entries.get(urlId);
    if (cached) return cached;
    const generation = this.generation;
    const served = await this.load(urlId);
    if (served && generation === this.generation) this.entries.set(urlId, served);
    return served;
  }

  /** Drops every URL of `functionName`. */
  forget(functionName: string): void {
    this.generation++;
    for (const [urlId, served] of this.entries) if (served.url.functionName === functionName) this.entries.delete(urlId);
  }
}
