/**
 * Message queues on Hydra's lists: `mqrecieved` (waiting), `mqinprogress` (taken)
 * and `mqincomplete` (failed, with body.reason). Hydra peers read and write the
 * same lists. hydra-ts adds acknowledgement and redelivery: when a message is
 * taken its time is kept in a sorted set beside the list, and a message still in
 * progress after the visibility timeout goes back to the head of the queue.
 */
import { whileConnected, type RedisClient } from './redis.js';
import { keys, assertServiceName } from './keys.js';
import { HydraError, errorMessage } from './errors.js';
import { createMessage, parseRoute, toShort, type ShortUMFMessage, type UMFInput, type UMFMessage } from './umf.js';
import { Tracer } from './tracing.js';
import { arrivalSpan, endSpan, sendSpan } from './message-spans.js';
import { Script } from './lua-script.js';

/** How long a taken message may stay in progress before it goes back to the queue. */
export const DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000;

/** Take the oldest waiting message and note when it was taken, atomically. */
const TAKE = new Script(`
local m = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
if m then redis.call('ZADD', KEYS[3], ARGV[1], m) end
return m`);

/** Remove a taken message; when it failed, keep it in mqincomplete. Returns 1 if it was in progress. */
const SETTLE = new Script(`
local n = redis.call('LREM', KEYS[1], -1, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if n > 0 and ARGV[2] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[2]) end
return n`);

/**
 * Puts messages taken before ARGV[1] back at the head of the queue. Messages in
 * progress with no taken-at time (taken by a Hydra peer) are stamped now, so
 * they are redelivered only after a full visibility timeout.
 */
const RECOVER = new Script(`
local taken = redis.call('LRANGE', KEYS[1], 0, -1)
local moved = 0
for _, m in ipairs(taken) do
  local t = redis.call('ZSCORE', KEYS[3], m)
  if not t then
    redis.call('ZADD', KEYS[3], ARGV[2], m)
  elseif tonumber(t) < tonumber(ARGV[1]) then
    redis.call('LREM', KEYS[1], -1, m)
    redis.call('ZREM', KEYS[3], m)
    redis.call('RPUSH', KEYS[2], m)
    moved = moved + 1
  end
end
return moved`);

/** A message taken from a queue: the message and the exact text that identifies it in Redis. */
export interface QueuedMessage {
  /** The message, validated. */
  message: UMFMessage;
  /** The stored short-form text: ack and fail find the message by it. */
  raw: string;
}

/**
 * Hydra's message queues, with acknowledgement and redelivery. A Hydra instance
 * holds one as `hydra.queues`; its own methods (queueMessage, getQueuedMessage,
 * markQueueMessage) are the usual way in.
 */
export class Queues {
  /** Queues on `redis`; `tracer` makes their spans (a Hydra instance passes its own). */
  constructor(private readonly redis: RedisClient, private readonly tracer = new Tracer('@hydra-ts/core')) {}

  /**
   * Appends a message to the queue of the service named in `to`; returns what was stored,
   * with the current trace context in its headers (a producer span's when tracing is on).
   */
  async enqueue(input: UMFInput | UMFMessage): Promise<UMFMessage> {
    const message = createMessage(input);
    const { serviceName } = parseRoute(message.to);
    assertServiceName(serviceName, 'queue service');
    const span = sendSpan(this.tracer, message);
    try {
      await whileConnected(`queueing message ${message.mid} for ${serviceName}`, () => this.redis.lPush(keys.queueReceived(serviceName), JSON.stringify(toShort(message))));
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
    endSpan(span);
    return message;
  }

  /** Takes the oldest waiting message, or null when the queue is empty. */
  async take(serviceName: string): Promise<QueuedMessage | null> {
    assertServiceName(serviceName);
    const raw = (await whileConnected(`taking a message from ${serviceName}'s queue`, () =>
      TAKE.run(this.redis, [keys.queueReceived(serviceName), keys.queueInProgress(serviceName), keys.queueTakenAt(serviceName)], [String(Date.now())]),
    )) as string | null;
    if (raw === null) return null;
    try {
      const message = createMessage(JSON.parse(raw));
      // A consumer span in the trace the message was queued in (a new root when it carries none).
      endSpan(arrivalSpan(this.tracer, message, 'receive', serviceName));
      return { message, raw };
    } catch (err) {
      // A malformed entry cannot be handled: park it in mqincomplete so it is neither lost nor retried forever.
      await this.settle(serviceName, raw, JSON.stringify({ raw, bdy: { reason: `unreadable queued message: ${errorMessage(err)}` } }));
      throw new HydraError('INVALID_UMF', `queued message in ${serviceName} is not valid UMF (${errorMessage(err)}); moved to mqincomplete`);
    }
  }

  /** Marks a taken message done. Returns false when it was no longer in progress (e.g. already redelivered). */
  async ack(serviceName: string, taken: QueuedMessage): Promise<boolean> {
    return this.settle(serviceName, taken.raw, '');
  }

  /** Marks a taken message failed: it moves to mqincomplete with body.reason, as Hydra's markQueueMessage does. */
  async fail(serviceName: string, taken: QueuedMessage, reason: string): Promise<boolean> {
    const short = JSON.parse(taken.raw) as ShortUMFMessage;
    short.bdy = { ...(short.bdy ?? {}), reason: reason || 'reason not provided' };
    return this.settle(serviceName, taken.raw, JSON.stringify(short));
  }

  private async settle(serviceName: string, raw: string, incomplete: string): Promise<boolean> {
    const n = await whileConnected(`settling a message of ${serviceName}'s queue`, () =>
      SETTLE.run(this.redis, [keys.queueInProgress(serviceName), keys.queueTakenAt(serviceName), keys.queueIncomplete(serviceName)], [raw, incomplete]),
    );
    return n === 1;
  }

  /** Returns messages in progress longer than `visibilityTimeoutMs` to the queue; returns how many. */
  async recover(serviceName: string, visibilityTimeoutMs = DEFAULT_VISIBILITY_TIMEOUT_MS): Promise<number> {
    assertServiceName(serviceName);
    const now = Date.now();
    return (await RECOVER.run(this.redis, [keys.queueInProgress(serviceName), keys.queueReceived(serviceName), keys.queueTakenAt(serviceName)], [String(now - visibilityTimeoutMs), String(now)])) as number;
  }

  /** How many messages of `serviceName` wait, are in progress and have failed. */
  async lengths(serviceName: string): Promise<{
    /** In `mqrecieved`. */
    waiting: number;
    /** In `mqinprogress`. */
    inProgress: number;
    /** In `mqincomplete`. */
    incomplete: number;
  }> {
    assertServiceName(serviceName);
    const [waiting, inProgress, incomplete] = await Promise.all([
      this.redis.lLen(keys.queueReceived(serviceName)),
      this.redis.lLen(keys.queueInProgress(serviceName)),
      this.redis.lLen(keys.queueIncomplete(serviceName)),
    ]);
    return { waiting, inProgress, incomplete };
  }
}
