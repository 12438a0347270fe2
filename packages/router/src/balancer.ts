/**
 * Load-balancing strategies: which of a service's healthy instances takes the
 * next request. A strategy is small and swappable (Moleculer's src/strategies
 * model): implement `pick` and register it under a name.
 */

/** What a strategy may look at to choose. */
export interface Candidate {
  /** The instance's id. */
  readonly instanceId: string;
  /** Requests sent to this instance that have not finished yet. */
  readonly outstanding: number;
}

/** How a router chooses among a service's live instances (the `balancing` setting names one of {@link STRATEGIES}). */
export interface BalancingStrategy {
  /** Chooses one of `candidates` (never empty) for a request to `serviceName`. */
  pick<C extends Candidate>(serviceName: string, candidates: readonly C[]): C;
}

/** Each instance in turn, per service. */
export class RoundRobin implements BalancingStrategy {
  private readonly cursors = new Map<string, number>();

  pick<C extends Candidate>(serviceName: string, candidates: readonly C[]): C {
    const n = this.cursors.get(serviceName) ?? 0;
    this.cursors.set(serviceName, (n + 1) % 1_000_000_007);
    return candidates[n % candidates.length]!;
  }
}

/**
 * The instance with the fewest requests in flight; ties go round robin so that
 * an idle cluster still spreads its load.
 */
export class LeastOutstanding implements BalancingStrategy {
  private readonly tieBreak = new RoundRobin();

  pick<C extends Candidate>(serviceName: string, candidates: readonly C[]): C {
    let least = Infinity;
    for (const c of candidates) if (c.outstanding < least) least = c.outstanding;
    const best = candidates.filter((c) => c.outstanding === least);
    return best.length === 1 ? best[0]! : this.tieBreak.pick(serviceName, best);
  }
}

/** The strategies by the name the `balancing` setting uses. */
export const STRATEGIES: Record<string, () => BalancingStrategy> = {
  'round-robin': () => new RoundRobin(),
  'least-outstanding': () => new LeastOutstanding(),
};
