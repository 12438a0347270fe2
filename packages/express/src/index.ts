export { createService, hydraOf, DEFAULT_JSON_LIMIT, HEALTH_PATH, METRICS_PATH, type ExpressService, type ExpressServiceOptions } from './service.js';
export * from './responses.js';
export { routeStrings } from './routes.js';
export { ServiceMetrics } from './metrics.js';
export { UNMATCHED_ROUTE } from './observe.js';
