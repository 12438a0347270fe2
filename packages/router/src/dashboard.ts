/**
 * The live dashboard: the page at `/` and the Server-Sent Events stream it
 * listens to (`/v1/router/events`). One snapshot of the cluster is built per
 * tick, only while someone watches, and sent to every watcher; membership
 * changes push a snapshot at once. The snapshot shows the cluster twice: per
 * service, and per host (which instances run on which machine, like Swarm's
 * visualizer). Names come from Redis, so they are only ever Map keys here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { keys, readNodes, errorMessage, type Hydra, type Logger } from '@hydra-ts/core';
import type { RouteLoader } from './route-loader.js';
import type { PerSecondStats } from './stats.js';
import { REQUEST_ID, type AnswerContext } from './respond.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { ROUTER_VERSION } from './api.js';
import type { TraceStore, TraceSummary } from './trace-store.js';

const TICK_MS = 1000;
/** Membership changes come in bursts (a service restarting): one snapshot per burst. */
const PUSH_DELAY_MS = 150;
/** Request rates are averaged over this window. */
const RATE_WINDOW_S = 10;
/** A dead instance stays on the page this long (core prunes nodes entries after an hour). */
const SHOW_DEAD_S = 3600;
/** Traces on the page (GET /v1/router/traces has all the store keeps). */
const SHOW_TRACES = 20;

export interface DashboardDeps {
  hydra: Hydra;
  routes: RouteLoader;
  httpStats: PerSecondStats;
  errorStats: PerSecondStats;
  wsClients: () => number;
  traces: TraceStore;
  logger: Logger;
}

/** One instance as the services view shows it. */
export interface InstanceView {
  /** Instance id. */
  id: string;
  /** Host name. */
  host: string;
  /** Address. */
  ip: string;
  /** Port. */
  port: number;
  /** Service version. */
  version: string;
  /** Presence exists. */
  alive: boolean;
  /** Seconds since the nodes entry was refreshed (how long ago a dead one was last seen). */
  lastSeenS: number;
  /** Process uptime from its health document. */
  uptimeS?: number;
  /** Memory from its health document. */
  memory?: {
    /** Resident set size, bytes. */
    rss: number;
    /** V8 heap in use, bytes. */
    heapUsed: number;
  };
}

/** One service as the dashboard shows it. */
export interface ServiceView {
  /** Service name. */
  name: string;
  /** Its registered routes. */
  routes: string[];
  /** Requests a second through this router, over the last 10 s. */
  ratePerS: number;
  /** 5xx answers a second, over the last 10 s. */
  errorsPerS: number;
  /** Requests in the last hour. */
  requests: number;
  /** 5xx answers in the last hour. */
  errors: number;
  /** Its instances, live and recently dead. */
  instances: InstanceView[];
}

/** One instance as the hosts view shows it. */
export interface HostInstanceView {
  /** Service name. */
  service: string;
  /** Instance id. */
  id: string;
  /** Port. */
  port: number;
  /** Service version. */
  version: string;
  /** Presence exists. */
  alive: boolean;
  /** Seconds since its nodes entry was refreshed. */
  lastSeenS: number;
}

/**
 * A host: the instances registered with one (hostName, ip) pair, so instances on
 * distinct addresses of one machine (127.0.2.1, 127.0.2.2…) are distinct hosts.
 */
export interface HostView {
  /** The address. */
  ip: string;
  /** The host name. */
  hostName: string;
  /** How many of its instances are alive. */
  live: number;
  /** Its instances. */
  instances: HostInstanceView[];
}

/** What the dashboard page receives each tick (Server-Sent Events). */
export interface Snapshot {
  /** The router that answers. */
  router: {
    /** Its instance id. */
    instanceId: string;
    /** Its version. */
    version: string;
    /** Its uptime. */
    uptimeS: number;
    /** WebSocket clients connected to it. */
    wsClients: number;
    /** Whether its Redis connection is up. */
    redis: boolean;
  };
  /** Per service. */
  services: ServiceView[];
  /** Per host. */
  hosts: HostView[];
  /** The last traces whose spans reached the routers, most recent first. */
  traces: TraceSummary[];
  /** When it was built (ISO 8601). */
  generatedAt: string;
}

/** A nodes entry's text field as text: entries are written by any client of Redis, not only by us. */
const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** Per-name counts from the stats as a Map: a service named `constructor` must read 0, not Object's own. */
const byName = (counts: Record<string, number>): Map<string, number> => new Map(Object.entries(counts));

/** IPv4 addresses in numeric order (127.0.2.10 after 127.0.2.9), anything else after them by text. */
function compareIp(a: string, b: string): number {
  const num = (ip: string) => (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) ? ip.split('.').reduce((n, o) => n * 256 + Number(o), 0) : Infinity);
  const d = num(a) - num(b);
  return Number.isNaN(d) || d === 0 ? a.localeCompare(b) : d;
}

/** Groups the services' instances by host; within a host by service, live ones first, then by version. */
export function hostsOf(services: ServiceView[]): HostView[] {
  const hosts = new Map<string, HostView>();
  for (const svc of services) {
    for (const i of svc.instances) {
      const key = `${i.host}\n${i.ip}`;
      let host = hosts.get(key);
      if (!host) hosts.set(key, (host = { ip: i.ip, hostName: i.host, live: 0, instances: [] }));
      if (i.alive) host.live++;
      host.instances.push({ service: svc.name, id: i.id, port: i.port, version: i.version, alive: i.alive, lastSeenS: i.lastSeenS });
    }
  }
  for (const host of hosts.values()) {
    host.instances.sort((a, b) => a.service.localeCompare(b.service) || Number(b.alive) - Number(a.alive) || a.version.localeCompare(b.version, 'en', { numeric: true }) || a.id.localeCompare(b.id));
  }
  return [...hosts.values()].sort((a, b) => compareIp(a.ip, b.ip) || a.hostName.localeCompare(b.hostName));
}

export class Dashboard {
  private readonly watchers = new Set<ServerResponse>();
  private timer?: NodeJS.Timeout;
  private pushTimer?: NodeJS.Timeout;
  private building = false;
  private readonly onChange = () => this.schedulePush();

  constructor(private readonly d: DashboardDeps) {
    d.hydra.discovery.on('up', this.onChange);
    d.hydra.discovery.on('down', this.onChange);
  }

  page(res: ServerResponse, ctx: AnswerContext): void {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(DASHBOARD_HTML),
      'cache-control': 'no-cache',
      [REQUEST_ID]: ctx.requestId,
    });
    res.end(DASHBOARD_HTML);
  }

  stream(req: IncomingMessage, res: ServerResponse, ctx: AnswerContext): void {
    res.writeHead(200, {
      ...ctx.cors,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      [REQUEST_ID]: ctx.requestId,
    });
    res.write('retry: 1000\n\n');
    this.watchers.add(res);
    req.socket.setNoDelay(true);
    res.on('close', () => {
      this.watchers.delete(res);
      if (this.watchers.size === 0) this.stopTicking();
    });
    if (!this.timer) {
      this.timer = setInterval(() => void this.push(), TICK_MS);
      this.timer.unref();
    }
    void this.push();
  }

  private schedulePush(): void {
    if (this.watchers.size === 0 || this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      void this.push();
    }, PUSH_DELAY_MS);
    this.pushTimer.unref();
  }

  private stopTicking(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async push(): Promise<void> {
    if (this.building || this.watchers.size === 0) return;
    this.building = true;
    try {
      const frame = `data: ${JSON.stringify(await this.snapshot())}\n\n`;
      for (const res of this.watchers) res.write(frame);
    } catch (err) {
      this.d.logger.debug({ err: errorMessage(err) }, 'dashboard snapshot failed; next tick retries');
    } finally {
      this.building = false;
    }
  }

  /** The cluster as the page shows it: live instances from discovery, dead ones from the nodes hash. */
  async snapshot(): Promise<Snapshot> {
    const { hydra, httpStats, errorStats, routes } = this.d;
    const nodes = hydra.redis.isReady ? await readNodes(hydra.redis, undefined, hydra.onSkippedKey) : [];
    const live = hydra.discovery.liveServices();
    const names = new Set<string>([...live, ...routes.list().map((r) => r.serviceName)]);
    for (const n of nodes) if (!n.alive && n.elapsed < SHOW_DEAD_S) names.add(n.serviceName);
    // Health keys are named from discovery's instances: one MGET, no SCAN of the keyspace each tick.
    const health = new Map<string, Record<string, unknown>>();
    const liveInstances = live.flatMap((svc) => hydra.discovery.instances(svc));
    if (hydra.redis.isReady && liveInstances.length) {
      const docs = await hydra.redis.mGet(liveInstances.map((i) => keys.health(i.serviceName, i.instanceID)));
      docs.forEach((doc, n) => {
        if (!doc) return;
        try {
          health.set(liveInstances[n]!.instanceID, JSON.parse(doc) as Record<string, unknown>);
        } catch {
          // an unreadable health document shows as no data
        }
      });
    }
    const recent = byName(httpStats.recent(RATE_WINDOW_S));
    const recentErrors = byName(errorStats.recent(RATE_WINDOW_S));
    const totals = byName(httpStats.totals());
    const errorTotals = byName(errorStats.totals());
    // Names are text: readNodes skips an entry whose service name is not (core discovery.ts parseNode).
    const services: ServiceView[] = [...names].sort().map((name) => {
      const instances: InstanceView[] = hydra.discovery.instances(name).map((i) => {
        const h = health.get(i.instanceID);
        const mem = h?.memory as { rss?: number; heapUsed?: number } | undefined;
        return {
          id: i.instanceID,
          host: text(i.hostName),
          ip: text(i.ip),
          port: i.port,
          version: text(i.version),
          alive: true,
          // Discovery's copy of the nodes entry is from when the instance came up; its health is refreshed each beat.
          lastSeenS: Math.max(0, Math.round((Date.now() - Date.parse(String(h?.updatedOn ?? i.updatedOn))) / 1000)),
          uptimeS: typeof h?.uptimeSeconds === 'number' ? Math.round(h.uptimeSeconds) : undefined,
          memory: mem && typeof mem.rss === 'number' ? { rss: mem.rss, heapUsed: mem.heapUsed ?? 0 } : undefined,
        };
      });
      const liveIds = new Set(instances.map((i) => i.id));
      for (const n of nodes) {
        if (n.serviceName !== name || n.alive || liveIds.has(n.instanceID) || n.elapsed >= SHOW_DEAD_S) continue;
        instances.push({ id: n.instanceID, host: text(n.hostName), ip: text(n.ip), port: n.port, version: text(n.version), alive: false, lastSeenS: n.elapsed });
      }
      return {
        name,
        routes: routes.list().find((r) => r.serviceName === name)?.routes ?? [],
        ratePerS: (recent.get(name) ?? 0) / RATE_WINDOW_S,
        errorsPerS: (recentErrors.get(name) ?? 0) / RATE_WINDOW_S,
        requests: totals.get(name) ?? 0,
        errors: errorTotals.get(name) ?? 0,
        instances,
      };
    });
    return {
      router: { instanceId: hydra.instanceId, version: ROUTER_VERSION, uptimeS: Math.round(process.uptime()), wsClients: this.d.wsClients(), redis: hydra.redis.isReady },
      services,
      hosts: hostsOf(services),
      traces: this.d.traces.list(SHOW_TRACES),
      generatedAt: new Date().toISOString(),
    };
  }

  close(): void {
    this.stopTicking();
    clearTimeout(this.pushTimer);
    this.d.hydra.discovery.off('up', this.onChange);
    this.d.hydra.discovery.off('down', this.onChange);
    for (const res of this.watchers) res.end();
    this.watchers.clear();
  }
}
