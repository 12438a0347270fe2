/**
 * Messages between instances over Redis pub/sub (docs/wire.md, channels), in short-form
 * UMF on the wire. Adds to Hydra: validation of what arrives (bad payloads are
 * logged and skipped), optional HMAC enforcement, balanced sends, and
 * request/reply correlated by `rmid` with a timeout.
 */
import { messagePublisher, type RedisClient } from './redis.js';
import type { Discovery } from './discovery.js';
import type { Logger } from './logger.js';
import { channels, isInstanceId } from './keys.js';
import { HydraError, errorMessage } from './errors.js';
import { createMessage, parseMessage, parseRoute, sign, toShortJSON, verify, type MessageDefaults, type ParsedRoute, type UMFInput, type UMFMessage } from './umf.js';
import { timerMs } from './timer.js';
import { Tracer, runArrived } from './tracing.js';
import { arrivalSpan, endSpan, endWhenSent, sendSpan } from './message-spans.js';
import { MessageCounts } from './message-counts.js';

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
  private lastTo?: string;
  private lastRoute?: ParsedRoute;
  /** PUBLISH for messages (redis.ts messagePublisher: no per-command timer, no wrapper). */
  private readonly publisher: (channel: string, text: string) => Promise<number>;

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly discovery: Discovery,
    private readonly self: { serviceName: string; instanceId: string },
    private readonly logger: Logger,
    private readonly secret?: string,
    private readonly tracer = new Tracer('@hydra-ts/core'),
    private readonly counts = new MessageCounts(),
  ) {
    this.publisher = messagePublisher(redis);
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
    this.counts.add('received', message.type);
    // A consumer span continuing the sender's context (a new root without one); tracing off,
    // a traceparent that came along stays the context for what the handlers send.
    const span = arrivalSpan(this.tracer, message, 'process', this.self.serviceName);
    if (!span && message.headers === undefined) {
      this.handle(message);
      return;
    }
    const running = runArrived(span, message.headers, () => this.handle(message));
    if (!span) return;
    if (running.length === 0) span.end();
    else void Promise.allSettled(running).then(() => span.end());
  }

  /** A reply resolves its request; anything else goes to every handler. Returns the handlers still running. */
  private handle(message: UMFMessage): Promise<void>[] {
    const running: Promise<void>[] = [];
    const waiting = message.rmid ? this.pending.get(message.rmid) : undefined;
    if (waiting) {
      this.pending.delete(message.rmid!);
      clearTimeout(waiting.timer);
      waiting.resolve(message);
      return running;
    }
    for (const handler of this.handlers) {
      const tracked = this.dispatch(handler, message);
      if (tracked) running.push(tracked);
    }
    return running;
  }

  /** Runs a handler, tracking its promise so close() can drain in-flight work; returns that promise. */
  private dispatch(handler: MessageHandler, message: UMFMessage): Promise<void> | undefined {
    let result: void | Promise<void>;
    try {
      result = handler(message);
    } catch (err) {
      this.counts.add('failed', message.type);
      this.logger.error({ err: errorMessage(err), mid: message.mid }, 'message handler threw');
      return undefined;
    }
    if (!result) return undefined;
    const tracked = result
      .catch((err: unknown) => {
        this.counts.add('failed', message.type);
        this.logger.error({ err: errorMessage(err), mid: message.mid }, 'message handler failed');
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return tracked;
  }

  /**
   * The message as it leaves: built, given the trace context (a producer span's when
   * tracing is on; the span is returned to be ended when it is sent), then signed.
   */
  private prepare(input: UMFInput | UMFMessage, defaults?: MessageDefaults, operation?: string): { message: UMFMessage; span?: ReturnType<typeof sendSpan> } {
    const message = createMessage(input, defaults);
    const span = sendSpan(this.tracer, message, operation);
    return { message: this.signed(message), span };
  }

  private signed(message: UMFMessage): UMFMessage {
    return this.secret ? sign(message, this.secret) : message;
  }

  /**
   * Publishes the message's short form; resolves with the message. A plain promise
   * chain: it runs once per message sent, and async frames here cost a sender.
   */
  /** `unheard` (when given) is the error if PUBLISH reached no subscriber. */
  private publish(channel: string, message: UMFMessage, unheard?: HydraError): Promise<UMFMessage> {
    if (!this.redis.isReady) return this.failed(message, new HydraError('REDIS_UNAVAILABLE', `Redis is not connected; message ${message.mid} to ${message.to} was not sent`));
    return this.publisher(channel, toShortJSON(message)).then(
      (receivers) => {
        if (unheard && Number(receivers) === 0) return this.failed(message, unheard);
        this.counts.add('sent', message.type);
        return message;
      },
      (err: unknown) => this.failed(message, err),
    );
  }

  /** Counts a message that could not be sent; rejects with why. */
  private failed(message: UMFMessage, err: unknown): Promise<never> {
    this.counts.add('failed', message.type);
    return Promise.reject(err);
  }

  /**
   * Sends to one instance: the one named in `to` (`id@svc:/...`) or the next
   * present instance of the service. Rejects with SERVICE_UNAVAILABLE when none is alive.
   */
  send(input: UMFInput | UMFMessage, defaults?: MessageDefaults): Promise<UMFMessage> {
    let prepared;
    try {
      prepared = this.prepare(input, defaults);
    } catch (err) {
      return Promise.reject(err);
    }
    return endWhenSent(this.deliver(prepared.message), prepared.span);
  }

  /** To the instance named in the route, or the next present one of its service. */
  private deliver(message: UMFMessage): Promise<UMFMessage> {
    let route: ParsedRoute;
    try {
      route = this.route(message.to);
    } catch (err) {
      return this.failed(message, err);
    }
    // A service this view does not follow yet is loaded first (once; then no wait).
    const loading = this.discovery.ready(route.serviceName);
    return loading ? loading.then(() => this.deliverTo(route, message)) : this.deliverTo(route, message);
  }

  private deliverTo(route: ParsedRoute, message: UMFMessage): Promise<UMFMessage> {
    const target = route.instance ? this.discovery.get(route.serviceName, route.instance) : this.discovery.pick(route.serviceName);
    if (target) return this.publish(channels.instance(route.serviceName, target.instanceID), message);
    const what = route.instance ? `${route.serviceName} instance named ${route.instance}` : `${route.serviceName} instances`;
    const unavailable = new HydraError('SERVICE_UNAVAILABLE', `Unavailable ${what}`);
    // A named instance the live view does not hold yet: one that registered a moment ago,
    // such as a requester waiting for this very reply. Its channel follows from the route,
    // so the message goes there, and PUBLISH says whether anyone listens.
    if (isInstanceId(route.instance)) return this.publish(channels.instance(route.serviceName, route.instance), message, unavailable);
    return this.failed(message, unavailable);
  }

  /** parseRoute, remembering the last route: a sender mostly sends to one place after another. */
  private route(to: string): ParsedRoute {
    if (to !== this.lastTo) {
      this.lastRoute = parseRoute(to);
      this.lastTo = to;
    }
    return this.lastRoute!;
  }

  /** Sends to every instance of the service named in `to`. */
  async broadcast(input: UMFInput | UMFMessage, defaults?: MessageDefaults): Promise<UMFMessage> {
    const { message, span } = this.prepare(input, defaults, 'publish');
    const route = this.route(message.to);
    await this.discovery.ready(route.serviceName);
    if (this.discovery.instances(route.serviceName).length === 0) {
      const err = new HydraError('SERVICE_UNAVAILABLE', `Unavailable ${route.serviceName} instances`);
      endSpan(span, err);
      return this.failed(message, err);
    }
    return endWhenSent(this.publish(channels.service(route.serviceName), message), span);
  }

  /**
   * Replies as Hydra's sendReplyMessage does: the original in long form, overlaid with
   * rmid/to/from and the response, sent back through `via` when a relay set it.
   */
  async reply(original: UMFMessage, response: UMFInput): Promise<UMFMessage> {
    const { mid: _mid, timestamp: _ts, signature: _sig, ...kept } = original;
    // The original's headers come along, as in Hydra; its trace context gives way to the
    // current one, and is the parent when none is current (a reply sent after the handler returned).
    const { message, span } = this.prepare({
      ...kept,
      rmid: original.mid,
      to: original.via ?? original.from,
      from: original.to,
      ...response,
    });
    return endWhenSent(this.deliver(message), span);
  }

  /**
   * Sends and waits for the reply whose rmid is this message's mid. Rejects with
   * TIMEOUT when none comes within `timeoutMs`. The reply comes back to this instance.
   */
  async request(input: UMFInput, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): Promise<UMFMessage> {
    const { serviceName, instanceId } = this.self;
    const { message, span } = this.prepare({ ...input, from: `${instanceId}@${serviceName}:/` });
    const answer = new Promise<UMFMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(message.mid);
        reject(new HydraError('TIMEOUT', `no reply to message ${message.mid} from ${message.to} within ${timeoutMs} ms`));
      }, timerMs(timeoutMs));
      this.pending.set(message.mid, { resolve, reject, timer });
    });
    try {
      await endWhenSent(this.deliver(message), span);
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
