/**
 * Prometheus metrics of one router (its own prom-client Registry, so two routers
 * in one process never share counters). Label children are cached: building a
 * label hash per request would cost more than the increment.
 */
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';

export class RouterMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'service' | 'method' | 'status'>;
  private readonly latency: Histogram<'service'>;
  private readonly upstreamErrors: Counter<'service' | 'kind'>;
  private readonly wsMessages: Counter<'direction'>;
  private readonly requestChildren = new Map<string, Counter.Internal>();
  private readonly latencyChildren = new Map<string, Histogram.Internal<'service'>>();

  constructor(instanceCounts: () => Record<string, number>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'hydra_router_' });
    this.requests = new Counter({
      name: 'hydra_router_requests_total',
      help: 'HTTP requests answered, by target service ("router" for the router API, "none" when nothing matched), method and status',
      labelNames: ['service', 'method', 'status'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'hydra_router_request_duration_seconds',
      help: 'Time from request to the end of the response, by target service',
      labelNames: ['service'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.upstreamErrors = new Counter({
      name: 'hydra_router_upstream_errors_total',
      help: 'Failed attempts to reach an instance, by service and kind (refused, timeout, reset, retried)',
      labelNames: ['service', 'kind'],
      registers: [this.registry],
    });
    this.wsMessages = new Counter({
      name: 'hydra_router_ws_messages_total',
      help: 'WebSocket messages, by direction (in from clients, out to clients, buffered for absent clients)',
      labelNames: ['direction'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'hydra_router_instances',
      help: 'Live instances per service, as discovery sees them',
      labelNames: ['service'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [service, n] of Object.entries(instanceCounts())) this.labels(service).set(n);
      },
    });
  }

  request(service: string, method: string, status: number, seconds: number): void {
    const key = `${service}\0${method}\0${status}`;
    let counter = this.requestChildren.get(key);
    if (!counter) this.requestChildren.set(key, (counter = this.requests.labels(service, method, String(status))));
    counter.inc();
    let histogram = this.latencyChildren.get(service);
    if (!histogram) this.latencyChildren.set(service, (histogram = this.latency.labels(service)));
    histogram.observe(seconds);
  }

  upstreamError(service: string, kind: string): void {
    this.upstreamErrors.labels(service, kind).inc();
  }

  ws(direction: 'in' | 'out' | 'buffered'): void {
    this.wsMessages.labels(direction).inc();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
