/**
 * Messages counted by outcome and UMF `type`, for metrics. Types come from senders,
 * so only the first MAX_MESSAGE_TYPES distinct ones get their own count; the rest
 * are counted as "other".
 */
export const MAX_MESSAGE_TYPES = 64;
/** The type label of a message without `type`. */
export const UNTYPED = '(none)';
const OTHER = 'other';

/** What happened to a message: it was sent, it arrived, or sending it or handling it failed. */
export type MessageOutcome = 'sent' | 'received' | 'failed';

/** One count: how many messages of `type` had `outcome`. */
export interface MessageCount {
  /** What happened to them. */
  outcome: MessageOutcome;
  /** Their UMF type (UNTYPED without one, "other" past MAX_MESSAGE_TYPES). */
  type: string;
  /** How many, since the instance started. */
  count: number;
}

/** The counts of one instance (Hydra keeps one; Hydra.messageCounts reads it). */
export class MessageCounts {
  private readonly byType = new Map<string, Record<MessageOutcome, number>>();

  /** Counts one message of `type` (undefined: untyped). */
  add(outcome: MessageOutcome, type: string | undefined): void {
    let name = type ?? UNTYPED;
    let counts = this.byType.get(name);
    if (!counts) {
      if (this.byType.size >= MAX_MESSAGE_TYPES) name = OTHER;
      counts = this.byType.get(name);
      if (!counts) this.byType.set(name, (counts = { sent: 0, received: 0, failed: 0 }));
    }
    counts[outcome]++;
  }

  /** Every count so far. */
  *entries(): IterableIterator<MessageCount> {
    for (const [type, counts] of this.byType) {
      for (const outcome of ['sent', 'received', 'failed'] as const) if (counts[outcome]) yield { outcome, type, count: counts[outcome] };
    }
  }
}
