/**
 * The route table: the services' registered route strings (`[get]/v1/x/:id`) in a
 * segment trie. Matching is method-aware and picks the most specific pattern:
 * at each segment a static name beats a `:param`, which beats a `*` wildcard,
 * with backtracking, so the answer does not depend on registration order
 * (hydra-router took the first pattern found and ignored the method).
 * Whether a service is alive is asked at match time, so a pattern whose service
 * has no live instance never matches and a less specific live one can.
 */

export interface RouteEntry {
  serviceName: string;
  /** Upper-case method, or '*' when the route string had no `[verb]`. */
  method: string;
  /** The pattern as registered, without the method, e.g. `/v1/x/:id`. */
  pattern: string;
}

export interface RouteMatch {
  entry: RouteEntry;
  params: Record<string, string>;
}

export type Liveness = (serviceName: string) => boolean;

interface Node {
  statics: Map<string, Node>;
  param?: { name: string; node: Node };
  /** `*` / `*name`: matches the rest of the path (zero or more segments). */
  wildcard?: { name: string; entries: RouteEntry[] };
  entries: RouteEntry[];
}

const newNode = (): Node => ({ statics: new Map(), entries: [] });

/** `/a/b/` → ['a', 'b']: a trailing slash names the same resource. */
export function splitPath(path: string): string[] {
  const segments = path.split('/');
  segments.shift();
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  return segments;
}

/** Parses a registered route string; null when it is not a path pattern. */
export function parseRouteString(serviceName: string, route: string): RouteEntry | null {
  let method = '*';
  let pattern = route.trim();
  const m = /^\[([a-zA-Z]+)\]/.exec(pattern);
  if (m) {
    method = m[1]!.toUpperCase();
    pattern = pattern.slice(m[0].length);
  }
  if (!pattern.startsWith('/')) return null;
  return { serviceName, method, pattern };
}

function methodMatches(entry: RouteEntry, method: string | undefined): boolean {
  if (method === undefined || entry.method === '*' || entry.method === method) return true;
  // HEAD is GET without the body: a GET route answers it.
  return method === 'HEAD' && entry.method === 'GET';
}

export class RouteTable {
  private root = newNode();
  private readonly byService = new Map<string, RouteEntry[]>();

  /** Replaces all routes of one service (an empty list removes it). */
  setService(serviceName: string, entries: RouteEntry[]): void {
    if (entries.length === 0) this.byService.delete(serviceName);
    else this.byService.set(serviceName, entries);
    this.rebuild();
  }

  /** Replaces the whole table. */
  setAll(routes: Map<string, RouteEntry[]>): void {
    this.byService.clear();
    for (const [svc, entries] of routes) if (entries.length) this.byService.set(svc, entries);
    this.rebuild();
  }

  /** Route tables change rarely and are small: rebuilding keeps the trie simple and exactly in step. */
  private rebuild(): void {
    const root = newNode();
    for (const svc of [...this.byService.keys()].sort()) {
      for (const entry of this.byService.get(svc)!) insert(root, entry);
    }
    this.root = root;
  }

  /**
   * The most specific live route for `method` and `path` (path without the query).
   * Pass `method` undefined to ask whether any method matches (for a 405 answer).
   */
  match(method: string | undefined, path: string, alive: Liveness): RouteMatch | null {
    const segments = splitPath(path);
    const params: Record<string, string> = {};
    const pick = (entries: RouteEntry[]) => entries.find((e) => methodMatches(e, method) && alive(e.serviceName));
    const entry = walk(this.root, segments, 0, params, pick);
    return entry ? { entry, params } : null;
  }

  /** Methods of live routes whose pattern matches `path`, for the Allow header of a 405. */
  allowedMethods(path: string, alive: Liveness): string[] {
    const found = new Set<string>();
    const segments = splitPath(path);
    walk(this.root, segments, 0, {}, (entries) => {
      for (const e of entries) if (alive(e.serviceName)) found.add(e.method);
      return undefined; // keep walking: collect from every matching pattern
    });
    return [...found].sort();
  }
}

function insert(root: Node, entry: RouteEntry): void {
  let node = root;
  for (const seg of splitPath(entry.pattern)) {
    if (seg.startsWith('*')) {
      node.wildcard ??= { name: seg.slice(1) || '*', entries: [] };
      node.wildcard.entries.push(entry);
      return;
    }
    if (seg.startsWith(':') && seg.length > 1) {
      node.param ??= { name: seg.slice(1), node: newNode() };
      node = node.param.node;
    } else {
      let next = node.statics.get(seg);
      if (!next) node.statics.set(seg, (next = newNode()));
      node = next;
    }
  }
  node.entries.push(entry);
}

function walk(
  node: Node,
  segments: string[],
  i: number,
  params: Record<string, string>,
  pick: (entries: RouteEntry[]) => RouteEntry | undefined,
): RouteEntry | undefined {
  if (i === segments.length) {
    const here = pick(node.entries);
    if (here) return here;
  } else {
    const seg = segments[i]!;
    const stat = node.statics.get(seg);
    if (stat) {
      const found = walk(stat, segments, i + 1, params, pick);
      if (found) return found;
    }
    if (node.param && seg !== '') {
      const found = walk(node.param.node, segments, i + 1, params, pick);
      if (found) {
        params[node.param.name] = safeDecode(seg);
        return found;
      }
    }
  }
  if (node.wildcard) {
    const found = pick(node.wildcard.entries);
    if (found) {
      params[node.wildcard.name] = segments.slice(i).map(safeDecode).join('/');
      return found;
    }
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
