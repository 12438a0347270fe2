/**
 * The router API, `/v1/router/*`, with hydra-router's paths and answer shapes
 * (each in the Hydra envelope). These calls may read Redis; proxied requests never do.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import {
  HydraError, assertServiceName, createMessage, healthDocument, readHealth, readHealthLog, readNodes, errorMessage, isHydraError, parseRoute,
  type ApiRequestOptions, type Hydra,
} from '@hydra-ts/core';
import { readJsonBody, sendEnvelope, sendJson, sendReason, type AnswerContext } from './respond.js';
import { spansOfExport } from './otlp-json.js';
import type { SpanRecord, TraceStore } from './trace-store.js';
import type { RouteLoader } from './route-loader.js';
import type { PerSecondStats } from './stats.js';
import type { IssueLog } from './issue-log.js';
import type { RouterSettings } from './settings.js';
import type { RouterToken } from './router-token.js';

export const ROUTER_VERSION: string = (require('../../package.json') as { version: string }).version;

/**
 * The base endpoint (OTEL_EXPORTER_OTLP_ENDPOINT) of the router's OTLP/JSON trace
 * receiver: `http://<router>/v1/router/otlp`; OTLP/HTTP appends `/v1/traces`.
 */
export const OTLP_BASE_PATH = '/v1/router/otlp';
/** The path OTLP/HTTP posts traces to under OTLP_BASE_PATH. */
export const OTLP_TRACES_PATH = `${OTLP_BASE_PATH}/v1/traces`;

/** The routes the router registers for itself, as hydra-router does, so tools list them. */
export const OWN_ROUTES = [
  '[get]/', '[get]/metrics', '[get]/v1/router/health', '[get]/v1/router/list/:thing', '[get]/v1/router/version',
  '[get]/v1/router/refresh', '[get]/v1/router/refresh/:service', '[get]/v1/router/log', '[get]/v1/router/stats',
  '[get]/v1/router/events', '[post]/v1/router/message', '[post]/v1/router/send', '[post]/v1/router/queue',
  '[get]/v1/router/traces', '[get]/v1/router/traces/:traceId', `[post]${OTLP_TRACES_PATH}`,
];

/** How many health-log entries per instance list/services shows (hydra-router: 3). */
const SERVICE_LOG_LENGTH = 3;

export type RouterPhase = 'starting' | 'serving' | 'stopping';

const NOT_SERVING: Record<Exclude<RouterPhase, 'serving'>, string> = {
  starting: 'router is starting: it has not registered yet; send requests to another router',
  stopping: 'router is shutting down; send new requests to another router',
};

export interface ApiDeps {
  hydra: Hydra;
  routes: RouteLoader;
  settings: RouterSettings;
  token: RouterToken;
  httpStats: PerSecondStats;
  wsStats: PerSecondStats;
  errorStats: PerSecondStats;
  issues: IssueLog;
  /** How an HTTP call a message names is made (timeout, registered routes only); router.ts. */
  callOptions: ApiRequestOptions;
  /** The health check fails unless the router serves: while it starts and once it is shutting down. */
  phase: () => RouterPhase;
  /** Asks every router (this one included) to reload routes. */
  broadcastRefresh: (serviceName?: string) => Promise<void>;
  /** The traces whose spans reached the routers (trace-sharing.ts). */
  traces: TraceStore;
  /** Hands received spans to every router (this one included). */
  shareSpans: (spans: SpanRecord[]) => Promise<void>;
}

/** `table[name]` when `name` is one of its own keys: a path like /v1/router/constructor is no endpoint. */
function own<T>(table: Record<string, T>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, ctx: AnswerContext, param: string) => Promise<void> | void;

export class RouterApi {
  private readonly getRoutes: Record<string, Handler>;
  private readonly postRoutes: Record<string, Handler>;
  /** What a WebSocket client may read (readForSocket), by name. */
  private readonly socketReads: Record<string, () => unknown> = {
    version: () => ({ version: ROUTER_VERSION }),
    health: () => this.healthDoc(),
    'list/routes': () => this.routeList(),
    'list/services': () => this.serviceItems(),
    'list/nodes': () => readNodes(this.d.hydra.redis),
    stats: () => this.statsResult(),
    log: () => ({ logs: this.d.issues.list() }),
    traces: () => this.d.traces.list(),
    refresh: async () => {
      await this.d.broadcastRefresh();
      return {};
    },
  };

  constructor(private readonly d: ApiDeps) {
    this.getRoutes = {
      version: (_q, res, ctx) => sendEnvelope(res, 200, { result: { version: ROUTER_VERSION } }, ctx),
      health: (_q, res, ctx) => this.health(res, ctx),
      'list/routes': (_q, res, ctx) => sendEnvelope(res, 200, { result: this.routeList() }, ctx),
      'list/services': async (_q, res, ctx) => sendEnvelope(res, 200, { result: await this.serviceItems() }, ctx),
      'list/nodes': (_q, res, ctx) => this.listNodes(res, ctx),
      stats: (_q, res, ctx) => sendEnvelope(res, 200, { result: this.statsResult() }, ctx),
      refresh: (_q, res, ctx, param) => this.refresh(res, ctx, param),
      log: (_q, res, ctx) => sendEnvelope(res, 200, { result: { logs: this.d.issues.list() } }, ctx),
      traces: (_q, res, ctx, param) => this.traces(res, ctx, param),
    };
    this.postRoutes = {
      message: (req, res, ctx) => this.withMessage(req, (m) => this.forward(m, res, ctx)),
      send: (req, res, ctx) => this.withMessage(req, async (m) => {
        this.mayAddressClients(m);
        const sent = await this.d.hydra.sendMessage(m);
        sendEnvelope(res, 200, { result: { mid: sent.mid } }, ctx);
      }),
      queue: (req, res, ctx) => this.withMessage(req, async (m) => {
        this.mayAddressClients(m);
        const queued = await this.d.hydra.queueMessage(m);
        sendEnvelope(res, 200, { result: { mid: queued.mid } }, ctx);
      }),
      [OTLP_TRACES_PATH.slice('/v1/router/'.length)]: (req, res, ctx) => this.receiveSpans(req, res, ctx),
    };
  }

  /** `rest` is the path after `/v1/router/`. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string, ctx: AnswerContext): Promise<void> {
    let name = rest.replace(/\/+$/, '');
    let param = '';
    for (const withParam of ['refresh', 'traces']) {
      if (name.startsWith(`${withParam}/`)) {
        param = safeDecode(name.slice(withParam.length + 1));
        name = withParam;
      }
    }
    const method = req.method ?? 'GET';
    const handler = method === 'POST' ? own(this.postRoutes, name) : method === 'GET' || method === 'HEAD' ? own(this.getRoutes, name) : undefined;
    if (!handler) {
      const known = own(this.getRoutes, name) ? 'GET' : own(this.postRoutes, name) ? 'POST' : '';
      if (known) sendReason(res, 405, `${method} /v1/router/${name} is not supported; use ${known}`, ctx, { allow: known });
      else sendReason(res, 404, `/v1/router/${rest} is not a router API endpoint; see ${[...Object.keys(this.getRoutes), ...Object.keys(this.postRoutes)].join(', ')}`, ctx);
      return;
    }
    try {
      await handler(req, res, ctx, param);
    } catch (err) {
      const status = isHydraError(err) ? err.status : 500;
      sendReason(res, status, errorMessage(err), ctx, status === 413 ? { connection: 'close' } : undefined);
    }
  }

  /**
   * A read of the API from a WebSocket (`hydra-router:[get]/v1/router/<name>`): what the HTTP
   * answer carries in `result`, which hydra-router sends as the reply's `bdy` (a list for the
   * list/* calls). Unknown names get hydra-router's `{error}`, with the names that work.
   */
  async readForSocket(apiRoute: string): Promise<unknown> {
    const name = apiRoute.replace(/^\/v1\/router\//, '').replace(/[?#].*$/, '').replace(/\/+$/, '');
    const read = own(this.socketReads, name);
    if (read) return read();
    return { error: `Route ${apiRoute} is not routable. Over WebSocket the router answers /v1/router/ ${Object.keys(this.socketReads).join(', ')}` };
  }

  /**
   * hydra-router's shape: per service, its route patterns without the `[method]` prefix
   * (as its table held them), the router's own included.
   */
  private routeList(): Array<{ serviceName: string; routes: string[] }> {
    const all = [...this.d.routes.list(), { serviceName: this.d.hydra.serviceName, routes: OWN_ROUTES }];
    return all
      .sort((a, b) => a.serviceName.localeCompare(b.serviceName))
      .map(({ serviceName, routes }) => ({ serviceName, routes: routes.map((r) => r.replace(/^\[[a-z]+\]/i, '')) }));
  }

  private health(res: ServerResponse, ctx: AnswerContext): void {
    const doc = this.healthDoc();
    const phase = this.d.phase();
    if (phase === 'serving') sendEnvelope(res, 200, { result: doc }, ctx);
    else sendReason(res, 503, NOT_SERVING[phase], ctx);
  }

  private healthDoc(): Record<string, unknown> {
    const h = this.d.hydra;
    return {
      ...healthDocument({
        serviceName: h.serviceName,
        serviceDescription: h.config.hydra.serviceDescription,
        serviceType: h.config.hydra.serviceType,
        version: ROUTER_VERSION,
        instanceId: h.instanceId,
        ip: '',
        port: 0,
      }),
      redis: h.redis.isReady ? 'connected' : 'disconnected',
    };
  }

  /** hydra-router's shape: one object per live instance, its nodes entry merged with its health and recent log. */
  private async serviceItems(): Promise<Record<string, unknown>[]> {
    const h = this.d.hydra;
    const items: Record<string, unknown>[] = [];
    for (const svc of h.discovery.liveServices()) {
      const [health, logs] = await Promise.all([readHealth(h.redis, svc), readHealthLog(h.redis, svc, h.onSkippedKey)]);
      for (const instance of h.discovery.instances(svc)) {
        const healthDoc = health.find((x) => x.instanceID === instance.instanceID) ?? {};
        const log = logs.find((l) => l.instanceId === instance.instanceID)?.entries.slice(0, SERVICE_LOG_LENGTH) ?? [];
        items.push({ ...instance, ...healthDoc, log });
      }
    }
    return items;
  }

  private async listNodes(res: ServerResponse, ctx: AnswerContext): Promise<void> {
    const nodes = await readNodes(this.d.hydra.redis, undefined, this.d.hydra.onSkippedKey);
    sendEnvelope(res, 200, { instanceID: this.d.hydra.instanceId, hostname: hostname(), version: ROUTER_VERSION, result: nodes }, ctx);
  }

  private statsResult(): Record<string, unknown> {
    const { httpStats, wsStats, errorStats } = this.d;
    return {
      httpStats: httpStats.raw(),
      wsStats: wsStats.raw(),
      errorStats: errorStats.raw(),
      totals: { http: httpStats.totals(), ws: wsStats.totals(), errors: errorStats.totals() },
    };
  }

  private async refresh(res: ServerResponse, ctx: AnswerContext, service: string): Promise<void> {
    if (service) assertServiceName(service, 'refresh/<service>');
    await this.d.broadcastRefresh(service || undefined);
    sendEnvelope(res, 200, {}, ctx);
  }

  /** GET /v1/router/traces: the recent traces, most recent first; /traces/<id>: one trace's spans. */
  private traces(res: ServerResponse, ctx: AnswerContext, traceId: string): void {
    if (!traceId) {
      sendEnvelope(res, 200, { result: this.d.traces.list() }, ctx);
      return;
    }
    const id = traceId.toLowerCase();
    const spans = this.d.traces.spans(id);
    if (spans) sendEnvelope(res, 200, { result: { traceId: id, spans } }, ctx);
    else sendReason(res, 404, `no trace ${traceId} is kept here (the routers keep the last ones whose spans reached them; see /v1/router/traces)`, ctx);
  }

  /**
   * POST /v1/router/otlp/v1/traces: an OTLP/JSON export, answered as OTLP/HTTP answers
   * (200 with an ExportTraceServiceResponse). Protobuf, OTLP/HTTP's default, is refused
   * with what to set: decoding it would need a protobuf runtime in the router.
   */
  private async receiveSpans(req: IncomingMessage, res: ServerResponse, ctx: AnswerContext): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      sendReason(res, 415, `the router reads OTLP/JSON (content-type application/json), not ${type || 'a body without a content-type'}: set OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json`, ctx, { connection: 'close' });
      return;
    }
    const spans = spansOfExport(await readJsonBody(req, this.d.settings.bodyLimitBytes, 'an OTLP ExportTraceServiceRequest'));
    await this.d.shareSpans(spans);
    sendJson(res, 200, {}, ctx);
  }

  private async withMessage(req: IncomingMessage, act: (m: ReturnType<typeof createMessage>) => Promise<void>): Promise<void> {
    const message = createMessage(await readJsonBody(req, this.d.settings.bodyLimitBytes));
    parseRoute(message.to); // names a malformed `to` before anything is sent
    this.d.httpStats.log(parseRoute(message.to).serviceName);
    await act(message);
  }

  /**
   * A posted message reaches a WebSocket client when it carries `via` (a reply goes
   * there) or is sent to the router service (which delivers its `via`/`fwd` to a
   * socket). Only a caller holding the router token may do that: otherwise anyone could
   * write into any client's socket knowing its public id.
   */
  private mayAddressClients(m: ReturnType<typeof createMessage>): void {
    if (this.d.token.configured) return; // the caller presented it to get here
    if (m.via || parseRoute(m.to).serviceName === this.d.hydra.serviceName) {
      throw new HydraError('FORBIDDEN', `a message with "via" or to ${this.d.hydra.serviceName} reaches WebSocket clients; the router API sends those only when routerToken is set (and presented)`);
    }
  }

  /** POST /v1/router/message: an HTTP call described by a UMF message whose `forward` names the route. */
  private async forward(m: ReturnType<typeof createMessage>, res: ServerResponse, ctx: AnswerContext): Promise<void> {
    if (!m.forward) {
      sendReason(res, 400, 'UMF field "forward" is required: the route to call, e.g. "hello-service:[get]/v1/hello"', ctx);
      return;
    }
    const answer = await this.d.hydra.makeAPIRequest(
      { to: m.forward, from: `${this.d.hydra.instanceId}@${this.d.hydra.serviceName}:/`, body: m.body },
      this.d.callOptions,
    );
    sendEnvelope(res, answer.statusCode, { result: answer.result }, ctx);
  }
}

/** A path segment decoded, or as given when it is not valid percent-encoding (validation then names it). */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
