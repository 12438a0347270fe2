/**
 * A steady, bounded GET load: one request every 1000/rate ms, at most `maxInFlight`
 * at once, each with a timeout, stopping by itself after `maxDurationMs` (so at most
 * rate × duration requests). It counts what was sent and what failed, and which
 * versions and instances answered, so a step can say "0 of N failed" and "the
 * answers switched from 0.0.2 to 0.0.3".
 */
export interface LoadOptions {
  ratePerS?: number;
  maxInFlight?: number;
  requestTimeoutMs?: number;
  maxDurationMs?: number;
}

export interface LoadStats {
  sent: number;
  failed: number;
  /** Failure reasons (`status 502`, `timeout`, `ECONNRESET` …) with their counts. */
  failures: Record<string, number>;
  /** result.version of the answers, with counts. */
  versions: Record<string, number>;
  /** Milliseconds from the load's start of the first and last answer of each version. */
  versionSpan: Record<string, { first: number; last: number }>;
  instances: Set<string>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  durationMs: number;
  /** The load hit its own time bound before stop() was called. */
  ranOut: boolean;
}

interface HelloAnswer {
  result?: { msg?: string; version?: string };
}

export class Load {
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly latencies: number[] = [];
  private readonly stats: LoadStats = {
    sent: 0, failed: 0, failures: {}, versions: {}, versionSpan: {}, instances: new Set(), p50Ms: 0, p99Ms: 0, maxMs: 0, durationMs: 0, ranOut: false,
  };
  private skipped = 0;

  constructor(private readonly url: string, private readonly opts: Required<LoadOptions>) {
    this.timer = setInterval(() => this.tick(), 1000 / opts.ratePerS);
  }

  static start(url: string, opts: LoadOptions = {}): Load {
    return new Load(url, { ratePerS: 20, maxInFlight: 50, requestTimeoutMs: 15_000, maxDurationMs: 300_000, ...opts });
  }

  private tick(): void {
    if (Date.now() - this.started > this.opts.maxDurationMs) {
      this.stats.ranOut = true;
      clearInterval(this.timer);
      return;
    }
    if (this.inFlight.size >= this.opts.maxInFlight) {
      this.skipped++; // a bound, not a failure: the load never piles up
      return;
    }
    const p = this.one().finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private fail(reason: string): void {
    this.stats.failed++;
    this.stats.failures[reason] = (this.stats.failures[reason] ?? 0) + 1;
  }

  private async one(): Promise<void> {
    this.stats.sent++;
    const t0 = performance.now();
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(this.opts.requestTimeoutMs) });
      const body = (await res.json()) as HelloAnswer;
      this.latencies.push(performance.now() - t0);
      if (res.status !== 200) return this.fail(`status ${res.status}`);
      const version = body.result?.version ?? '(none)';
      const at = Date.now() - this.started;
      this.stats.versions[version] = (this.stats.versions[version] ?? 0) + 1;
      const span = (this.stats.versionSpan[version] ??= { first: at, last: at });
      span.last = at;
      const id = /- ([0-9a-f]{32})$/.exec(body.result?.msg ?? '')?.[1];
      if (id) this.stats.instances.add(id);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      this.fail(e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.message));
    }
  }

  /** Stops sending, waits for the requests in flight, returns the figures. */
  async stop(): Promise<LoadStats> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pct = (q: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!) : 0);
    return { ...this.stats, p50Ms: pct(0.5), p99Ms: pct(0.99), maxMs: Math.round(sorted.at(-1) ?? 0), durationMs: Date.now() - this.started };
  }

  /** Ticks skipped because maxInFlight requests were already waiting. */
  get skippedTicks(): number {
    return this.skipped;
  }
}
