export { createService, hydraOf, DEFAULT_JSON_LIMIT, type ExpressService, type ExpressServiceOptions } from './service.js';
export * from './responses.js';
export { routeStrings } from './routes.js';
