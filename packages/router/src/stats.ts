/**
 * hydra-router's `/v1/router/stats` counters: per target (a service name), how
 * many events happened in each second of the last hour. A ring of 3600 cells
 * stamped with the epoch second they count, so a stale cell reads as zero
 * without any timer sweeping it.
 *
 * Targets come from what clients send (a WebSocket `to`, a posted message), so only
 * names the router knows (`known`: a service with routes or instances) get a ring of
 * their own, and at most `maxTargets` of them (a ring is ~43 KB); everything else is
 * counted under OTHER_TARGET. Nothing here grows with client input.
 *
 * The per-target answers are objects without a prototype: as a plain `{}`, a target
 * named `__proto__` would set the prototype instead of a key and vanish from the answer.
 */
const WINDOW_S = 3600;

/** An object keyed by target names that come from outside (see above). */
const byTarget = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;
/** Where events for unknown names are counted; not a valid service name, so it never collides with one. */
export const OTHER_TARGET = '*other*';
export const MAX_TARGETS = 256;

class Ring {
  readonly counts = new Uint32Array(WINDOW_S);
  readonly stamps = new Float64Array(WINDOW_S);
  total = 0;

  add(second: number): void {
    const cell = second % WINDOW_S;
    if (this.stamps[cell] !== second) {
      this.stamps[cell] = second;
      this.counts[cell] = 0;
    }
    this.counts[cell]!++;
    this.total++;
  }

  at(second: number): number {
    const cell = second % WINDOW_S;
    return this.stamps[cell] === second ? this.counts[cell]! : 0;
  }
}

/** Events per target per second over the last hour, with a bounded number of targets (see above). */
export class PerSecondStats {
  private readonly rings = new Map<string, Ring>();

  constructor(
    private readonly known: (target: string) => boolean,
    private readonly now: () => number = Date.now,
    private readonly maxTargets = MAX_TARGETS,
  ) {}

  /** Counts one event for `target` now. */
  log(target: string): void {
    let ring = this.rings.get(target);
    if (!ring) {
      const own = this.known(target) && this.rings.size < this.maxTargets;
      const name = own ? target : OTHER_TARGET;
      ring = this.rings.get(name);
      if (!ring) this.rings.set(name, (ring = new Ring()));
    }
    ring.add(Math.floor(this.now() / 1000));
  }

  /** Number of targets with a ring (bounded by maxTargets + 1). */
  get size(): number {
    return this.rings.size;
  }

  /** hydra-router's getRawStats shape: per target, 3600 counts from an hour ago to now. */
  raw(): Record<string, number[]> {
    const nowS = Math.floor(this.now() / 1000);
    const out = byTarget<number[]>();
    for (const [target, ring] of this.rings) {
      const series = new Array<number>(WINDOW_S);
      for (let i = 0; i < WINDOW_S; i++) series[i] = ring.at(nowS - WINDOW_S + 1 + i);
      out[target] = series;
    }
    return out;
  }

  /** Events in the last `seconds` full seconds (the current one excluded), per target. */
  recent(seconds: number): Record<string, number> {
    const nowS = Math.floor(this.now() / 1000);
    const out = byTarget<number>();
    for (const [target, ring] of this.rings) {
      let sum = 0;
      for (let s = nowS - seconds; s < nowS; s++) sum += ring.at(s);
      out[target] = sum;
    }
    return out;
  }

  /** Events since the router started, per target. */
  totals(): Record<string, number> {
    const out = byTarget<number>();
    for (const [target, ring] of this.rings) out[target] = ring.total;
    return out;
  }
}
