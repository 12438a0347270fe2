export { Router, routerConfig, ROUTER_SERVICE, type RouterOptions } from './router.js';
export { readSettings, DEFAULT_SETTINGS, type RouterSettings } from './settings.js';
export { RouteTable, parseRouteString, splitPath, type RouteEntry, type RouteMatch, type Liveness } from './route-table.js';
export { RoundRobin, LeastOutstanding, STRATEGIES, type BalancingStrategy, type Candidate } from './balancer.js';
export { PerSecondStats } from './stats.js';
export type { ProxyObserver, FailureKind } from './proxy.js';
export type { Snapshot, ServiceView, InstanceView, HostView, HostInstanceView } from './dashboard.js';
