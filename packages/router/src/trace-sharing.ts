/**
 * Every router's dashboard shows the same traces: the router that receives an export
 * keeps what it read of the spans in its TraceStore and publishes them on one Redis
 * channel, and every other router keeps what arrives there. An exporter may post to any
 * router (the local cluster posts through the balancer), and a trace's spans come from
 * many processes, so no single router would see a whole trace otherwise.
 *
 * The channel is hydra-ts's own (Hydra peers never see it), read on core's subscriber
 * connection (Hydra.subscribe).
 */
import { errorMessage, type Hydra, type Logger } from '@hydra-ts/core';
import { isSpanRecord, type SpanRecord, type TraceStore } from './trace-store.js';

/** The Redis channel of span records (docs/wire.md). */
export const SPANS_CHANNEL = 'hydra-ts:router:spans';
/** Spans per published message: an export of thousands goes as several messages of tens of KB. */
const SPANS_PER_MESSAGE = 200;
/** A larger message on the channel is not ours (200 records are ~60 KB): skipped unread. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

export class TraceSharing {
  /** How this router's own messages on the channel begin (publish writes `from` first). */
  private readonly ownPrefix: string;

  private constructor(private readonly hydra: Hydra, private readonly store: TraceStore, private readonly logger: Logger) {
    this.ownPrefix = `{"from":${JSON.stringify(hydra.instanceId)},`;
  }

  /** Subscribed to the channel, so spans any router publishes from now on reach `store`. */
  static async start(hydra: Hydra, store: TraceStore, logger: Logger): Promise<TraceSharing> {
    const sharing = new TraceSharing(hydra, store, logger);
    // Hydra.close() ends the subscription with the connection: nothing to stop here.
    await hydra.subscribe(SPANS_CHANNEL, (text) => sharing.arrived(text));
    return sharing;
  }

  /**
   * Keeps `spans` here and sends them to every other router; rejects (REDIS_UNAVAILABLE)
   * when Redis does not take them (this router keeps them all the same).
   */
  async publish(spans: SpanRecord[]): Promise<void> {
    this.store.add(spans);
    for (let at = 0; at < spans.length; at += SPANS_PER_MESSAGE) {
      await this.hydra.redis.publish(SPANS_CHANNEL, JSON.stringify({ from: this.hydra.instanceId, spans: spans.slice(at, at + SPANS_PER_MESSAGE) }));
    }
  }

  private arrived(text: string): void {
    // This router's own, kept when published: the prefix says so without parsing 60 KB again.
    if (text.startsWith(this.ownPrefix)) return;
    if (text.length > MAX_MESSAGE_BYTES) {
      this.logger.warn({ channel: SPANS_CHANNEL, bytes: text.length }, 'skipped an oversized message on the spans channel');
      return;
    }
    let spans: unknown;
    try {
      spans = (JSON.parse(text) as { spans?: unknown }).spans;
    } catch (err) {
      this.logger.warn({ channel: SPANS_CHANNEL, err: errorMessage(err) }, 'skipped a message on the spans channel that is not JSON');
      return;
    }
    if (!Array.isArray(spans)) {
      this.logger.warn({ channel: SPANS_CHANNEL }, 'skipped a message on the spans channel without a "spans" list');
      return;
    }
    const good = spans.filter(isSpanRecord);
    if (good.length < spans.length) this.logger.warn({ channel: SPANS_CHANNEL, skipped: spans.length - good.length }, 'skipped span records of the wrong shape');
    this.store.add(good);
  }
}
