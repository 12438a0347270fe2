/**
 * Prometheus metrics of one router (its own prom-client Registry, so two routers
 * in one process never share counters). prom-client validates and hashes the
 * labels on every observe and inc; on the request path that cost more than the
 * rest of the router's own work (measured: ~10 µs a request), so per-request
 * figures are counted in plain maps and arrays and handed to the registry when
 * it is scraped.
 */
import { Registry, Counter, Gauge, collectDefaultMetrics, type Metric } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Series {
  /** Observations per bucket (not cumulative); the last cell counts those above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram by service kept in arrays, exposed through prom-client's metric
 * interface (`get()` in the shape its own Histogram returns).
 */
class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(readonly name: string, readonly help: string) {}

  observe(service: string, seconds: number): void {
    let s = this.series.get(service);
    if (!s) this.series.set(service, (s = { counts: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 }));
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }

  get() {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const [service, s] of this.series) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le, service }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', service }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { service }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { service }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.series.clear();
  }
}

/** Requests by service, method and status: nested maps, so counting builds no key string. */
type RequestCounts = Map<string, Map<string, Map<number, number>>>;

export class RouterMetrics {
  readonly registry = new Registry();
  private readonly requestCounts: RequestCounts = new Map();
  private readonly latency = new LatencyHistogram('hydra_router_request_duration_seconds', 'Time from request to the end of the response, by target service');
  private readonly upstreamErrors: Counter<'service' | 'kind'>;
  private readonly wsMessages: Counter<'direction'>;

  /** `instanceCounts`: live instances by service name (a Map: names come from Redis, see stats.ts). */
  constructor(instanceCounts: () => ReadonlyMap<string, number>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'hydra_router_' });
    const counts = this.requestCounts;
    new Counter({
      name: 'hydra_router_requests_total',
      help: 'HTTP requests answered, by target service ("router" for the router API, "none" when nothing matched), method and status',
      labelNames: ['service', 'method', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [service, methods] of counts) {
          for (const [method, statuses] of methods) for (const [status, n] of statuses) this.labels(service, method, String(status)).inc(n);
        }
      },
    });
    // Not a prom-client class, but it answers get() in the shape the registry formats.
    this.registry.registerMetric(this.latency as unknown as Metric);
    this.upstreamErrors = new Counter({
      name: 'hydra_router_upstream_errors_total',
      help: 'Failed attempts to reach an instance, by service and kind (refused, gone, timeout, reset, too-large)',
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
        for (const [service, n] of instanceCounts()) this.labels(service).set(n);
      },
    });
  }

  request(service: string, method: string, status: number, seconds: number): void {
    let methods = this.requestCounts.get(service);
    if (!methods) this.requestCounts.set(service, (methods = new Map()));
    let statuses = methods.get(method);
    if (!statuses) methods.set(method, (statuses = new Map()));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    this.latency.observe(service, seconds);
  }

  /** Rare (failures): prom-client's own bookkeeping is fine here. */
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
