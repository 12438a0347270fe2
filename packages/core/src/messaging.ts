/**
 * Messages between instances over Redis pub/sub (WIRE.md channels), in short-form
 * UMF on the wire. Adds to Hydra: validation of what arrives (bad payloads are
 * logged and skipped), optional HMAC enforcement, balanced sends, and
 * request/reply correlated by `rmid` with a timeout.
 */
import type { RedisClient } from './redis.js';
import type { Discovery } from './discovery.js';
import type { Logger } from './logger.js';
import { channels } from './keys.js';
import { HydraError, errorMessage } from './errors.js';
import { createMessage, parseMessage, parseRoute, sign, toShort, verify, type UMFInput, type UMFMessage } from './umf.js';
import { timerMs } from './timer.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

/** Receives each message that arrives for this instance (and its service's broadcasts); a returned promise is awaited by close(). */
export type MessageHandler = (message: UMFMessage) => void | Promise<void>;

interface Pending {
  resolve: (reply: UMFMessage) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Messenger {
  private readonly pending = new Map<string, Pending>();
  private readonly handlers = new Set<MessageHandler>();
  private readonly inFlight = new Set<Promise<void>>();
  private listening = false;
  /**
   * Publishing skips node-redis's per-command timeout: arming an AbortSignal timer for
   * every message was ~30% of a sender's CPU. A dead connection still fails publishes
   * at once (no offline queue); control-plane commands keep the timeout.
   */
  private readonly publisher: Pick<RedisClient, 'publish'>;

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly discovery: Discovery,
    private readonly self: { serviceName: string; instanceId: string },
    private readonly logger: Logger,
    private readonly secret?: string,
  ) {
    this.publisher = redis.withCommandOptions({ timeout: 0 });
  }

  /** Subscribes to this instance's two channels (service broadcast and direct). */
  async listen(): Promise<void> {
    if (this.listening) return;
    this.listening = true;
    const { serviceName, instanceId } = this.self;
    await this.subscriber.subscribe([channels.service(serviceName), channels.instance(serviceName, instanceId)], (raw, channel) => this.receive(raw, channel));
  }

  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private receive(raw: string, channel: string): void {
    let message: UMFMessage;
    try {
      message = parseMessage(raw);
    } catch (err) {
      this.logger.warn({ channel, err: errorMessage(err), payload: raw.slice(0, 200) }, 'skipped a message that is not valid UMF');
      return;
    }
    if (this.secret && !verify(message, this.secret)) {
      this.logger.warn({ channel, mid: message.mid, from: message.from }, 'skipped a message whose signature does not verify');
      return;
    }
    const waiting = message.rmid ? this.pending.get(message.rmid) : undefined;
    if (waiting) {
      this.pending.delete(message.rmid!);
      clearTimeout(waiting.timer);
      waiting.resolve(message);
      return;
    }
    for (const handler of this.handlers) this.dispatch(handler, message);
  }

  /** Runs a handler, tracking its promise so close() can drain in-flight work. */
  private dispatch(handler: MessageHandler, message: UMFMessage): void {
    let result: void | Promise<void>;
    try {
      result = handler(message);
    } catch (err) {
      this.logger.error({ err: errorMessage(err), mid: message.mid }, 'message handler threw');
      return;
    }
    if (!result) return;
    const tracked = result
      .catch((err: unknown) => this.logger.error({ err: errorMessage(err), mid: message.mid }, 'message handler failed'))
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private prepare(input: UMFInput | UMFMessage): UMFMessage {
    return this.signed(createMessage(input));
  }

  private signed(message: UMFMessage): UMFMessage {
    return this.secret ? sign(message, this.secret) : message;
  }

  private async publish(channel: string, message: UMFMessage): Promise<void> {
    if (!this.redis.isReady) throw new HydraError('REDIS_UNAVAILABLE', `Redis is not connected; message ${message.mid} to ${message.to} was not sent`);
    await this.publisher.publish(channel, JSON.stringify(toShort(message)));
  }

  /**
   * Sends to one instance: the one named in `to` (`id@svc:/...`) or the next
   * present instance of the service. Throws SERVICE_UNAVAILABLE when none is alive.
   */
  send(input: UMFInput | UMFMessage): Promise<UMFMessage> {
    return this.deliver(this.prepare(input));
  }

  private async deliver(message: UMFMessage): Promise<UMFMessage> {
    const route = parseRoute(message.to);
    const target = route.instance ? this.discovery.get(route.serviceName, route.instance) : this.discovery.pick(route.serviceName);
    if (!target) {
      const what = route.instance ? `${route.serviceName} instance named ${route.instance}` : `${route.serviceName} instances`;
      throw new HydraError('SERVICE_UNAVAILABLE', `Unavailable ${what}`);
    }
    await this.publish(channels.instance(route.serviceName, target.instanceID), message);
    return message;
  }

  /** Sends to every instance of the service named in `to`. */
  async broadcast(input: UMFInput | UMFMessage): Promise<UMFMessage> {
    const message = this.prepare(input);
    const route = parseRoute(message.to);
    if (this.discovery.instances(route.serviceName).length === 0) throw new HydraError('SERVICE_UNAVAILABLE', `Unavailable ${route.serviceName} instances`);
    await this.publish(channels.service(route.serviceName), message);
    return message;
  }

  /**
   * Replies as Hydra's sendReplyMessage does: the original in long form, overlaid with
   * rmid/to/from and the response, sent back through `via` when a relay set it.
   */
  async reply(original: UMFMessage, response: UMFInput): Promise<UMFMessage> {
    const { mid: _mid, timestamp: _ts, signature: _sig, ...kept } = original;
    const reply = createMessage({
      ...kept,
      rmid: original.mid,
      to: original.via ?? original.from,
      from: original.to,
      ...response,
    });
    return this.deliver(this.signed(reply));
  }

  /**
   * Sends and waits for the reply whose rmid is this message's mid. Rejects with
   * TIMEOUT when none comes within `timeoutMs`. The reply comes back to this instance.
   */
  async request(input: UMFInput, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<UMFMessage> {
    const { serviceName, instanceId } = this.self;
    const message = this.prepare({ ...input, from: `${instanceId}@${serviceName}:/` });
    const answer = new Promise<UMFMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(message.mid);
        reject(new HydraError('TIMEOUT', `no reply to message ${message.mid} from ${message.to} within ${timeoutMs} ms`));
      }, timerMs(timeoutMs));
      this.pending.set(message.mid, { resolve, reject, timer });
    });
    try {
      await this.deliver(message);
    } catch (err) {
      const waiting = this.pending.get(message.mid);
      if (waiting) {
        clearTimeout(waiting.timer);
        this.pending.delete(message.mid);
      }
      throw err;
    }
    return answer;
  }

  /** Waits for running handlers, then fails whatever still waits for a reply. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    for (const [mid, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new HydraError('CLOSED', `service closed while waiting for a reply to ${mid}`));
    }
    this.pending.clear();
  }
}
