/**
 * The live dashboard: the page at `/` and the Server-Sent Events stream it
 * listens to (`/v1/router/events`). One snapshot of the cluster is built per
 * tick, only while someone watches, and sent to every watcher; membership
 * changes push a snapshot at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { keys, readNodes, errorMessage, type Hydra, type Logger } from '@hydra-ts/core';
import type { RouteLoader } from './route-loader.js';
import type { PerSecondStats } from './stats.js';
import { REQUEST_ID, type AnswerContext } from './respond.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { ROUTER_VERSION } from './api.js';

const TICK_MS = 1000;
/** Membership changes come in bursts (a service restarting): one snapshot per burst. */
const PUSH_DELAY_MS = 150;
/** Request rates are averaged over this window. */
const RATE_WINDOW_S = 10;
/** A dead instance stays on the page this long (core prunes nodes entries after an hour). */
const SHOW_DEAD_S = 3600;

export interface DashboardDeps {
  hydra: Hydra;
  routes: RouteLoader;
  httpStats: PerSecondStats;
  errorStats: PerSecondStats;
  wsClients: () => number;
  logger: Logger;
}

export interface InstanceView {
  id: string;
  host: string;
  ip: string;
  port: number;
  version: string;
  alive: boolean;
  /** Seconds since the nodes entry was refreshed (how long ago a dead one was last seen). */
  lastSeenS: number;
  uptimeS?: number;
  memory?: { rss: number; heapUsed: number };
}

export interface ServiceView {
  name: string;
  routes: string[];
  ratePerS: number;
  errorsPerS: number;
  requests: number;
  errors: number;
  instances: InstanceView[];
}

export interface Snapshot {
  router: { instanceId: string; version: string; uptimeS: number; wsClients: number; redis: boolean };
  services: ServiceView[];
  generatedAt: string;
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
    const nodes = hydra.redis.isReady ? await readNodes(hydra.redis) : [];
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
    const recent = httpStats.recent(RATE_WINDOW_S);
    const recentErrors = errorStats.recent(RATE_WINDOW_S);
    const totals = httpStats.totals();
    const errorTotals = errorStats.totals();
    const services: ServiceView[] = [...names].sort().map((name) => {
      const instances: InstanceView[] = hydra.discovery.instances(name).map((i) => {
        const h = health.get(i.instanceID);
        const mem = h?.memory as { rss?: number; heapUsed?: number } | undefined;
        return {
          id: i.instanceID,
          host: i.hostName,
          ip: i.ip,
          port: i.port,
          version: i.version,
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
        instances.push({ id: n.instanceID, host: n.hostName, ip: n.ip, port: n.port, version: n.version, alive: false, lastSeenS: n.elapsed });
      }
      return {
        name,
        routes: routes.list().find((r) => r.serviceName === name)?.routes ?? [],
        ratePerS: (recent[name] ?? 0) / RATE_WINDOW_S,
        errorsPerS: (recentErrors[name] ?? 0) / RATE_WINDOW_S,
        requests: totals[name] ?? 0,
        errors: errorTotals[name] ?? 0,
        instances,
      };
    });
    return {
      router: { instanceId: hydra.instanceId, version: ROUTER_VERSION, uptimeS: Math.round(process.uptime()), wsClients: this.d.wsClients(), redis: hydra.redis.isReady },
      services,
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
