/**
 * What a service tells about its HTTP requests: a server span per request
 * (continuing the caller's trace context; HTTP semantic conventions) and the RED
 * metrics by route pattern, so labels stay as few as the routes a service has.
 */
import type { NextFunction, Request, Response } from 'express';
import { Tracer, instanceAttributes, runArrived, tracingOn, type Hydra } from '@hydra-ts/core';
import type { ServiceMetrics } from './metrics.js';

/** The route label of a request no route matched (404s, and the service's own /health, /metrics). */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Where the router that answers a request is mounted (mountedAt). */
const MOUNT = Symbol('hydra-ts mount path');
type Mounted = Request & { [MOUNT]?: string };

/**
 * Middleware placed before a mounted router: notes its mount path. Express puts
 * `req.baseUrl` back when a handler fails (next(err) leaves the router), so by the
 * time the response ends only this still says where the route was.
 */
export function mountedAt(base: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    (req as Mounted)[MOUNT] = base === '/' ? '' : base.replace(/\/+$/, '');
    next();
  };
}

/** The pattern of the route that answered (`/v1/hpp/:id`), never the raw path. */
function routePattern(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${(req as Mounted)[MOUNT] ?? req.baseUrl}${path}` : UNMATCHED_ROUTE;
}

/** Where a request's span waits between observeRequests and enterTrace. */
const ARRIVED = Symbol('hydra-ts request span');
type Observed = Request & { [ARRIVED]?: ReturnType<Tracer['startFrom']> };

/**
 * Middleware, first in the chain: a span and metrics for every request, both settled
 * when the response ends (body-parser refusals included).
 */
export function observeRequests(hydra: Hydra, metrics: ServiceMetrics) {
  const tracer = new Tracer('@hydra-ts/express', instanceAttributes(hydra.serviceName, hydra.instanceId));
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    const method = req.method;
    const span = tracingOn() ? tracer.startFrom(req.headers, method, 'server', { 'http.request.method': method, 'url.path': req.path, 'url.scheme': 'http' }) : undefined;
    (req as Observed)[ARRIVED] = span;
    res.once('close', () => {
      const route = routePattern(req);
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.request(method, route, status, (performance.now() - started) / 1000);
      if (!span) return;
      if (route !== UNMATCHED_ROUTE) span.span.updateName(`${method} ${route}`);
      span.set('http.route', route === UNMATCHED_ROUTE ? undefined : route).set('http.response.status_code', status);
      if (status >= 500) span.fail(`answered ${status}`, String(status));
      span.end();
    });
    next();
  };
}

/**
 * Middleware, after the body parser: the rest of the chain runs in the request's trace
 * context. Not earlier, because the parser resumes from the socket's stream events,
 * which run in the context of the connection, not of the request.
 */
export function enterTrace(req: Request, _res: Response, next: NextFunction): void {
  runArrived((req as Observed)[ARRIVED], req.headers, next);
}
