/**
 * Hydra's public API (the `hydra` npm package, 1.9.3) on hydra-ts: the same
 * methods, return shapes, promise-ness and events, over core's registry,
 * discovery, messaging and queues (or, in test mode, over one in-memory instance).
 * Where Hydra resolved an error envelope instead of rejecting (sendMessage,
 * makeAPIRequest, ...), so does this; the deliberate differences are listed in
 * the package README.
 */
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import { pino } from 'pino';
import {
  HydraError,
  assertServiceName,
  closeRedis,
  connectRedis,
  createMessage as createCoreMessage,
  envelopeWithReason,
  errorMessage,
  getStoredConfig,
  healthDocument,
  isHydraError,
  listenOnServicePort,
  loadConfig,
  parseRoute as parseCoreRoute,
  resolveServiceIP,
  toShort,
  type ConfigDocument,
  type Envelope,
  type Logger,
  type NodeStatus,
  type ServiceRecord,
  type RedisClient,
  type UMFInput,
  type UMFMessage,
} from '@hydra-ts/core';
import * as umf from './lib/umfmessage.js';
import ServerResponse = require('./lib/server-response.js');
import ServerRequest = require('./lib/server-request.js');
import Utils = require('./lib/utils.js');
import configHelper = require('./lib/config.js');
import { normaliseRedisConfig } from './redis-config.js';
import { RedisBackend } from './redis-backend.js';
import { MemoryBackend } from './memory-backend.js';
import { compileRoute } from './routes.js';
import type { Backend } from './backend.js';

const INSTANCE_ID_NOT_SET = 'not set';
const NOT_INITIALIZED = 'init() not called, Hydra requires a configuration object.';
const UMF_INVALID_MESSAGE = 'UMF message requires "to", "from" and "body" fields';

/** What hydra.use() accepts: a HydraPlugin (`require('hydra/plugin')`) or anything with its hooks. */
export interface HydraPluginLike {
  /** The plugin's name (use() answers it). */
  name?: string;
  /** Called by use() with this Hydra. */
  setHydra?(hydra: Hydra): unknown;
  /** Called at the start of init() with the hydra branch of the config. */
  setConfig?(hydraConfig: Record<string, any>): unknown;
  /** Called once connected, before init() resolves. */
  onServiceReady?(): unknown;
}

/** What registerService() answers. */
export interface ServiceInfo {
  /** The registered service name. */
  serviceName: string;
  /** The address written to the nodes entry. */
  serviceIP: string;
  /** The port written to the nodes entry (chosen at init() when the config said 0). */
  servicePort: number;
}

/** A message as the API accepts it: long or short fields, or a message object from createUMFMessage(). */
export type MessageArg = Record<string, any>;

/** One service's entry in getServiceHealthAll(). */
export interface ServiceHealth {
  /** The health documents of its instances. */
  health: unknown[];
  /** Its health log, newest first. */
  log: unknown[];
  /** Its present instances. */
  presence: unknown[];
}

/** Options of the Hydra class (the default export is one instance made with none). */
export interface HydraOptions {
  /** Where hydra-ts's own warnings go; default pino to stderr at HYDRA_LOG_LEVEL or 'warn'. */
  logger?: Logger;
}

type InitState = 'none' | 'starting' | 'ready';

/** A node-style port probe: Hydra chose servicePort 0 (or a range) at init, so apps can listen on it. */
async function choosePort(servicePort: number | string): Promise<number> {
  if (typeof servicePort === 'number' && servicePort > 0) return servicePort;
  const probe = createServer();
  const port = await listenOnServicePort(probe, servicePort);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A message object's long form, or the plain object as given. */
function plain(message: MessageArg | undefined): UMFInput {
  if (message && typeof message.toJSON === 'function') return message.toJSON() as UMFInput;
  return (message ?? {}) as UMFInput;
}

/**
 * Hydra's API. The package's default export is the one instance apps share
 * (`require('hydra')`); a program hosting several services may create more.
 */
export class Hydra extends EventEmitter {
  /** 32 hex characters once init() resolved; 'not set' before (and after shutdown()). */
  instanceID = INSTANCE_ID_NOT_SET;
  /** The hydra branch of the config once init() resolved, with servicePort and serviceIP resolved. */
  config: Record<string, any> | null = null;
  /** The service name once init() resolved ('' before). */
  serviceName = '';
  /** The config's serviceDescription, or 'not specified'. */
  serviceDescription = '';
  /** The config's serviceVersion, else the version of the package.json beside the main script, else 'unspecified'. */
  serviceVersion = '';
  /** True once registerService() resolved. */
  isService = false;
  /** True once init() connected. */
  initialized = false;
  /** Whether init() was called in test mode (no Redis). */
  testMode = false;
  /** Plugins passed to use(), in order. */
  readonly registeredPlugins: HydraPluginLike[] = [];
  private readonly logger: Logger;
  private backend?: Backend;
  private state: InitState = 'none';
  private starting?: Promise<Record<string, any>>;
  private routePatterns: RegExp[] = [];
  /** The stored text of each message getQueuedMessage() answered, so markQueueMessage finds it exactly. */
  private readonly queueTexts = new WeakMap<object, string>();

  constructor(options: HydraOptions = {}) {
    super();
    this.logger = options.logger ?? pino({ name: 'hydra', level: process.env.HYDRA_LOG_LEVEL ?? 'warn' }, pino.destination({ dest: 2, sync: true }));
  }

  // --- lifecycle -------------------------------------------------------------

  /** Registers plugins (each one's setHydra), in order; resolves with their names. */
  async use(...plugins: HydraPluginLike[]): Promise<unknown[]> {
    const results: unknown[] = [];
    for (const plugin of plugins) {
      this.registeredPlugins.push(plugin);
      results.push((await plugin.setHydra?.(this)) || plugin.name || null);
    }
    return results;
  }

  /**
   * Loads the config (an object `{hydra: {...}}`, its hydra branch alone, or a JSON
   * file path), applies HYDRA_REDIS_URL / HYDRA_SERVICE, runs the plugins' setConfig,
   * connects (or, with `testMode`, starts the in-memory instance) and runs their
   * onServiceReady. Resolves with the whole config. A second call rejects.
   */
  init(config?: string | Record<string, any>, testMode = false): Promise<Record<string, any>> {
    if (this.state !== 'none') return Promise.reject(new Error('Hydra.init() already invoked'));
    this.state = 'starting';
    this.testMode = testMode;
    const starting = this.start(config, testMode).then(
      (doc) => {
        this.state = 'ready';
        return doc;
      },
      async (err: unknown) => {
        // As in Hydra, a failed init may be tried again.
        await this.reset();
        this.logMessage('error', String(err));
        throw err;
      },
    );
    this.starting = starting;
    return starting;
  }

  /** The promise of the last init() (rejects when init() was never called). */
  ready(): Promise<Record<string, any>> {
    return this.starting ?? Promise.reject(new Error('You must call hydra.init() before invoking hydra.ready()'));
  }

  private async start(source: string | Record<string, any> | undefined, testMode: boolean): Promise<Record<string, any>> {
    const given = await this.givenDocument(source);
    const doc = await loadConfig(this.withCoreRedis(given), {
      loadStored: testMode ? refuseStoredInTestMode : (url, svc, version) => this.loadStored(url, svc, version),
      // Hydra lower-cased service names silently; a migrated app keeps registering as it did.
      lowerCaseServiceName: true,
    });
    for (const plugin of this.registeredPlugins) await plugin.setConfig?.(doc.hydra);
    const h = doc.hydra;
    const servicePort = await choosePort(h.servicePort);
    const serviceIP = await resolveServiceIP(h);
    const resolved: ConfigDocument = { ...doc, hydra: { ...h, servicePort } };
    const backend = testMode ? new MemoryBackend(resolved, serviceIP, servicePort) : await RedisBackend.create(resolved, this.logger);
    backend.onMessage((m) => this.receive(m));
    this.backend = backend;
    this.config = { ...h, servicePort, serviceIP };
    this.instanceID = backend.instanceId;
    this.serviceName = h.serviceName;
    this.serviceDescription = h.serviceDescription || 'not specified';
    this.serviceVersion = h.serviceVersion;
    this.initialized = true;
    // Hydra wrote the resolved address into the caller's own config; apps listen on it.
    if (typeof given.hydra === 'object' && given.hydra !== null) Object.assign(given.hydra, { servicePort, serviceIP, serviceVersion: h.serviceVersion });
    for (const plugin of this.registeredPlugins) await plugin.onServiceReady?.();
    return { ...given, ...doc, hydra: this.config };
  }

  /** The document as given: a file's content, `{hydra}`, or a bare hydra branch (as Hydra's plugin guide passes it). */
  private async givenDocument(source: string | Record<string, any> | undefined): Promise<Record<string, any>> {
    if (typeof source === 'string') {
      await configHelper.init(source);
      return configHelper.getObject();
    }
    if (source === undefined || source === null) return {};
    if (typeof source !== 'object') throw new HydraError('INVALID_CONFIG', `hydra.init() takes a config object or a JSON file path, not ${typeof source}`);
    if (source.hydra === undefined && typeof source.serviceName === 'string') return { hydra: source };
    return source;
  }

  /** The document with hydra.redis in core's form (unless the environment replaces it) and without functions. */
  private withCoreRedis(doc: Record<string, any>): Record<string, any> {
    const copy = JSON.parse(JSON.stringify(doc)) as Record<string, any>;
    const envReplaces = Boolean(process.env.HYDRA_REDIS_URL || process.env.HYDRA_REDIS_URL_FILE);
    if (envReplaces || typeof copy.hydra !== 'object' || copy.hydra === null || copy.hydra.redis === undefined) return copy;
    const { redis, ignored } = normaliseRedisConfig(copy.hydra.redis);
    if (ignored.length) this.logger.warn({ ignored }, `hydra.redis options ${ignored.join(', ')} are node_redis 2 options hydra-ts does not use; ignored`);
    copy.hydra.redis = redis;
    return copy;
  }

  private async loadStored(url: string, serviceName: string, version: string): Promise<unknown> {
    const client = await connectRedis({ url }, this.logger, 'config');
    try {
      return await getStoredConfig(client, `${serviceName}:${version}`);
    } finally {
      await closeRedis(client);
    }
  }

  private async reset(): Promise<void> {
    const backend = this.backend;
    this.backend = undefined;
    this.state = 'none';
    this.initialized = false;
    this.isService = false;
    this.instanceID = INSTANCE_ID_NOT_SET;
    this.routePatterns = [];
    await backend?.close();
  }

  /** Removes presence, drains message handlers and closes connections; init() may be called again after. */
  async shutdown(): Promise<void> {
    this.starting = undefined;
    await this.reset();
  }

  private requireBackend(): Backend {
    if (!this.backend || !this.initialized) throw new Error(NOT_INITIALIZED);
    return this.backend;
  }

  /** Publishes this instance (presence, health, nodes entry) and subscribes to its message channels. */
  async registerService(): Promise<ServiceInfo> {
    const backend = this.requireBackend();
    await backend.registerService();
    this.isService = true;
    return { serviceName: this.serviceName, serviceIP: this.config!.serviceIP, servicePort: this.config!.servicePort };
  }

  // --- identity --------------------------------------------------------------

  /** The service name; throws before init(). */
  getServiceName(): string {
    if (!this.initialized) {
      this.logMessage('error', NOT_INITIALIZED);
      throw new Error(NOT_INITIALIZED);
    }
    return this.serviceName;
  }

  /** This instance's id (32 hex characters), or 'not set' before init(). */
  getInstanceID(): string {
    return this.instanceID;
  }

  /** The version this instance registers with. */
  getInstanceVersion(): string {
    return this.serviceVersion;
  }

  /** This process's health sample (memory, uptime, platform), as written to the health key. */
  getHealth(): Record<string, unknown> {
    const h = this.config ?? {};
    const { updatedOn: _written, ...sample } = healthDocument({
      serviceName: this.serviceName,
      serviceDescription: this.serviceDescription,
      serviceType: String(h.serviceType ?? ''),
      version: this.serviceVersion,
      instanceId: this.instanceID,
      ip: String(h.serviceIP ?? ''),
      port: Number(h.servicePort ?? 0),
    });
    return sample;
  }

  // --- logging ---------------------------------------------------------------

  /**
   * Emits `log` with `{ts, serviceName, type, processID, msg}` (unless `suppressEmit`)
   * and, once registered, appends the entry to this instance's health log.
   */
  sendToHealthLog(type: string, message: unknown, suppressEmit = false): void {
    this.logMessage(type, message, suppressEmit);
  }

  private logMessage(type: string, message: unknown, suppressEmit = false): void {
    const entry = { ts: new Date().toISOString(), serviceName: this.serviceName || 'not a service', type, processID: process.pid, msg: message };
    if (!suppressEmit) this.emit('log', entry);
    // Hydra kept Redis trouble out of the health log it writes through Redis.
    if (!this.isService || !this.backend || JSON.stringify(entry).toLowerCase().includes('redis')) return;
    this.backend.appendHealthLog(type, message as string).catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'could not append to the health log'));
  }

  // --- discovery -------------------------------------------------------------

  /** A service name argument: lower-cased (Hydra's names are case-insensitive) and checked. */
  private serviceArg(name: unknown): string {
    const svc = typeof name === 'string' ? name.toLowerCase() : name;
    assertServiceName(svc);
    return svc;
  }

  /** Every registered service: `[{serviceName, type, registeredOn}]`. */
  async getServices(): Promise<ServiceRecord[]> {
    return this.requireBackend().services();
  }

  /** Every nodes entry, each with `elapsed` seconds since its last refresh. */
  async getServiceNodes(): Promise<NodeStatus[]> {
    return this.requireBackend().nodes();
  }

  /** The service's record; rejects when it was never registered. */
  async findService(name: string): Promise<ServiceRecord> {
    const found = await this.requireBackend().service(this.serviceArg(name));
    if (!found) throw new Error(`Can't find ${name} service`);
    return found;
  }

  private async presenceOf(svc: string): Promise<Array<Record<string, unknown>>> {
    const list = (await this.requireBackend().presence(svc)).map((i) => ({ ...i, updatedOnTS: Date.parse(i.updatedOn) }));
    Utils.shuffleArray(list);
    return list;
  }

  /** The present instances of a service (default: this one), shuffled, as nodes entries with `updatedOnTS`. */
  async getServicePresence(name?: string): Promise<Array<Record<string, unknown>>> {
    return this.presenceOf(this.serviceArg(name ?? this.getServiceName()));
  }

  /** Whether at least one instance of the service (default: this one) is present. */
  async hasServicePresence(name?: string): Promise<boolean> {
    return (await this.presenceOf(this.serviceArg(name ?? this.getServiceName()))).length > 0;
  }

  /** Health, health log and presence of every registered service. */
  async getServiceHealthAll(): Promise<ServiceHealth[]> {
    const backend = this.requireBackend();
    const services = await backend.services();
    return Promise.all(
      services.map(async (s) => ({ health: await backend.health(s.serviceName), log: await backend.healthLog(s.serviceName), presence: await this.presenceOf(s.serviceName) })),
    );
  }

  /**
   * The health log of a service (default: this one; throws synchronously when this
   * process is no registered instance), every instance's entries, newest first.
   */
  getServiceHealthLog(name?: string): Promise<Array<Record<string, unknown>>> {
    if (name === undefined && !this.isService) throw new Error("getServiceHealthLog() failed. Can't get health log since this machine isn't an instance.");
    return (async () => this.requireBackend().healthLog(this.serviceArg(name ?? this.getServiceName())))();
  }

  // --- routes ----------------------------------------------------------------

  /** Publishes the service's routes (`[get]/v1/x/:id`, plus Hydra's three self routes) and tells routers to reload. */
  async registerRoutes(routes: string[]): Promise<void> {
    const backend = this.requireBackend();
    if (!Array.isArray(routes) || routes.some((r) => typeof r !== 'string')) {
      throw new HydraError('INVALID_ROUTE', 'registerRoutes() takes an array of route strings such as "[get]/v1/hello/:name"');
    }
    await backend.registerRoutes(routes);
    const svc = this.serviceName;
    this.routePatterns = [...routes, `[get]/${svc}`, `[get]/${svc}/`, `[get]/${svc}/:rest`].map(compileRoute);
  }

  /** Routes of every service: `{serviceName: [route, ...]}`. */
  async getAllServiceRoutes(): Promise<Record<string, string[]>> {
    return this.requireBackend().routes();
  }

  /** True when `routePath` (e.g. `[get]/v1/hello/world`) matches a route this instance registered. */
  matchRoute(routePath: string): boolean {
    return this.routePatterns.some((re) => re.test(routePath));
  }

  // --- messages --------------------------------------------------------------

  private receive(message: UMFMessage): void {
    try {
      this.emit('message', toShort(message));
    } catch (err) {
      this.logger.error({ err: errorMessage(err), mid: message.mid }, "a 'message' listener threw");
    }
  }

  /** A failed send as Hydra answered it: resolved, in the envelope, and logged. */
  private failure(err: unknown, message: UMFInput): Envelope {
    const reason = errorMessage(err);
    if (isHydraError(err, 'SERVICE_UNAVAILABLE')) this.emit('metric', `service:unavailable|${serviceOf(message)}`);
    this.logMessage('error', reason);
    return envelopeWithReason(isHydraError(err) ? err.status : 500, reason);
  }

  /** Resolves undefined once sent; resolves an envelope (503 when no instance is present, 400 for a bad message), never rejects. */
  async sendMessage(message: MessageArg): Promise<Envelope | undefined> {
    const m = plain(message);
    try {
      await this.requireBackend().send(m);
      return undefined;
    } catch (err) {
      return this.failure(err, m);
    }
  }

  /**
   * Replies to a received message (short or long form): the original overlaid with
   * `rmid` = its mid, `to` = its `via` or `from`, `from` = its `to`, then the response's fields.
   */
  async sendReplyMessage(originalMessage: MessageArg, messageResponse: MessageArg): Promise<Envelope | undefined> {
    let reply: UMFInput;
    try {
      const { mid, timestamp: _ts, signature: _sig, ...kept } = createCoreMessage(plain(originalMessage));
      reply = { ...kept, rmid: mid, to: kept.via ?? kept.from, from: kept.to, ...umf.createMessage(plain(messageResponse)).toJSON() };
    } catch (err) {
      return this.failure(err, plain(originalMessage));
    }
    return this.sendMessage(reply);
  }

  /** Sends to every instance of the service in `to`; resolves like sendMessage. */
  async sendBroadcastMessage(message: MessageArg): Promise<Envelope | undefined> {
    const m = plain(message);
    try {
      await this.requireBackend().broadcast(m);
      return undefined;
    } catch (err) {
      // Routers are optional: Hydra said nothing when none was there to hear a broadcast.
      if (isHydraError(err, 'SERVICE_UNAVAILABLE') && serviceOf(m) === 'hydra-router') return undefined;
      return this.failure(err, m);
    }
  }

  /** A message object (`toJSON`, `toShort`, `signMessage`, `validate`, fields by name). */
  createUMFMessage(message: MessageArg = {}): umf.UMFMessageInstance {
    return umf.createMessage(message);
  }

  /**
   * HTTP to a service (`to: 'svc:[get]/v1/path'`), answered in the envelope and never
   * rejected. `sendOpts.timeout` (or the message's `timeout`) is in seconds. A JSON
   * answer's fields are merged in; any other answer comes as `payLoad` (a Buffer).
   */
  async makeAPIRequest(message: MessageArg, sendOpts: { timeout?: number } = {}): Promise<Envelope> {
    const m = plain(message);
    try {
      const seconds = sendOpts?.timeout;
      const answer = await this.requireBackend().request(m, typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : undefined);
      const reason = (answer.result as { reason?: unknown } | undefined)?.reason;
      if (answer.statusCode === 503 && typeof reason === 'string' && reason.startsWith('Unavailable ')) this.emit('metric', `service:unavailable|${serviceOf(m)}`);
      return withPayload(answer);
    } catch (err) {
      return this.failure(err, m);
    }
  }

  // --- queues ----------------------------------------------------------------

  /** Queues a message for the service in `to`; resolves with the message given (or a 400 envelope when it is incomplete). */
  async queueMessage(message: MessageArg): Promise<MessageArg | Envelope> {
    const m = plain(message);
    const check = umf.createMessage(m as Record<string, unknown>);
    if (!check.validate()) return envelopeWithReason(400, UMF_INVALID_MESSAGE);
    const route = umf.parseRoute(check.to);
    if (route.error) return envelopeWithReason(400, route.error);
    await this.requireBackend().enqueue(check.toJSON() as UMFInput);
    return message;
  }

  /** Takes the oldest queued message of a service (default: this one) into progress: its short form, or null. */
  async getQueuedMessage(serviceName?: string): Promise<Record<string, any> | null> {
    const taken = await this.requireBackend().take(this.serviceArg(serviceName ?? this.getServiceName()));
    if (!taken) return null;
    const short = JSON.parse(taken.raw) as Record<string, any>;
    this.queueTexts.set(short, taken.raw);
    return short;
  }

  /**
   * Settles a message getQueuedMessage() gave: completed → removed (resolves the
   * message); else moved to the incomplete list with `bdy.reason` (resolves that list's length).
   */
  async markQueueMessage(message: Record<string, any>, completed: boolean, reason?: string): Promise<Record<string, any> | number> {
    const backend = this.requireBackend();
    this.getServiceName();
    const raw = this.queueTexts.get(message) ?? JSON.stringify(message);
    const body = (message.bdy ?? message.body) as Record<string, unknown> | undefined;
    if (body && typeof body === 'object') body.reason = reason || 'reason not provided';
    const incomplete = await backend.settle({ message: createCoreMessage(JSON.parse(raw)), raw }, Boolean(completed), reason ?? '');
    this.queueTexts.delete(message);
    return completed ? message : incomplete;
  }

  // --- stored configs --------------------------------------------------------

  /** The stored config `<service>:<version>`, or null. */
  async getConfig(label: string): Promise<unknown> {
    return this.requireBackend().getConfig(label);
  }

  /** Stores a config document under `<service>:<version>`. */
  async putConfig(label: string, config: unknown): Promise<void> {
    await this.requireBackend().putConfig(label, config);
  }

  /** The stored config labels of a service, sorted. */
  async listConfig(serviceName: string): Promise<string[]> {
    return this.requireBackend().listConfig(this.serviceArg(serviceName));
  }

  // --- helpers ---------------------------------------------------------------

  /**
   * A new Redis client on the same server and database: a node-redis 6 client
   * (promise API), connecting; commands wait until it is ready. Close it with `close()`.
   */
  getClonedRedisClient(options?: Record<string, unknown>): RedisClient {
    return this.requireBackend().cloneRedis(options);
  }

  /** `{createMessage, parseRoute}`, as `require('hydra/lib/umfmessage')`. */
  getUMFMessageHelper(): typeof umf {
    return umf;
  }

  /** The ServerResponse class, as `require('hydra/lib/server-response')`. */
  getServerResponseHelper(): typeof ServerResponse {
    return ServerResponse;
  }

  /** The ServerRequest class, as `require('hydra/lib/server-request')`. */
  getServerRequestHelper(): typeof ServerRequest {
    return ServerRequest;
  }

  /** The Utils class, as `require('hydra/lib/utils')`. */
  getUtilsHelper(): typeof Utils {
    return Utils;
  }

  /** The config helper, as `require('hydra/lib/config')`. */
  getConfigHelper(): typeof configHelper {
    return configHelper;
  }
}

function refuseStoredInTestMode(): never {
  throw new HydraError('INVALID_CONFIG', 'HYDRA_SERVICE=<service>:<version> loads the config from Redis, which test mode (hydra.init(config, true)) runs without: pass the config to init()');
}

/** The service a message is for, for metric names ('' when its `to` cannot be read). */
function serviceOf(message: UMFInput): string {
  try {
    return parseCoreRoute(String(message.to ?? '')).serviceName;
  } catch {
    return '';
  }
}

/** Hydra's answer to a non-JSON body: the envelope with `payLoad` (the body's bytes) and an empty result. */
function withPayload(answer: Envelope): Envelope {
  if (!Buffer.isBuffer(answer.result)) return answer;
  return { ...answer, result: {}, payLoad: answer.result };
}
