/**
 * The gateway: one registered `hydra-router` instance that serves HTTP on its
 * service port. A request is answered by the router itself (`/v1/router/*`,
 * `/metrics`, the dashboard at `/`) or matched against the route table (or
 * addressed directly as `/<service>/...`) and proxied to a live instance.
 * Membership and routes live in memory and follow Redis by events; nothing on
 * the request path touches Redis.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Hydra, Tracer, instanceAttributes, tracingOn, runArrived, channels, createMessage, errorMessage, readJsonFile, toShort, defaultLogger,
  type ApiRequestOptions, type ConfigDocument, type Logger, type Span, type UMFMessage,
} from '@hydra-ts/core';
import { readSettings, type RouterSettings } from './settings.js';
import { STRATEGIES } from './balancer.js';
import { Upstreams } from './upstreams.js';
import { RouteLoader } from './route-loader.js';
import { ProxyCall, type ProxyObserver, type FailureKind } from './proxy.js';
import { RouterApi, ROUTER_VERSION, OWN_ROUTES, type RouterPhase } from './api.js';
import { RouterMetrics } from './metrics.js';
import { PerSecondStats } from './stats.js';
import { IssueLog } from './issue-log.js';
import { ClientQueue } from './client-queue.js';
import { WsGateway } from './ws-gateway.js';
import { RouterToken } from './router-token.js';
import { duplicateHost } from './headers.js';
import { ClientSecrets } from './client-secrets.js';
import { TrustedProxies } from './trusted-proxies.js';
import { UpstreamGuard } from './upstream-guard.js';
import { Dashboard } from './dashboard.js';
import { TraceStore } from './trace-store.js';
import { TraceSharing } from './trace-sharing.js';
import { REQUEST_ID, sendReason, sendJson, type AnswerContext } from './respond.js';

/** Router API endpoints that send something on (a message, a queued message, the HTTP call a message names). */
const RELAYING = new Set(['/v1/router/message', '/v1/router/send', '/v1/router/queue']);

/** The service name every router registers as (Hydra's own: services broadcast route refreshes to it). */
export const ROUTER_SERVICE = 'hydra-router';

/** A client's request id is reused when it is a sane token; anything else is replaced. */
const CLIENT_REQUEST_ID = /^[\w.:@-]{1,128}$/;

/** Options of {@link Router.start} beside the config. */
export interface RouterOptions {
  /** Where to log; default a pino logger named hydra-router (`HYDRA_LOG_LEVEL`). */
  logger?: Logger;
  /** Environment to read HYDRA_REDIS_URL / HYDRA_SERVICE from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

const ROUTER_DEFAULTS = { serviceName: ROUTER_SERVICE, serviceType: 'router', serviceDescription: 'Service Router', serviceVersion: ROUTER_VERSION };

/** The config document: the file (if any) with the router's name and defaults filled in. */
export async function routerConfig(path: string | undefined): Promise<ConfigDocument> {
  const doc = path ? (readJsonFile(path) as Record<string, unknown>) : {};
  const hydra = (doc.hydra ?? {}) as Record<string, unknown>;
  return { ...doc, hydra: { ...ROUTER_DEFAULTS, ...hydra, serviceName: ROUTER_SERVICE } } as unknown as ConfigDocument;
}

/**
 * The service-aware gateway (the `hydra-router` bin runs one): proxies HTTP to
 * live instances by route, relays WebSocket UMF messages, answers the router API
 * under `/v1/router/`, exports `/metrics` and serves the dashboard at `/`.
 */
export class Router implements ProxyObserver {
  /** The router's settings, read from its config document. */
  readonly settings: RouterSettings;
  /** The HTTP server (WebSocket upgrades included). */
  readonly server: Server;
  /** The Prometheus registry behind `/metrics`. */
  readonly metrics: RouterMetrics;
  private readonly upstreams: Upstreams;
  private readonly routes: RouteLoader;
  private readonly api: RouterApi;
  private readonly ws: WsGateway;
  private readonly dashboard: Dashboard;
  private readonly traces = new TraceStore();
  private sharing?: TraceSharing;
  /** A name the router knows: stats keep their own series only for these (see stats.ts). */
  private readonly known = (name: string) => name === ROUTER_SERVICE || this.upstreams.has(name) || this.routes.knows(name);
  private readonly httpStats = new PerSecondStats(this.known);
  private readonly wsStats = new PerSecondStats(this.known);
  private readonly errorStats = new PerSecondStats(this.known);
  private readonly issues = new IssueLog();
  private readonly token: RouterToken;
  /** This router's entry in the Via header (RFC 9110 7.6.3): seeing it on a request means a loop. */
  private readonly via: string;
  private readonly logger: Logger;
  /** Health answers 503 unless 'serving': load balancers send traffic only to a router that can route it. */
  private phase: RouterPhase = 'starting';
  /** Whether a service has a live instance (routes of dead services do not match). */
  private readonly alive = (svc: string) => this.upstreams.has(svc);
  private closing?: Promise<void>;
  private readonly tracer: Tracer;

  private constructor(
    /** The router's own instance (registered as hydra-router). */
    readonly hydra: Hydra, secrets: ClientSecrets, private readonly guard: UpstreamGuard) {
    this.logger = hydra.logger;
    this.tracer = new Tracer('@hydra-ts/router', instanceAttributes(ROUTER_SERVICE, hydra.instanceId));
    this.settings = readSettings(hydra.config as Record<string, unknown>);
    this.token = new RouterToken(this.settings.routerToken);
    this.via = `1.1 hydra-router-${hydra.instanceId}`;
    guard.configure(this.settings.upstreamNetworks, hydra.config.hydra.redis);
    const strategy = STRATEGIES[this.settings.balancing]!();
    this.upstreams = new Upstreams(hydra.discovery, strategy, {
      connections: this.settings.upstreamConnections,
      keepAliveTimeoutMs: 30_000,
      connectTimeoutMs: 2000,
      requestTimeoutMs: this.settings.requestTimeoutMs,
    }, { failures: this.settings.outlierFailures, ejectionMs: this.settings.outlierEjectionMs }, this.logger, ROUTER_SERVICE, (i) => guard.refusal(i.ip, i.port));
    this.routes = new RouteLoader(hydra.redis, ROUTER_SERVICE, this.logger);
    this.metrics = new RouterMetrics(() => new Map(this.upstreams.serviceNames().map((s) => [s, this.upstreams.list(s).length])));
    // HTTP calls named in messages (WebSocket `[method]`, /v1/router/message) reach only the
    // routes a service registered, as direct addressing does (hydra-router let them reach any path).
    const callOptions: ApiRequestOptions = {
      timeoutMs: this.settings.requestTimeoutMs,
      // A service the router does not know is left to makeAPIRequest's 503 (no instances).
      refuse: (svc, method, path) => (this.upstreams.has(svc) || this.routes.knows(svc) ? this.routes.refusal(svc, method, path, 'message') : undefined),
    };
    this.api = new RouterApi({
      hydra,
      routes: this.routes,
      settings: this.settings,
      token: this.token,
      httpStats: this.httpStats,
      wsStats: this.wsStats,
      errorStats: this.errorStats,
      issues: this.issues,
      callOptions,
      phase: () => this.phase,
      broadcastRefresh: (svc) => this.broadcastRefresh(svc),
      traces: this.traces,
      shareSpans: (spans) => this.sharing!.publish(spans),
    });
    this.ws = new WsGateway({
      hydra,
      settings: this.settings,
      token: this.token,
      secrets,
      proxies: new TrustedProxies(this.settings.trustedProxies),
      queue: new ClientQueue(hydra.redis, this.settings.wsQueueMax, this.settings.wsQueueTtlS, this.logger),
      wsStats: this.wsStats,
      errorStats: this.errorStats,
      metrics: this.metrics,
      logger: this.logger,
      callOptions,
      tracer: this.tracer,
      routerApi: (apiRoute) => this.api.readForSocket(apiRoute),
    });
    this.dashboard = new Dashboard({
      hydra,
      routes: this.routes,
      httpStats: this.httpStats,
      errorStats: this.errorStats,
      wsClients: () => this.ws.size,
      traces: this.traces,
      logger: this.logger,
    });
    this.server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000 }, (req, res) => this.onRequest(req, res));
    this.ws.attach(this.server);
  }

  /**
   * Starts a router from a config document (or file path): connects to Redis,
   * listens on the service port, registers `hydra-router`, loads the routes.
   */
  static async start(config: ConfigDocument | string | undefined, options: RouterOptions = {}): Promise<Router> {
    const doc = typeof config === 'object' ? { ...config, hydra: { ...ROUTER_DEFAULTS, ...config.hydra, serviceName: ROUTER_SERVICE } } : await routerConfig(config);
    // Instances from Redis are checked before the router (or its HTTP calls) connects to them.
    const guard = new UpstreamGuard();
    const hydra = await Hydra.create(doc, { logger: options.logger ?? defaultLogger('hydra-router'), env: options.env, discovery: 'all', upstreamRefusal: (i) => guard.refusal(i.ip, i.port) });
    let router: Router;
    try {
      router = new Router(hydra, await ClientSecrets.load(hydra.redis), guard);
    } catch (err) {
      await hydra.close();
      throw err;
    }
    try {
      await router.begin();
    } catch (err) {
      await router.close();
      throw err;
    }
    return router;
  }

  private async begin(): Promise<void> {
    const hydra = this.hydra;
    hydra.onMessage((m) => this.onMessage(m));
    hydra.discovery.on('up', (i) => {
      if (i.serviceName !== ROUTER_SERVICE) void this.routes.reload(i.serviceName);
    });
    hydra.discovery.on('down', (i) => {
      if (i.serviceName !== ROUTER_SERVICE) this.issues.add('info', `${i.serviceName} instance ${i.instanceID} (${i.ip}:${i.port}) is gone`);
    });
    // The table is read before the port opens: a router that cannot route yet answers nothing,
    // rather than 404s for routes it has not read (clients and load balancers retry a refused connection).
    await this.routes.load();
    this.sharing = await TraceSharing.start(hydra, this.traces, this.logger);
    const port = await hydra.listen(this.server);
    const bound = this.server.address();
    const host = typeof bound === 'object' && bound && bound.address !== '::' && bound.address !== '0.0.0.0' ? bound.address : undefined;
    this.guard.own(port, host);
    this.upstreams.recheck();
    await hydra.registerService();
    await hydra.registerRoutes(OWN_ROUTES);
    this.phase = 'serving';
    this.logger.info({ port, balancing: this.settings.balancing }, 'hydra-router ready');
  }

  /** The port the router listens on. */
  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  private async onMessage(m: UMFMessage): Promise<void> {
    if (m.body.action === 'refresh') {
      const svc = m.body.serviceName;
      await this.routes.reload(typeof svc === 'string' && svc ? svc : undefined);
      return;
    }
    try {
      await this.ws.deliver(m);
    } catch (err) {
      this.logger.warn({ mid: m.mid, err: errorMessage(err) }, 'could not deliver a message to a WebSocket client');
    }
  }

  /** Tells every router on this Redis (this one too) to reload the routes of one service or all. */
  private async broadcastRefresh(serviceName?: string): Promise<void> {
    const body: Record<string, unknown> = { action: 'refresh' };
    if (serviceName) body.serviceName = serviceName;
    const m = createMessage({ to: `${ROUTER_SERVICE}:/refresh`, from: `${this.hydra.instanceId}@${ROUTER_SERVICE}:/`, body });
    await this.hydra.redis.publish(channels.service(ROUTER_SERVICE), JSON.stringify(toShort(m)));
  }

  // --- requests ------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const given = req.headers[REQUEST_ID];
    const requestId = typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    const ctx: AnswerContext = { requestId, cors: this.settings.cors };
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';

    const via = req.headers.via;
    if (via !== undefined && via.includes(this.via)) {
      sendReason(res, 508, `this request already passed through this router (its Via header names ${this.via}): an instance registered in Redis points back at a router`, ctx);
      this.account('none', method, 508, started, requestId, url);
      return;
    }
    if (duplicateHost(req.rawHeaders)) {
      sendReason(res, 400, 'the request has more than one Host header; send exactly one (RFC 9112 3.2)', ctx, { connection: 'close' });
      this.account('none', method, 400, started, requestId, url);
      return;
    }
    if (method === 'OPTIONS' && req.headers['access-control-request-method'] && Object.keys(this.settings.cors).length) {
      res.writeHead(204, { ...this.settings.cors, [REQUEST_ID]: requestId, 'content-length': 0 });
      res.end();
      this.account('router', method, 204, started, requestId, url);
      return;
    }
    if (path === '/' || path === '/metrics' || path.startsWith('/v1/router/')) {
      void this.ownRequest(req, res, path, ctx).finally(() => this.account('router', method, res.statusCode, started, requestId, url));
      return;
    }

    let serviceName: string | undefined;
    let forwardPath = url;
    const entry = this.routes.table.find(method, path, this.alive);
    if (entry) {
      serviceName = entry.serviceName;
    } else if (this.settings.directAddressing) {
      // Direct addressing: /<serviceName>/rest/of/path goes to /rest/of/path, when the
      // service registered that method and path (its unregistered paths stay unreachable).
      const slash = path.indexOf('/', 1);
      const first = decodeSegment(path.slice(1, slash < 0 ? undefined : slash));
      if (first && first !== ROUTER_SERVICE && (this.upstreams.has(first) || this.routes.knows(first))) {
        const rest = slash < 0 ? '/' : path.slice(slash);
        const refused = this.routes.refusal(first, method, rest, 'direct');
        if (refused) {
          sendReason(res, refused.status, refused.reason, ctx, refused.allow ? { allow: refused.allow } : undefined);
          this.account(first, method, refused.status, started, ctx.requestId, rest);
          return;
        }
        serviceName = first;
        forwardPath = (slash < 0 ? '/' : url.slice(slash)) || '/';
        if (slash < 0 && q >= 0) forwardPath = `/${url.slice(q)}`;
      }
    }
    if (!serviceName) {
      this.noRoute(res, method, path, ctx, started);
      return;
    }
    this.httpStats.log(serviceName);
    const span = tracingOn() ? this.serverSpan(req, method, path, serviceName, entry?.pattern) : undefined;
    new ProxyCall({ req, res, serviceName, path: forwardPath, ctx, started, via: this.via, span }, this.upstreams, this.settings, this, this.logger, this.tracer).start();
  }

  /** The server span of a proxied request, named by its route pattern (direct addressing: the service), never the raw path. */
  private serverSpan(req: IncomingMessage, method: string, path: string, serviceName: string, pattern: string | undefined): Span | undefined {
    const route = pattern ?? `/${serviceName}/*`;
    return this.tracer.startFrom(req.headers, `${method} ${route}`, 'server', { 'http.request.method': method, 'http.route': route, 'url.path': path, 'hydra.target.service': serviceName });
  }

  /** ProxyObserver: how each proxied request ended. */
  proxied(call: ProxyCall, status: number, instanceId: string | undefined): void {
    const { serviceName, req, ctx, started } = call.r;
    if (status >= 500) this.errorStats.log(serviceName);
    this.account(serviceName, call.method, status, started, ctx.requestId, req.url ?? '/', instanceId);
  }

  /** ProxyObserver: a proxied request met a failing instance. */
  upstreamFailed(call: ProxyCall, kind: FailureKind): void {
    const { serviceName, req, ctx } = call.r;
    this.metrics.upstreamError(serviceName, kind);
    if (kind !== 'too-large') this.issues.add('error', `${call.method} ${req.url} → ${serviceName}: upstream ${kind} [${ctx.requestId}]`);
  }

  private noRoute(res: ServerResponse, method: string, path: string, ctx: AnswerContext, started: number): void {
    const always = () => true;
    const dead = this.routes.table.find(method, path, always);
    if (dead) {
      const svc = dead.serviceName;
      sendReason(res, 503, `Unavailable ${svc} instances: ${method} ${path} is a route of ${svc}, which has no live instance; start one or check that its heartbeat reaches Redis`, ctx);
      this.errorStats.log(svc);
      this.account(svc, method, 503, started, ctx.requestId, path);
      return;
    }
    const allowed = this.routes.table.allowedMethods(path, this.alive);
    if (allowed.length) {
      sendReason(res, 405, `${method} is not a registered method of ${path}; registered: ${allowed.join(', ')}`, ctx, { allow: allowed.join(', ') });
      this.account('none', method, 405, started, ctx.requestId, path);
      return;
    }
    sendReason(res, 404, `no route matches ${method} ${path}: no live service registered it and its first segment names no live service (see /v1/router/list/routes)`, ctx);
    this.account('none', method, 404, started, ctx.requestId, path);
  }

  private async ownRequest(req: IncomingMessage, res: ServerResponse, path: string, ctx: AnswerContext): Promise<void> {
    if (this.settings.disableRouterEndpoint && path !== '/v1/router/health') {
      sendReason(res, 404, 'the router API is disabled on this router (config field disableRouterEndpoint)', ctx);
      return;
    }
    if (path !== '/v1/router/health' && !this.token.admits(req)) {
      sendReason(res, 401, 'this router API needs the router token: add ?token=<routerToken> or an "Authorization: Bearer <routerToken>" header', ctx, { 'www-authenticate': 'Bearer' });
      return;
    }
    try {
      if ((path === '/' || path === '/metrics' || path === '/v1/router/events') && req.method !== 'GET' && req.method !== 'HEAD') {
        sendReason(res, 405, `${req.method} ${path} is not supported; use GET`, ctx, { allow: 'GET, HEAD' });
      } else if (path === '/') {
        this.dashboard.page(res, ctx);
      } else if (path === '/metrics') {
        const text = await this.metrics.text();
        res.writeHead(200, { ...ctx.cors, 'content-type': this.metrics.contentType, [REQUEST_ID]: ctx.requestId });
        res.end(text);
      } else if (path === '/v1/router/events') {
        this.dashboard.stream(req, res, ctx);
      } else {
        await this.apiCall(req, res, path, ctx);
      }
    } catch (err) {
      this.logger.error({ reqId: ctx.requestId, err: errorMessage(err) }, 'router API call failed');
      if (!res.headersSent) sendJson(res, 500, { statusCode: 500, statusMessage: 'Server Error', result: { reason: errorMessage(err) } }, ctx);
    }
  }

  /**
   * A router API call. Those that pass something on (RELAYING) continue the caller's
   * trace: under a server span when tracing is on, else with the traceparent that came,
   * so the message or HTTP call they make is in the caller's trace either way.
   */
  private async apiCall(req: IncomingMessage, res: ServerResponse, path: string, ctx: AnswerContext): Promise<void> {
    const handle = () => this.api.handle(req, res, path.slice('/v1/router/'.length), ctx);
    const route = path.replace(/\/+$/, '');
    if (req.method !== 'POST' || !RELAYING.has(route)) return handle();
    const span = tracingOn() ? this.tracer.startFrom(req.headers, `POST ${route}`, 'server', { 'http.request.method': 'POST', 'http.route': route, 'url.path': path }) : undefined;
    try {
      await runArrived(span, req.headers, handle);
    } finally {
      span?.set('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span?.fail(`answered ${res.statusCode}`, String(res.statusCode));
      span?.end();
    }
  }

  private account(service: string, method: string, status: number, started: number, requestId: string, url: string, instance?: string): void {
    const ms = performance.now() - started;
    this.metrics.request(service, method, status, ms / 1000);
    if (this.settings.accessLog) this.logger.info({ reqId: requestId, method, url, target: service, upstream: instance, status, ms: Math.round(ms * 10) / 10 }, 'request');
  }

  // --- lifecycle -------------------------------------------------------------

  /**
   * Graceful stop: the health check fails at once, presence goes (other
   * routers and tools stop counting this one), open requests finish, then
   * connections and Redis are released. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.phase = 'stopping';
      this.dashboard.close();
      await this.ws.close();
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      await this.hydra.close();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())]);
      this.server.closeAllConnections();
      await this.upstreams.close();
    })();
    return this.closing;
  }
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s).toLowerCase();
  } catch {
    return '';
  }
}
