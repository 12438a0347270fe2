/**
 * Keeps the route table in step with Redis: everything at start, one service on
 * its refresh broadcast or when an instance of it comes up (which also repairs a
 * missed broadcast). Requests never wait on this; they match against the last
 * table loaded.
 */
import { readRoutes, errorMessage, SkippedKeyWarnings, type RedisClient, type Logger } from '@hydra-ts/core';
import { RouteTable, parseRouteString, type RouteEntry } from './route-table.js';

/**
 * Hydra's self routes (`/<svc>`, `/<svc>/`, `/<svc>/:rest`) mark a service as directly
 * addressable; direct addressing strips the service segment, which is what a caller of
 * `/<svc>/x` means, so they are handled there rather than matched as patterns.
 */
function isSelfRoute(serviceName: string, pattern: string): boolean {
  return pattern === `/${serviceName}` || pattern === `/${serviceName}/` || pattern === `/${serviceName}/:rest`;
}

export function toEntries(serviceName: string, routes: string[]): RouteEntry[] {
  return routes
    .map((r) => parseRouteString(serviceName, r))
    .filter((e): e is RouteEntry => e !== null && !isSelfRoute(serviceName, e.pattern));
}

/** Why a call that names its service reached no registered route (see RouteLoader.refusal). */
export interface RouteRefusal {
  status: 404 | 405;
  reason: string;
  /** For 405: the methods registered for the path, for an Allow header. */
  allow?: string;
}

/** Calls that name their service: `/<svc>/...` on HTTP, or a route in a message (WebSocket `[method]`, /v1/router/message). */
export type NamedCall = 'direct' | 'message';

export class RouteLoader {
  readonly table = new RouteTable();
  /** The service refusal() asks about, read by isAsked during one synchronous match: no closure per call. */
  private asked = '';
  private readonly isAsked = (svc: string) => svc === this.asked;
  /** Registered route strings per service, as stored (for /v1/router/list/routes). */
  private readonly registered = new Map<string, string[]>();
  /** A routes key of the wrong type is skipped (the other services still load), with one warning. */
  private readonly skipped: SkippedKeyWarnings;

  constructor(
    private readonly redis: RedisClient,
    private readonly selfService: string,
    private readonly logger: Logger,
  ) {
    this.skipped = new SkippedKeyWarnings(logger);
  }

  /** Loads one service's routes, or all when `serviceName` is undefined; throws when Redis cannot be read. */
  async load(serviceName?: string): Promise<void> {
    const routes = await readRoutes(this.redis, serviceName, this.skipped.handler);
    if (serviceName === undefined) {
      this.registered.clear();
      const all = new Map<string, RouteEntry[]>();
      for (const [svc, list] of Object.entries(routes)) {
        if (svc === this.selfService) continue;
        this.registered.set(svc, list);
        all.set(svc, toEntries(svc, list));
      }
      this.table.setAll(all);
    } else if (serviceName !== this.selfService) {
      const list = routes[serviceName] ?? [];
      if (list.length) this.registered.set(serviceName, list);
      else this.registered.delete(serviceName);
      this.table.setService(serviceName, toEntries(serviceName, list));
    }
    this.logger.debug({ routesOf: serviceName ?? '*' }, 'routes reloaded');
  }

  /** load() on an event (refresh broadcast, instance up): never throws; on failure the previous table stays. */
  async reload(serviceName?: string): Promise<void> {
    try {
      await this.load(serviceName);
    } catch (err) {
      this.logger.warn({ routesOf: serviceName ?? '*', err: errorMessage(err) }, 'could not reload routes; keeping the previous table');
    }
  }

  /** Services with registered routes and their route strings, sorted by name. */
  list(): Array<{ serviceName: string; routes: string[] }> {
    return [...this.registered.keys()].sort().map((serviceName) => ({ serviceName, routes: this.registered.get(serviceName)! }));
  }

  knows(serviceName: string): boolean {
    return this.registered.has(serviceName);
  }

  /**
   * A call that names its service reaches only what that service registered (method and
   * path, `path` without the query): undefined when `svc` registered `method path`, else
   * the answer: 405 with the methods registered for the path, or 404. The one check for
   * direct addressing, WebSocket `[method]` calls and /v1/router/message.
   */
  refusal(svc: string, method: string, path: string, call: NamedCall): RouteRefusal | undefined {
    this.asked = svc;
    if (this.table.find(method, path, this.isAsked)) return undefined;
    const allowed = this.table.allowedMethods(path, this.isAsked);
    if (allowed.length) {
      return { status: 405, reason: `${method} is not a registered method of ${path} on ${svc}; registered: ${allowed.join(', ')}`, allow: allowed.join(', ') };
    }
    const how = call === 'direct' ? `direct addressing (/${svc}/...)` : 'an HTTP call in a message (WebSocket "[method]" route, /v1/router/message "fwd")';
    return { status: 404, reason: `${svc} registered no route matching ${method} ${path}: ${how} reaches only the routes a service registered (see /v1/router/list/routes)` };
  }
}
