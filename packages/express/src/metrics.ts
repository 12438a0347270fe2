/**
 * A service's Prometheus metrics (prom-client, a registry per service, so services
 * sharing a process keep theirs apart): RED metrics of its HTTP routes, its
 * messages by type, its queue depth, and prom-client's process metrics
 * (event-loop lag among them). Served at METRICS_PATH beside /health.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Hydra } from '@hydra-ts/core';

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The metrics of one service instance. */
export class ServiceMetrics {
  /** prom-client's registry of this instance: add your own metrics to it. */
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly errors: Counter<'method' | 'route'>;
  private readonly durations: Histogram<'method' | 'route'>;

  /** Metrics of `hydra`'s instance (its message counts, its queue). */
  constructor(hydra: Hydra) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'hydra_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.errors = new Counter({ name: 'hydra_http_request_errors_total', help: 'HTTP requests answered with a 5xx status, by method and route pattern', labelNames: ['method', 'route'], registers });
    this.durations = new Histogram({ name: 'hydra_http_request_duration_seconds', help: 'Time from request to the end of the response, by method and route pattern', labelNames: ['method', 'route'], buckets: DURATION_BUCKETS, registers });
    new Counter({
      name: 'hydra_messages_total',
      help: 'UMF messages by outcome (sent, received, failed: could not be sent or its handler failed) and type ("other" past the first types seen)',
      labelNames: ['outcome', 'type'],
      registers,
      collect() {
        this.reset();
        for (const { outcome, type, count } of hydra.messageCounts()) this.labels(outcome, type).inc(count);
      },
    });
    new Gauge({
      name: 'hydra_queue_depth',
      help: "Messages in this service's queue, by list (waiting: mqrecieved, in progress: mqinprogress, failed: mqincomplete)",
      labelNames: ['list'],
      registers,
      async collect() {
        // Without Redis the depth is unknown: the gauge says nothing rather than something old.
        this.reset();
        if (!hydra.redis.isReady) return;
        const { waiting, inProgress, incomplete } = await hydra.queues.lengths(hydra.serviceName);
        this.labels('waiting').set(waiting);
        this.labels('in-progress').set(inProgress);
        this.labels('failed').set(incomplete);
      },
    });
  }

  /** One answered request; `route` is a pattern (bounded by the routes the service has). */
  request(method: string, route: string, status: number, seconds: number): void {
    this.requests.labels(method, route, String(status)).inc();
    if (status >= 500) this.errors.labels(method, route).inc();
    this.durations.labels(method, route).observe(seconds);
  }

  /** Everything, in Prometheus's text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of text(). */
  get contentType(): string {
    return this.registry.contentType;
  }
}
