/**
 * What every router routes to, polled from each one's own view
 * (`/v1/router/list/services`, answered from memory), so that a step can say when
 * the last router saw an instance come or go.
 */
import { routerInstanceIds } from '../cluster.js';

const POLL_EVERY_MS = 50;

export class RouterWatch {
  /** router → instance id → first time (ms since the epoch) a listing held it. */
  private readonly seen = new Map<string, Map<string, number>>();
  /** router → instance id → first time a listing no longer held it, after it had. */
  private readonly gone = new Map<string, Map<string, number>>();
  /** router → how its last poll went (for describe()). */
  private readonly polls = new Map<string, string>();
  private running = true;
  private readonly done: Promise<void>;
  private firstPolls: number;

  constructor(private readonly routers: string[]) {
    this.firstPolls = routers.length;
    for (const r of routers) {
      this.seen.set(r, new Map());
      this.gone.set(r, new Map());
    }
    this.done = Promise.all(routers.map((r) => this.poll(r))).then(() => {});
  }

  private async poll(router: string): Promise<void> {
    while (this.running) {
      const ids = await routerInstanceIds(router).catch(() => undefined);
      const now = Date.now();
      if (ids) {
        if (!this.polls.has(router)) this.firstPolls--;
        const seen = this.seen.get(router)!;
        const gone = this.gone.get(router)!;
        for (const id of ids) {
          if (!seen.has(id)) seen.set(id, now);
          gone.delete(id);
        }
        for (const id of seen.keys()) if (!ids.has(id) && !gone.has(id)) gone.set(id, now);
      }
      this.polls.set(router, `${ids ? 'ok' : 'failed'} at ${now}`);
      await new Promise((r) => setTimeout(r, POLL_EVERY_MS));
    }
  }

  /** True once every router answered one listing: changes made after it are all seen. */
  get ready(): boolean {
    return this.firstPolls === 0;
  }

  /** When the last router listed `id`, or undefined if one never did. */
  allSaw(id: string): number | undefined {
    let last = 0;
    for (const r of this.routers) {
      const t = this.seen.get(r)!.get(id);
      if (t === undefined) return undefined;
      last = Math.max(last, t);
    }
    return last;
  }

  /** When the last router dropped `id`, or undefined if one still lists it. */
  allDropped(id: string): number | undefined {
    let last = 0;
    for (const r of this.routers) {
      if (!this.seen.get(r)!.has(id)) continue; // never listed there: nothing to drop
      const t = this.gone.get(r)!.get(id);
      if (t === undefined) return undefined;
      last = Math.max(last, t);
    }
    return last;
  }

  /** Each router's view of these ids, for an error message. */
  describe(ids: string[]): string {
    return this.routers
      .map((r) => `${r}: ${ids.map((id) => `${id.slice(0, 8)} seen ${this.seen.get(r)!.has(id)} gone ${this.gone.get(r)!.has(id)}`).join(', ')}; polls ${this.polls.get(r)}`)
      .join(' | ');
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}
