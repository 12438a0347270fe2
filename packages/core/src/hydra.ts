/**
 * One service instance (or a client that only discovers and sends): the object
 * a program holds. It owns its Redis connections, so a process may host any
 * number of them. Start with `Hydra.create(config)`; end with `close()`.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { EventEmitter } from 'node:events';
import { loadConfig, type ConfigDocument, type ConfigSource } from './config.js';
import { connectRedis, closeRedis, type RedisClient } from './redis.js';
import { defaultLogger, type Logger } from './logger.js';
import { Registration, DEFAULT_PRUNE_AFTER_S, type InstanceInfo } from './registry.js';
import { Discovery, type DiscoveryScope } from './discovery.js';
import { readServices, readNodes, readRoutes, readHealth, readHealthLog, type Instance } from './registry-reads.js';
import { Messenger, type MessageHandler } from './messaging.js';
import { Queues, DEFAULT_VISIBILITY_TIMEOUT_MS, type QueuedMessage } from './queue.js';
import { ApiClient, type ApiRequestOptions } from './http-client.js';
import { getStoredConfig, putStoredConfig, listStoredConfigs } from './config-store.js';
import { resolveServiceIP, listenOnServicePort } from './net.js';
import { HydraError, errorMessage } from './errors.js';
import type { MessageDefaults, UMFInput, UMFMessage } from './umf.js';
import type { Envelope } from './envelope.js';
import { SkippedKeyWarnings, type SkippedKeyHandler } from './wrong-type.js';
import { MessageCounts, type MessageCount } from './message-counts.js';
import { Tracer, instanceAttributes } from './tracing.js';

/** Options of {@link Hydra.create} beside the config. */
export interface HydraOptions {
  /** Where to log; default {@link defaultLogger} (`HYDRA_LOG_LEVEL`). */
  logger?: Logger;
  /** Environment to read HYDRA_REDIS_URL / HYDRA_SERVICE from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Seconds after which a nodes entry without presence is pruned. */
  pruneNodesAfterS?: number;
  /** How long a taken queue message may stay in progress before it is redelivered. */
  queueVisibilityTimeoutMs?: number;
  /**
   * Which services the live view follows: `called` (default) only those this instance
   * sends to, `all` every service (routers, dashboards). See Discovery.
   */
  discovery?: DiscoveryScope;
  /** Why an instance may not be called by makeAPIRequest (undefined = it may); see ApiClient. */
  upstreamRefusal?: (instance: Instance) => string | undefined;
  /** Lower-case hydra.serviceName as Hydra does instead of refusing capitals (see ValidateOptions). */
  lowerCaseServiceName?: boolean;
}

/**
 * One service instance, or a client that only discovers and sends. Emits
 * `message` for each message that arrives (as {@link Hydra.onMessage} handlers see it).
 *
 * ```ts
 * const hydra = await Hydra.create({ hydra: { serviceName: 'pricer' } });
 * await hydra.registerService();
 * hydra.onMessage((m) => hydra.sendReplyMessage(m, { body: { price: 42 } }));
 * ```
 */
export class Hydra extends EventEmitter<{
  /** A message for this instance or its service arrived (replies to request() excepted). */
  message: [UMFMessage];
}> {
  /** The validated config document the instance started with (its own sections included). */
  readonly config: ConfigDocument;
  /** `config.hydra.serviceName`. */
  readonly serviceName: string;
  /** This instance's id: 32 lower-case hex characters, new for every create(). */
  readonly instanceId = randomUUID().replace(/-/g, '');
  /** A child of the given logger bound to the service name and instance id. */
  readonly logger: Logger;
  /** The queue operations beneath queueMessage / getQueuedMessage / markQueueMessage. */
  readonly queues: Queues;
  /** The live view of every service's present instances. */
  readonly discovery: Discovery;
  /** Where this instance's registry reads report a key of the wrong type: one warning per key. */
  readonly onSkippedKey: SkippedKeyHandler;
  private readonly messenger: Messenger;
  private readonly counts = new MessageCounts();
  /** Spans this instance makes (messages, HTTP calls) name it: see instanceAttributes. */
  readonly tracer: Tracer;
  /** What this instance's messages say where the caller did not: `from` is this service. */
  private readonly messageDefaults: MessageDefaults;
  private readonly api: ApiClient;
  private registration?: Registration;
  private recoverTimer?: NodeJS.Timeout;
  private closing?: Promise<void>;
  private address?: { ip: string; port: number };

  private constructor(
    config: ConfigDocument,
    /** The command connection (the subscriber connection is separate and private). */
    readonly redis: RedisClient,
    private readonly subscriber: RedisClient,
    logger: Logger,
    private readonly options: HydraOptions,
  ) {
    super();
    this.config = config;
    this.serviceName = config.hydra.serviceName;
    this.messageDefaults = { from: `${this.serviceName}:/` };
    this.logger = logger.child({ service: this.serviceName, instance: this.instanceId });
    this.onSkippedKey = new SkippedKeyWarnings(this.logger).handler;
    this.tracer = new Tracer('@hydra-ts/core', instanceAttributes(this.serviceName, this.instanceId));
    this.discovery = new Discovery(redis, subscriber, this.logger, this.onSkippedKey, options.discovery);
    this.messenger = new Messenger(redis, subscriber, this.discovery, { serviceName: this.serviceName, instanceId: this.instanceId }, this.logger, config.hydra.umfSecret, this.tracer, this.counts);
    this.messenger.onMessage((m) => void this.emit('message', m));
    this.queues = new Queues(redis, this.tracer);
    this.api = new ApiClient(this.discovery, options.upstreamRefusal, this.tracer);
  }

  /**
   * Loads and validates the config (object, file path, or the Hydra environment),
   * connects to Redis and starts discovery. Fails with a coded error naming the
   * bad field or the unreachable Redis.
   */
  static async create(source: ConfigSource, options: HydraOptions = {}): Promise<Hydra> {
    const baseLogger = options.logger ?? defaultLogger('hydra-ts');
    const config = await loadConfig(source, {
      env: options.env,
      lowerCaseServiceName: options.lowerCaseServiceName,
      loadStored: async (url, svc, version) => {
        const client = await connectRedis({ url }, baseLogger, 'config');
        try {
          return await getStoredConfig(client, `${svc}:${version}`);
        } finally {
          await closeRedis(client);
        }
      },
    });
    const redisConfig = config.hydra.redis;
    let hydra: Hydra | undefined;
    const onReconnect = () => void hydra?.restore();
    const redis = await connectRedis(redisConfig, baseLogger, 'commands', onReconnect);
    let subscriber: RedisClient;
    try {
      subscriber = await connectRedis(redisConfig, baseLogger, 'subscriber');
    } catch (err) {
      await closeRedis(redis);
      throw err;
    }
    hydra = new Hydra(config, redis, subscriber, baseLogger, options);
    try {
      await hydra.discovery.start();
    } catch (err) {
      await hydra.close();
      throw err;
    }
    return hydra;
  }

  /** Binds `server` on the configured servicePort (and serviceIP when it is an address); returns the port. */
  async listen(server: Server): Promise<number> {
    const ip = await resolveServiceIP(this.config.hydra);
    const bindHost = this.config.hydra.serviceIP === '' || this.config.hydra.serviceIP.includes('*') ? undefined : ip;
    const port = await listenOnServicePort(server, this.config.hydra.servicePort, bindHost);
    this.address = { ip, port };
    return port;
  }

  /**
   * Publishes this instance: service key, nodes entry, presence and health with a
   * heartbeat, and subscribes to its message channels. Call after listen() when
   * the instance serves HTTP.
   */
  async registerService(): Promise<{
    /** The registered name. */
    serviceName: string;
    /** The address written to the nodes entry. */
    serviceIP: string;
    /** The port written to the nodes entry (0 when the instance does not listen). */
    servicePort: number;
  }> {
    if (this.registration) throw new HydraError('INVALID_CONFIG', `${this.serviceName} is already registered`);
    const h = this.config.hydra;
    const ip = this.address?.ip ?? (await resolveServiceIP(h));
    const port = this.address?.port ?? (typeof h.servicePort === 'number' ? h.servicePort : 0);
    const info: InstanceInfo = {
      serviceName: this.serviceName,
      serviceDescription: h.serviceDescription,
      serviceType: h.serviceType,
      version: h.serviceVersion,
      instanceId: this.instanceId,
      ip,
      port,
    };
    this.registration = new Registration(this.redis, info, this.logger, this.onSkippedKey, this.options.pruneNodesAfterS ?? DEFAULT_PRUNE_AFTER_S);
    await this.messenger.listen();
    await this.registration.register();
    const visibility = this.options.queueVisibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS;
    this.recoverTimer = setInterval(() => void this.recoverQueue(visibility), Math.max(1000, visibility / 2));
    this.recoverTimer.unref();
    this.logger.info({ ip, port }, 'service registered');
    return { serviceName: this.serviceName, serviceIP: ip, servicePort: port };
  }

  private async recoverQueue(visibilityMs: number): Promise<void> {
    if (!this.redis.isReady) return;
    try {
      const moved = await this.queues.recover(this.serviceName, visibilityMs);
      if (moved) this.logger.warn({ moved }, 'redelivered queue messages stuck in progress past the visibility timeout');
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'queue recovery failed; will retry');
    }
  }

  /** After Redis came back: our keys may be gone (a restart without persistence) and pub/sub missed events. */
  private async restore(): Promise<void> {
    try {
      await this.registration?.restore();
      this.discovery.reconnected();
      if (this.registration) this.logger.info('re-registered after Redis reconnect');
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 're-registration after reconnect failed; the heartbeat keeps trying');
    }
  }

  /** Its callers are async, so NOT_REGISTERED reaches theirs as a rejection, never a synchronous throw. */
  private requireRegistration(): Registration {
    if (!this.registration) throw new HydraError('NOT_REGISTERED', `${this.serviceName} must call registerService() first`);
    return this.registration;
  }

  /** Publishes the service's routes (`[get]/v1/x/:id`) and tells routers to reload. */
  async registerRoutes(routes: string[]): Promise<void> {
    return this.requireRegistration().registerRoutes(routes);
  }

  /** Appends to this instance's health log (`...:health:log`). */
  async log(type: string, message: string): Promise<void> {
    return this.requireRegistration().log(type, message);
  }

  // --- messaging -----------------------------------------------------------

  /**
   * Calls `handler` for each message that arrives for this instance (direct or
   * broadcast to its service); needs registerService(). Returns a function that
   * removes the handler. close() waits for the promises handlers return.
   */
  onMessage(handler: MessageHandler): () => void {
    return this.messenger.onMessage(handler);
  }

  /**
   * Listens on a Redis channel of the app's own (plain PUBLISH text, not UMF) through
   * this instance's subscriber connection, so a feature that needs a channel costs no
   * connection more; node-redis subscribes again after a reconnect. A listener that
   * throws is logged, not rethrown into the connection. Resolves once Redis confirmed
   * the subscription, with a function that stops this listener (others stay).
   */
  async subscribe(channel: string, listener: (text: string) => void): Promise<() => Promise<void>> {
    const guarded = (text: string) => {
      try {
        listener(text);
      } catch (err) {
        this.logger.warn({ channel, err: errorMessage(err) }, 'a channel listener threw; the message is dropped');
      }
    };
    await this.subscriber.subscribe(channel, guarded);
    return () => this.subscriber.unsubscribe(channel, guarded);
  }

  /** `from` defaults to this service, so callers only say where a message goes. */
  private withFrom(message: UMFInput): UMFInput {
    return message.from || message.frm ? message : { ...message, ...this.messageDefaults };
  }

  /**
   * Sends a message to one instance: the one named in `to` (`<id>@svc:/`) or the next
   * present instance of `svc` (round robin). Rejects with INVALID_UMF or INVALID_ROUTE
   * for bad input, SERVICE_UNAVAILABLE when no instance is alive, REDIS_UNAVAILABLE when
   * Redis is away. Resolves with the message sent.
   */
  sendMessage(message: UMFInput): Promise<UMFMessage> {
    return this.messenger.send(message, this.messageDefaults);
  }

  /** Sends a message to every instance of the service named in `to`. */
  sendBroadcastMessage(message: UMFInput): Promise<UMFMessage> {
    return this.messenger.broadcast(message, this.messageDefaults);
  }

  /**
   * Answers `original`: `rmid` = its `mid`, `to` = its `via` or `from`, `from` = its
   * `to`, overlaid with `response` (usually `{body}`), as Hydra's sendReplyMessage does.
   */
  sendReplyMessage(original: UMFMessage, response: UMFInput): Promise<UMFMessage> {
    return this.messenger.reply(original, response);
  }

  /**
   * Sends and resolves with the reply (correlated by rmid); rejects with TIMEOUT after
   * `timeoutMs` (default 5000). The reply comes to this instance's own channel, so the
   * caller must have called registerService() (NOT_REGISTERED otherwise).
   */
  async request(message: UMFInput, timeoutMs?: number): Promise<UMFMessage> {
    this.requireRegistration();
    return this.messenger.request(message, timeoutMs);
  }

  /**
   * An HTTP call to a live instance: `to` is `svc:[method]/path` (or `<id>@svc:...`), `body`
   * the JSON body of POST, PUT and PATCH. Always resolves with Hydra's envelope
   * (503 when no instance is alive); see {@link ApiClient.request}.
   */
  makeAPIRequest(message: UMFInput, options?: ApiRequestOptions): Promise<Envelope> {
    return this.api.request(this.withFrom(message), options);
  }

  /** Messages sent, received and failed so far, by type (for metrics). */
  messageCounts(): Iterable<MessageCount> {
    return this.counts.entries();
  }

  // --- queues --------------------------------------------------------------

  /** Appends a message to the queue of the service named in `to` (`mqrecieved`); the service need not be running. */
  queueMessage(message: UMFInput): Promise<UMFMessage> {
    return this.queues.enqueue(this.withFrom(message));
  }

  /** Takes the next message from this service's queue (or `serviceName`'s). */
  getQueuedMessage(serviceName = this.serviceName): Promise<QueuedMessage | null> {
    return this.queues.take(serviceName);
  }

  /** Hydra's markQueueMessage: completed → removed, otherwise moved to mqincomplete with the reason. */
  markQueueMessage(taken: QueuedMessage, completed: boolean, reason = ''): Promise<boolean> {
    return completed ? this.queues.ack(this.serviceName, taken) : this.queues.fail(this.serviceName, taken, reason);
  }

  // --- discovery -----------------------------------------------------------

  /** The present instances of a service (from memory once the service is followed). */
  async getServicePresence(serviceName: string): Promise<Instance[]> {
    await this.discovery.ready(serviceName);
    return this.discovery.instances(serviceName);
  }

  /** Every registered service (`hydra:service:<svc>:service`), alive or not. */
  getServices() {
    return readServices(this.redis);
  }

  /** Every nodes entry (or those of `serviceName`), each marked alive or not. */
  getServiceNodes(serviceName?: string) {
    return readNodes(this.redis, serviceName, this.onSkippedKey);
  }

  /** The registered routes of every service, by service name. */
  getAllServiceRoutes() {
    return readRoutes(this.redis, undefined, this.onSkippedKey);
  }

  /** The health documents of a service's live instances (default: this service). */
  getServiceHealth(serviceName = this.serviceName) {
    return readHealth(this.redis, serviceName);
  }

  /** The health log of every instance of a service, newest first (default: this service). */
  getServiceHealthLog(serviceName = this.serviceName) {
    return readHealthLog(this.redis, serviceName, this.onSkippedKey);
  }

  // --- stored configs ------------------------------------------------------

  /** The config document stored as `label` (`<svc>:<version>`), or null. */
  getConfig(label: string): Promise<unknown> {
    return getStoredConfig(this.redis, label);
  }

  /** Stores a config document as `label` (`<svc>:<version>`), as `hydra-cli cfg push` does. */
  putConfig(label: string, doc: unknown): Promise<void> {
    return putStoredConfig(this.redis, label, doc);
  }

  /** The labels of a service's stored configs, sorted. */
  listConfig(serviceName: string): Promise<string[]> {
    return listStoredConfigs(this.redis, serviceName);
  }

  // --- lifecycle -----------------------------------------------------------

  /**
   * Removes presence and stops the heartbeat, so routers and senders stop choosing
   * this instance, while connections stay open for work in flight. close() does it too.
   */
  async withdraw(): Promise<void> {
    clearInterval(this.recoverTimer);
    try {
      await this.registration?.deregister();
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'could not remove presence');
    }
  }

  /**
   * Graceful stop: presence removed first (no new work is routed here), in-flight
   * message handlers drained, then timers and connections released. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.withdraw();
      this.discovery.stop();
      await this.messenger.drain();
      await this.api.close();
      await closeRedis(this.subscriber);
      await closeRedis(this.redis);
      this.removeAllListeners();
    })();
    return this.closing;
  }
}
