/** The cluster's shape and addresses; every one can be changed so a test can run its own cluster beside `npm start`. */
import { WORKER_SERVICES, isWorkerService } from './services.js';

export interface ClusterOptions {
  /** Simulated manager hosts, each running a router (default 3, the article's). */
  managers?: number;
  /** Simulated worker hosts (default 5). */
  workers?: number;
  /** Worker services to run (default: hello-service and hpp-service, those whose package is built). */
  services?: string[];
  /** Instances of each worker service at start (default: one per worker). */
  instances?: number;
  /** Redis to use; default HYDRA_REDIS_URL, else 127.0.0.1:6379 if it answers, else a private redis-server. */
  redisUrl?: string;
  /** The port every router listens on, on its own manager's address (default 8000). */
  routerPort?: number;
  /** First port of each worker service on a worker's address (default hello-service 5000, hpp-service 6000). */
  servicePorts?: Record<string, number>;
  /** Manager addresses are `<prefix>1`, `<prefix>2`, … (default 127.0.1.). */
  managerPrefix?: string;
  /** Worker addresses are `<prefix>1`, … (default 127.0.2.). */
  workerPrefix?: string;
  /** HAProxy in front of the routers: false = none; default on when haproxy is installed. */
  balancer?: boolean;
  balancerHost?: string;
  /** Default 8080. */
  balancerPort?: number;
  /** Listen for commands on `<dir>/control.sock` (default true). */
  controlSocket?: boolean;
  /** Where instance comings and goings and command progress are reported (default: none). */
  onEvent?: (line: string) => void;
  /** How long one instance may take to register (default 30 s: 13 processes starting on two cores take a while). */
  startTimeoutMs?: number;
  /**
   * Every process exports its spans to the routers (through the balancer when there is
   * one), whose dashboards then list the last traces (default false; `npm start` turns it on).
   */
  dashboardTraces?: boolean;
}

export type ResolvedOptions = Required<Omit<ClusterOptions, 'redisUrl' | 'onEvent' | 'balancer'>> & Pick<ClusterOptions, 'redisUrl'> & {
  balancer: boolean | undefined;
  onEvent: (line: string) => void;
};

export function resolveOptions(o: ClusterOptions): ResolvedOptions {
  const positive = (name: string, v: number | undefined, dflt: number, min = 1) => {
    const n = v ?? dflt;
    if (!Number.isInteger(n) || n < min || n > 254) throw new Error(`${name} must be a whole number from ${min} to 254, not ${v}`);
    return n;
  };
  const prefix = (name: string, v: string | undefined, dflt: string) => {
    const p = v ?? dflt;
    if (!/^127\.\d{1,3}\.\d{1,3}\.$/.test(p)) throw new Error(`${name} must be a loopback prefix like 127.0.1. (ending with a dot), not "${p}"`);
    return p;
  };
  const port = (name: string, v: number | undefined, dflt: number) => {
    const n = v ?? dflt;
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a port number 1-65535, not ${v}`);
    return n;
  };
  const workers = positive('workers', o.workers, 5);
  const services = o.services ?? Object.keys(WORKER_SERVICES);
  for (const s of services) if (!isWorkerService(s)) throw new Error(`unknown service "${s}"; known: ${Object.keys(WORKER_SERVICES).join(', ')}`);
  const servicePorts = { ...Object.fromEntries(Object.entries(WORKER_SERVICES).map(([k, v]) => [k, v.basePort])), ...o.servicePorts };
  for (const [svc, p] of Object.entries(servicePorts)) port(`servicePorts.${svc}`, p, 0);
  return {
    managers: positive('managers', o.managers, 3),
    workers,
    services,
    instances: positive('instances', o.instances, workers, 0),
    redisUrl: o.redisUrl,
    routerPort: port('routerPort', o.routerPort, 8000),
    servicePorts,
    managerPrefix: prefix('managerPrefix', o.managerPrefix, '127.0.1.'),
    workerPrefix: prefix('workerPrefix', o.workerPrefix, '127.0.2.'),
    balancer: o.balancer,
    balancerHost: o.balancerHost ?? '127.0.0.1',
    balancerPort: port('balancerPort', o.balancerPort, 8080),
    controlSocket: o.controlSocket ?? true,
    onEvent: o.onEvent ?? (() => {}),
    startTimeoutMs: o.startTimeoutMs ?? 30_000,
    dashboardTraces: o.dashboardTraces ?? false,
  };
}
