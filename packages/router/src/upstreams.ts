/**
 * The instances the router sends requests to: one undici Pool (keep-alive
 * connections) per live instance, kept in step with core's Discovery, with
 * passive health:
 * - an instance that refuses a connection leaves the rotation at once and comes
 *   back on trial after a back-off;
 * - an outlier (`outlierFailures` failed answers in a row: 5xx, timeouts, broken
 *   connections) leaves it for `outlierEjection`, longer each time in a row (Envoy's
 *   consecutive-5xx detection);
 * - when its presence is deleted (a graceful stop) it takes no new requests and
 *   finishes those it has; when its presence expires (no heartbeat: dead or hung)
 *   the requests it holds are handed back to their callers at once (InFlight.lost),
 *   rather than left to wait for requestTimeout.
 */
import { Pool } from 'undici';
import type { Discovery, DownReason, Instance, Logger } from '@hydra-ts/core';
import { errorMessage } from '@hydra-ts/core';
import type { BalancingStrategy, Candidate } from './balancer.js';
import { InFlightList, type InFlightEntry } from './in-flight.js';

export interface PoolOptions {
  /** Most concurrent connections to one instance. */
  connections: number;
  /** How long an idle upstream connection is kept open (ms). */
  keepAliveTimeoutMs: number;
  /** Time allowed to open a TCP connection to an instance (ms). */
  connectTimeoutMs: number;
  /** Longest wait for a response's headers, and between two chunks of its body (ms). */
  requestTimeoutMs: number;
}

const FIRST_EJECTION_MS = 1000;
const MAX_EJECTION_MS = 30_000;
const MAX_OUTLIER_EJECTION_MS = 300_000;

/** A request running on an instance, told when the instance is lost under it. */
export interface InFlight extends InFlightEntry {
  lost(upstream: Upstream): void;
}

export class Upstream implements Candidate {
  /** Requests sent and not finished. */
  readonly inFlight = new InFlightList<InFlight>();
  /** Until when the instance is out of rotation (epoch ms). */
  ejectedUntil = 0;
  private refusals = 0;
  private failures = 0;
  private ejections = 0;
  readonly pool: Pool;
  readonly origin: string;

  constructor(readonly instance: Instance, options: PoolOptions) {
    const host = instance.ip.includes(':') ? `[${instance.ip}]` : instance.ip;
    this.origin = `http://${host}:${instance.port}`;
    this.pool = new Pool(this.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
    });
  }

  get instanceId(): string {
    return this.instance.instanceID;
  }

  get serviceName(): string {
    return this.instance.serviceName;
  }

  get outstanding(): number {
    return this.inFlight.size;
  }

  healthy(now: number): boolean {
    return this.ejectedUntil <= now;
  }

  /** A refused connection: out of rotation, each refusal in a row doubling the time. */
  refused(now: number): number {
    const ms = Math.min(FIRST_EJECTION_MS * 2 ** this.refusals, MAX_EJECTION_MS);
    this.refusals++;
    this.ejectedUntil = now + ms;
    return ms;
  }

  /**
   * A failed answer. Returns how long the instance is now out of rotation when this
   * failure was the `limit`th in a row (0 otherwise, or when `limit` is 0).
   */
  failed(now: number, limit: number, baseMs: number): number {
    if (limit === 0 || ++this.failures < limit) return 0;
    this.failures = 0;
    this.ejections++;
    const ms = Math.min(baseMs * this.ejections, MAX_OUTLIER_EJECTION_MS);
    this.ejectedUntil = now + ms;
    return ms;
  }

  /** A good answer ends every streak (cheap when there is none: this runs per request). */
  succeeded(): void {
    if (this.refusals || this.failures || this.ejections) {
      this.refusals = 0;
      this.failures = 0;
      this.ejections = 0;
    }
  }
}

export class Upstreams {
  private readonly services = new Map<string, Map<string, Upstream>>();
  /** The same members as arrays, rebuilt on membership changes, for the strategy's fast path. */
  private readonly lists = new Map<string, Upstream[]>();
  private readonly onUp = (i: Instance) => this.add(i);
  private readonly onDown = (i: Instance, reason: DownReason) => this.remove(i, reason);

  constructor(
    private readonly discovery: Discovery,
    private readonly strategy: BalancingStrategy,
    private readonly options: PoolOptions,
    private readonly outlier: { failures: number; ejectionMs: number },
    private readonly logger: Logger,
    private readonly selfService: string,
    /** Why an instance may not be an upstream (see upstream-guard.ts); undefined = it may. */
    private readonly refusal: (instance: Instance) => string | undefined = () => undefined,
  ) {
    for (const svc of discovery.liveServices()) for (const i of discovery.instances(svc)) this.add(i);
    discovery.on('up', this.onUp);
    discovery.on('down', this.onDown);
  }

  private add(instance: Instance): void {
    // Other routers are peers, not backends.
    if (instance.serviceName === this.selfService) return;
    const refused = this.refusal(instance);
    if (refused) {
      this.logger.warn({ upstreamService: instance.serviceName, upstreamInstance: instance.instanceID, reason: refused }, 'instance refused as an upstream');
      return;
    }
    let members = this.services.get(instance.serviceName);
    if (!members) this.services.set(instance.serviceName, (members = new Map()));
    if (members.has(instance.instanceID)) return;
    members.set(instance.instanceID, new Upstream(instance, this.options));
    this.lists.set(instance.serviceName, [...members.values()]);
  }

  private remove(instance: Instance, reason: DownReason): void {
    const members = this.services.get(instance.serviceName);
    const upstream = members?.get(instance.instanceID);
    if (!upstream) return;
    members!.delete(instance.instanceID);
    if (members!.size === 0) {
      this.services.delete(instance.serviceName);
      this.lists.delete(instance.serviceName);
    } else {
      this.lists.set(instance.serviceName, [...members!.values()]);
    }
    if (reason === 'expired' && upstream.inFlight.size) {
      // No heartbeat for 3 s: whatever it holds would wait for requestTimeout. Its callers retry
      // elsewhere when that is safe, or answer at once (proxy.ts).
      this.logger.warn({ upstreamService: upstream.serviceName, upstreamInstance: upstream.instanceId, origin: upstream.origin, requests: upstream.inFlight.size }, 'instance stopped heartbeating with requests in flight; handing them back');
      for (const call of upstream.inFlight.snapshot()) call.lost(upstream);
    }
    // After a graceful stop ('removed') requests running on it finish by themselves; close refuses new ones.
    upstream.pool.close().catch((err: unknown) => this.logger.debug({ err: errorMessage(err) }, 'closing an upstream pool failed'));
  }

  /** Drops members refused now (the router learns its own address only once it listens). */
  recheck(): void {
    for (const members of [...this.services.values()]) {
      for (const u of [...members.values()]) {
        const refused = this.refusal(u.instance);
        if (!refused) continue;
        this.logger.warn({ upstreamService: u.serviceName, upstreamInstance: u.instanceId, reason: refused }, 'instance refused as an upstream');
        this.remove(u.instance, 'removed');
      }
    }
  }

  /** True when the service has at least one live instance (ejected or not). */
  has(serviceName: string): boolean {
    return (this.services.get(serviceName)?.size ?? 0) > 0;
  }

  list(serviceName: string): readonly Upstream[] {
    return this.lists.get(serviceName) ?? [];
  }

  serviceNames(): string[] {
    return [...this.services.keys()].sort();
  }

  /**
   * The next instance for a request, skipping those already tried and those out
   * of rotation. When every untried instance is ejected, the one due back first
   * is tried anyway: better a fast refusal than a certain 503.
   */
  choose(serviceName: string, tried: ReadonlySet<Upstream>): Upstream | undefined {
    const members = this.services.get(serviceName);
    if (!members) return undefined;
    const now = Date.now();
    if (tried.size === 0) {
      // The usual case (first attempt, nobody ejected) allocates nothing.
      const all = this.lists.get(serviceName)!;
      if (allHealthy(all, now)) return all.length === 1 ? all[0] : this.strategy.pick(serviceName, all);
    }
    const untried: Upstream[] = [];
    const healthy: Upstream[] = [];
    for (const u of members.values()) {
      if (tried.has(u)) continue;
      untried.push(u);
      if (u.healthy(now)) healthy.push(u);
    }
    if (healthy.length) return healthy.length === 1 ? healthy[0] : this.strategy.pick(serviceName, healthy);
    if (untried.length === 0) return undefined;
    return untried.reduce((a, b) => (b.ejectedUntil < a.ejectedUntil ? b : a));
  }

  refused(upstream: Upstream, reason: string): void {
    const ms = upstream.refused(Date.now());
    this.logger.warn({ upstreamService: upstream.serviceName, upstreamInstance: upstream.instanceId, origin: upstream.origin, reason, outOfRotationMs: ms }, 'instance refused a connection; taken out of rotation');
  }

  /** A failed answer (5xx, timeout, broken connection): outlier detection counts it. */
  failed(upstream: Upstream, reason: string): void {
    const ms = upstream.failed(Date.now(), this.outlier.failures, this.outlier.ejectionMs);
    if (ms) this.logger.warn({ upstreamService: upstream.serviceName, upstreamInstance: upstream.instanceId, origin: upstream.origin, reason, failuresInARow: this.outlier.failures, outOfRotationMs: ms }, 'instance failed repeatedly; taken out of rotation (outlier)');
  }

  async close(): Promise<void> {
    this.discovery.off('up', this.onUp);
    this.discovery.off('down', this.onDown);
    const all = [...this.services.values()].flatMap((m) => [...m.values()]);
    this.services.clear();
    this.lists.clear();
    await Promise.allSettled(all.map((u) => u.pool.destroy()));
  }
}

function allHealthy(upstreams: readonly Upstream[], now: number): boolean {
  for (const u of upstreams) if (!u.healthy(now)) return false;
  return true;
}
