/**
 * The requests running on one instance (see Upstream.inFlight): an array in which each
 * request knows its slot, so adding and removing are O(1) and allocate nothing.
 *
 * Not a Set, for the garbage collector's sake. A Set under constant add and delete
 * rehashes into a fresh table every few dozen requests (to drop its deleted entries),
 * and each superseded table keeps its entries and a link to its successor. Once one table
 * had lived long enough to reach the old generation, it held every later table, and every
 * request in them with its buffers, alive through scavenges until the next full
 * collection: under 50 connections ~99% of what survived a scavenge was promoted, the old
 * generation filled about once a second and the router spent ~6 µs a request in GC
 * (bench/router: CPU per request 1.4-1.6x the minimal proxy's). Here a removed request's
 * slot is overwritten, so nothing the list holds refers to a finished request.
 */
export interface InFlightEntry {
  /** The entry's index in the list holding it, -1 when in none; kept by InFlightList. */
  inFlightSlot: number;
}

/** An entry is in at most one list at a time. */
export class InFlightList<T extends InFlightEntry> {
  private readonly entries: T[] = [];

  get size(): number {
    return this.entries.length;
  }

  add(entry: T): void {
    entry.inFlightSlot = this.entries.length;
    this.entries.push(entry);
  }

  /** Removes `entry` (nothing happens when it is not in this list); the last entry takes its slot. */
  delete(entry: T): void {
    const slot = entry.inFlightSlot;
    if (slot < 0 || this.entries[slot] !== entry) return;
    const last = this.entries.pop()!;
    if (last !== entry) {
      this.entries[slot] = last;
      last.inFlightSlot = slot;
    }
    entry.inFlightSlot = -1;
  }

  /** A copy, to iterate over while entries remove themselves. */
  snapshot(): T[] {
    return this.entries.slice();
  }
}
