import type { Route } from './http.js';

interface CompiledRoute {
  route: Route;
  segments: Array<{ literal: string } | { param: string }>;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/** Matches method + path against route patterns by segment. A trailing slash is ignored. */
export class Router {
  private readonly byMethod = new Map<string, CompiledRoute[]>();

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      const segments = split(route.pattern).map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s }));
      const list = this.byMethod.get(route.method) ?? [];
      list.push({ route, segments });
      this.byMethod.set(route.method, list);
    }
  }

  /** 'method' when the path exists under another method, undefined when it does not exist at all. */
  match(method: string, path: string): RouteMatch | 'method' | undefined {
    const parts = split(path);
    const found = this.find(this.byMethod.get(method), parts);
    if (found) return found;
    for (const [m, list] of this.byMethod) if (m !== method && this.find(list, parts)) return 'method';
    return undefined;
  }

  private find(list: CompiledRoute[] | undefined, parts: string[]): RouteMatch | undefined {
    if (!list) return undefined;
    outer: for (const c of list) {
      if (c.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      for (let i = 0; i < parts.length; i++) {
        const seg = c.segments[i];
        const part = parts[i] ?? '';
        if (!seg) continue outer;
        if ('literal' in seg) {
          if (seg.literal !== part) continue outer;
        } else {
          try {
            params[seg.param] = decodeURIComponent(part);
          } catch {
            continue outer;
          }
        }
      }
      return { route: c.route, params };
    }
    return undefined;
  }
}

function split(path: string): string[] {
  const parts = path.split('/').filter((p, i, all) => p !== '' || (i > 0 && i < all.length - 1));
  return parts;
}
