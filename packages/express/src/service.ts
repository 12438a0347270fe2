/**
 * A Hydra service on Express 5: the hydra-express equivalent. It loads the config,
 * listens on the configured port, mounts the routers, publishes their routes with
 * their methods, answers errors in the Hydra envelope, and shuts down gracefully
 * (presence first, then in-flight requests, then connections).
 */
import { createServer, type Server } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { Hydra, assertJsonDepth, isHydraError, type ConfigSource, type HydraOptions } from '@hydra-ts/core';
import { sendResponse } from './responses.js';
import { routeStrings } from './routes.js';
import { ServiceMetrics } from './metrics.js';
import { enterTrace, mountedAt, observeRequests } from './observe.js';

/** JSON body limit when the config has no `bodyParser.json.limit` (hydra-express's default). */
export const DEFAULT_JSON_LIMIT = '100kb';
/**
 * Path answered for container health checks (Docker HEALTHCHECK, Kubernetes probes).
 * It is not published to Redis, so routers never list it; once close() starts, the
 * port refuses new connections and the check fails.
 */
export const HEALTH_PATH = '/health';
/** Prometheus metrics of the instance (metrics.ts); like HEALTH_PATH, never published to Redis. */
export const METRICS_PATH = '/metrics';
/** How long close() lets in-flight requests finish before cutting connections. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/** What createService needs beside the config: the routers, and hooks. */
export interface ExpressServiceOptions extends HydraOptions {
  /** Mount path → router, e.g. `{'/v1/hello': helloRouter}`. */
  routes: Record<string, Router>;
  /**
   * Runs once the config is loaded, before the service listens or registers: a
   * service checks its own config sections here, so a bad one fails the start
   * before the instance is ever visible.
   */
  prepare?: (hydra: Hydra) => void | Promise<void>;
  /** Runs before the routers are mounted (auth, logging, ...). */
  middleware?: (app: Express) => void;
  /** How long close() lets in-flight requests finish before cutting connections; default 10 s. */
  drainTimeoutMs?: number;
}

/** A running service: registered, listening, its routes published. */
export interface ExpressService {
  /** The instance: messaging, queues, discovery, makeAPIRequest. */
  hydra: Hydra;
  /** The Express app the routers are mounted on. */
  app: Express;
  /** What METRICS_PATH serves; add your own metrics to `metrics.registry`. */
  metrics: ServiceMetrics;
  /** The HTTP server. */
  server: Server;
  /** The port it listens on (the one chosen when servicePort is 0 or a range). */
  port: number;
  /**
   * Graceful stop: presence withdrawn (routers stop sending), requests in flight
   * finished (up to drainTimeoutMs), then Redis connections closed. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * The Hydra of the service a request reached (instance id, config, messaging). Set
 * before the port opens, so a handler has it even for a request that arrives
 * between registration and createService() returning.
 */
export function hydraOf(req: Request): Hydra {
  return req.app.locals.hydra as Hydra;
}

/** `bodyParser.json.limit` from the config document, as hydra-express reads it. */
function jsonLimit(config: Record<string, unknown>): string | number {
  const parser = config.bodyParser as { json?: { limit?: string | number } } | undefined;
  return parser?.json?.limit ?? DEFAULT_JSON_LIMIT;
}

/** Body-parser and handler errors become envelopes naming the problem; the process never crashes on them. */
function errorHandler(hydra: Hydra) {
  return (err: Error & { status?: number; type?: string; limit?: number }, req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') return sendResponse(res, 413, { result: { reason: `request body exceeds the ${err.limit} byte limit` } });
    if (err.type === 'entity.parse.failed') return sendResponse(res, 400, { result: { reason: `request body is not valid JSON: ${err.message}` } });
    if (isHydraError(err, 'INVALID_JSON')) return sendResponse(res, 400, { result: { reason: err.message } });
    const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
    if (status >= 500) hydra.logger.error({ err: err.message, method: req.method, path: req.path }, 'request handler failed');
    sendResponse(res, status, { result: { reason: status >= 500 ? 'internal error' : err.message } });
  };
}

/**
 * Starts a Hydra service on Express 5: loads the config (`config` is a file path, a
 * document, or undefined for the environment alone), runs `prepare`, mounts
 * `middleware` and the routers, listens on servicePort, registers, and publishes
 * the routes (so routers reload). Every answer, errors included, is the envelope;
 * `GET /health` answers for container health checks. Fails with a coded error
 * naming the bad config field or the unreachable Redis, with nothing left running.
 *
 * ```ts
 * const api = Router();
 * api.get('/:id', (req, res) => sendOk(res, { result: { id: req.params.id } }));
 * const service = await createService('config.json', { routes: { '/v1/items': api } });
 * ```
 */
export async function createService(config: ConfigSource, options: ExpressServiceOptions): Promise<ExpressService> {
  const hydra = await Hydra.create(config, options);
  try {
    await options.prepare?.(hydra);
  } catch (err) {
    await hydra.close();
    throw err;
  }
  const app = express();
  const server = createServer(app);
  let closing = false;

  // Before the port opens: the first request may arrive as soon as presence is written, before createService returns.
  app.locals.hydra = hydra;
  app.disable('x-powered-by');
  const metrics = new ServiceMetrics(hydra);
  app.use(observeRequests(hydra, metrics));
  app.use((_req, res, next) => {
    res.setHeader('x-process-id', String(process.pid));
    // While draining, tell keep-alive clients to reconnect elsewhere.
    if (closing) res.setHeader('connection', 'close');
    next();
  });
  app.get(HEALTH_PATH, (_req, res) => {
    const h = hydra.config.hydra;
    sendResponse(res, 200, {
      result: { serviceName: hydra.serviceName, instanceID: hydra.instanceId, version: h.serviceVersion, redis: hydra.redis.isReady ? 'connected' : 'disconnected', uptimeSeconds: process.uptime() },
    });
  });
  app.get(METRICS_PATH, async (_req, res, next) => {
    try {
      const text = await metrics.text();
      res.type(metrics.contentType).send(text);
    } catch (err) {
      next(err);
    }
  });
  // The depth check sees the raw bytes before parsing: a body nested thousands deep parses,
  // but answering with it (JSON.stringify) would overflow the stack.
  app.use(express.json({ limit: jsonLimit(hydra.config), verify: (_req, _res, body) => assertJsonDepth(body, 'request body') }));
  app.use(enterTrace);
  options.middleware?.(app);
  for (const [base, router] of Object.entries(options.routes)) app.use(base, mountedAt(base), router);
  app.use((req, res) => sendResponse(res, 404, { result: { reason: `no route for ${req.method} ${req.path}` } }));
  app.use(errorHandler(hydra));

  let port: number;
  try {
    port = await hydra.listen(server);
    await hydra.registerService();
    await hydra.registerRoutes(routeStrings(options.routes));
  } catch (err) {
    server.close();
    await hydra.close();
    throw err;
  }

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      closing = true;
      await hydra.withdraw();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      await hydra.close();
    })();
    return closed;
  };
  return { hydra, app, metrics, server, port, close };
}
