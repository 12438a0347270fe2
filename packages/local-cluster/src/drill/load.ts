/**
 * A steady, bounded stream of GETs, as clients in front of the balancer would send:
 * a few loops, each one request at a time with a pause between, every request with
 * its own timeout. It stops by itself after `maxRequests` or `maxMs`, whichever
 * comes first, and counts what a step needs: sent, failed, how long answers took,
 * and when each version of the service answered. The fault drill, the cluster test
 * and the swarm test (deploy/swarm) all load with it.
 */
export interface LoadOptions {
  url: string;
  /** Parallel loops (default 4). */
  loops?: number;
  /** Pause between two requests of one loop (default 20 ms: about 200 requests/s for 4 loops). */
  pauseMs?: number;
  /** A request that has not answered by then counts as failed (default 5 s). */
  timeoutMs?: number;
  maxRequests?: number;
  maxMs?: number;
}

export interface Failure {
  at: number;
  what: string;
}

export interface LoadCounts {
  sent: number;
  failed: number;
  /** The first few failures, with their time (ms since the epoch). */
  failures: Failure[];
  /** For each `result.version` seen: first and last time (ms since the epoch) it answered. */
  versions: Map<string, { first: number; last: number; count: number }>;
  /** Milliseconds from sending to the whole answer, of every request that got one (filled by stop()). */
  latency: { p50: number; p99: number; max: number };
}

const KEEP_FAILURES = 20;

export class Load {
  private readonly counts: LoadCounts = { sent: 0, failed: 0, failures: [], versions: new Map(), latency: { p50: 0, p99: 0, max: 0 } };
  /** One entry per answered request: bounded by maxRequests. */
  private readonly latencies: number[] = [];
  private stopping = false;
  private readonly done: Promise<void>;

  constructor(private readonly o: LoadOptions) {
    const loops = o.loops ?? 4;
    const until = Date.now() + (o.maxMs ?? 300_000);
    const max = o.maxRequests ?? 100_000;
    this.done = Promise.all(Array.from({ length: loops }, () => this.loop(until, max))).then(() => {});
  }

  private async loop(until: number, max: number): Promise<void> {
    while (!this.stopping && Date.now() < until && this.counts.sent < max) {
      this.counts.sent++;
      await this.once();
      await new Promise((r) => setTimeout(r, this.o.pauseMs ?? 20));
    }
  }

  private async once(): Promise<void> {
    const t0 = performance.now();
    try {
      const res = await fetch(this.o.url, { signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000) });
      const text = await res.text();
      this.latencies.push(performance.now() - t0);
      if (res.status !== 200) return this.fail(`HTTP ${res.status} ${text.slice(0, 200)}`);
      const version = (JSON.parse(text) as { result?: { version?: unknown } }).result?.version;
      if (typeof version === 'string') this.sawVersion(version);
    } catch (err) {
      this.fail(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    }
  }

  private fail(what: string): void {
    this.counts.failed++;
    if (this.counts.failures.length < KEEP_FAILURES) this.counts.failures.push({ at: Date.now(), what });
  }

  private sawVersion(version: string): void {
    const now = Date.now();
    const seen = this.counts.versions.get(version);
    if (seen) {
      seen.last = now;
      seen.count++;
    } else {
      this.counts.versions.set(version, { first: now, last: now, count: 1 });
    }
  }

  /** Counts so far, while it runs. */
  get sent(): number {
    return this.counts.sent;
  }

  /** Answers of `version` so far, while it runs. */
  answeredBy(version: string): number {
    return this.counts.versions.get(version)?.count ?? 0;
  }

  /** Stops the loops (requests in flight finish) and returns the counts. */
  async stop(): Promise<LoadCounts> {
    this.stopping = true;
    await this.done;
    const sorted = this.latencies.sort((a, b) => a - b);
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    this.counts.latency = { p50: at(0.5), p99: at(0.99), max: Math.round(sorted.at(-1) ?? 0) };
    return this.counts;
  }
}
