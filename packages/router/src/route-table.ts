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
  /** The service that registered the route. */
  serviceName: string;
  /** Upper-case method, or '*' when the route string had no `[verb]`. */
  method: string;
  /** The pattern as registered, without the method, e.g. `/v1/x/:id`. */
  pattern: string;
}

/** A route found for a request. */
export interface RouteMatch {
  /** The route. */
  entry: RouteEntry;
  /** Values of the pattern's `:param` segments. */
  params: Record<string, string>;
}

/** Whether a service has a live instance (routes of services without one are passed over). */
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

/**
 * The router's route table: method-aware, most specific pattern first (static
 * segments before `:param` before `*`), routes of services without a live instance passed over.
 */
export class RouteTable {
  private root = newNode();
  /**
   * Entries of the patterns without `:param` or `*`, in the trie's order, by staticKey of
   * their segments: a request for such a path is answered by one map lookup, without
   * splitting it (the common case, on every request).
   */
  private statics = new Map<string, RouteEntry[]>();
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
    const statics = new Map<string, RouteEntry[]>();
    for (const svc of [...this.byService.keys()].sort()) {
      for (const entry of this.byService.get(svc)!) {
        const segments = splitPath(entry.pattern);
        insert(root, entry, segments);
        if (segments.every((seg) => !seg.startsWith('*') && !(seg.startsWith(':') && seg.length > 1))) {
          const key = staticKey(segments);
          let list = statics.get(key);
          if (!list) statics.set(key, (list = []));
          list.push(entry);
        }
      }
    }
    this.root = root;
    this.statics = statics;
  }

  /**
   * The most specific live route for `method` and `path` (path without the query).
   * Pass `method` undefined to ask whether any method matches (for a 405 answer).
   */
  match(method: string | undefined, path: string, alive: Liveness): RouteMatch | null {
    const params: Record<string, string> = {};
    const entry = this.staticMatch(method, path, alive) ?? walk(this.root, splitPath(path), 0, params, method, alive);
    return entry ? { entry, params } : null;
  }

  /** match() for the request path: the entry alone. */
  find(method: string, path: string, alive: Liveness): RouteEntry | undefined {
    return this.staticMatch(method, path, alive) ?? walk(this.root, splitPath(path), 0, {}, method, alive);
  }

  /**
   * The walk's first candidate, looked up directly: a pattern that matches every segment
   * statically is the most specific there is. When none of its entries is live for the
   * method, the walk goes on to `:param` and `*` patterns.
   */
  private staticMatch(method: string | undefined, path: string, alive: Liveness): RouteEntry | undefined {
    if (path.charCodeAt(0) !== 0x2f) return undefined; // not /-rooted: splitPath reads it differently
    // staticKey(splitPath(path)), without splitting: splitPath drops one trailing slash.
    const entries = this.statics.get(path.endsWith('/') ? path.slice(0, -1) : path);
    return entries && pick(entries, method, alive);
  }

  /** Methods of live routes whose pattern matches `path`, for the Allow header of a 405. */
  allowedMethods(path: string, alive: Liveness): string[] {
    const found = new Set<string>();
    walk(this.root, splitPath(path), 0, {}, undefined, alive, found);
    return [...found].sort();
  }
}

/** The segments as a path again: '' for none ('/'), so that [] and [''] ('//') differ. */
function staticKey(segments: string[]): string {
  return segments.length ? `/${segments.join('/')}` : '';
}

/** The first entry live for `method`; or, when collecting, none, after adding every live entry's method to `found`. */
function pick(entries: RouteEntry[], method: string | undefined, alive: Liveness, found?: Set<string>): RouteEntry | undefined {
  for (const e of entries) {
    if (!alive(e.serviceName)) continue;
    if (found) found.add(e.method);
    else if (methodMatches(e, method)) return e;
  }
  return undefined;
}

function insert(root: Node, entry: RouteEntry, segments: string[]): void {
  let node = root;
  for (const seg of segments) {
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

/**
 * Depth first, static before `:param` before `*`, backtracking: the first live entry for
 * `method` found is the most specific. With `found`, every matching pattern is visited
 * and the methods of its live entries collected.
 */
function walk(
  node: Node,
  segments: string[],
  i: number,
  params: Record<string, string>,
  method: string | undefined,
  alive: Liveness,
  found?: Set<string>,
): RouteEntry | undefined {
  if (i === segments.length) {
    const here = pick(node.entries, method, alive, found);
    if (here) return here;
  } else {
    const seg = segments[i]!;
    const stat = node.statics.get(seg);
    if (stat) {
      const hit = walk(stat, segments, i + 1, params, method, alive, found);
      if (hit) return hit;
    }
    if (node.param && seg !== '') {
      const hit = walk(node.param.node, segments, i + 1, params, method, alive, found);
      if (hit) {
        params[node.param.name] = safeDecode(seg);
        return hit;
      }
    }
  }
  if (node.wildcard) {
    const hit = pick(node.wildcard.entries, method, alive, found);
    if (hit) {
      params[node.wildcard.name] = segments.slice(i).map(safeDecode).join('/');
      return hit;
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
