/** The Hydra API's operations on core's Hydra: a real Redis, the Hydra wire protocol. */
import { Hydra as CoreHydra, keys, readPresence, type ConfigDocument, type Envelope, type Instance, type Logger, type QueuedMessage, type RedisClient, type ServiceRecord, type UMFInput, type UMFMessage } from '@hydra-ts/core';
import type { Backend, HealthLogEntry } from './backend.js';

export class RedisBackend implements Backend {
  private constructor(private readonly core: CoreHydra) {}

  /** Connects with a config document already loaded and validated (the environment is not read again). */
  static async create(doc: ConfigDocument, logger: Logger): Promise<RedisBackend> {
    return new RedisBackend(await CoreHydra.create(doc, { logger, env: {}, lowerCaseServiceName: true }));
  }

  get instanceId(): string {
    return this.core.instanceId;
  }

  async registerService(): Promise<void> {
    await this.core.registerService();
  }

  registerRoutes(routes: string[]): Promise<void> {
    return this.core.registerRoutes(routes);
  }

  appendHealthLog(type: string, message: string): Promise<void> {
    return this.core.log(type, message);
  }

  onMessage(handler: (message: UMFMessage) => void): void {
    this.core.onMessage(handler);
  }

  async send(message: UMFInput): Promise<void> {
    await this.core.sendMessage(message);
  }

  async broadcast(message: UMFInput): Promise<void> {
    await this.core.sendBroadcastMessage(message);
  }

  request(message: UMFInput, timeoutMs: number | undefined): Promise<Envelope> {
    return this.core.makeAPIRequest(message, { timeoutMs, bytes: true });
  }

  async presence(serviceName: string): Promise<Instance[]> {
    // Discovery's live view costs no round trip (apps ask on every message, as Hydra's
    // 3 s cache allowed); when it has none yet (an instance registered a moment ago,
    // before its join was announced) Redis itself is read.
    const live = await this.core.getServicePresence(serviceName);
    return live.length ? live : readPresence(this.core.redis, serviceName, this.core.onSkippedKey);
  }

  services(): Promise<ServiceRecord[]> {
    return this.core.getServices();
  }

  async service(serviceName: string): Promise<ServiceRecord | null> {
    const raw = await this.core.redis.get(keys.service(serviceName));
    if (raw === null) return null;
    try {
      return { ...(JSON.parse(raw) as ServiceRecord), serviceName };
    } catch {
      return { serviceName, type: '', registeredOn: '' };
    }
  }

  nodes() {
    return this.core.getServiceNodes();
  }

  async routes(): Promise<Record<string, string[]>> {
    return { ...(await this.core.getAllServiceRoutes()) };
  }

  health(serviceName: string): Promise<Record<string, unknown>[]> {
    return this.core.getServiceHealth(serviceName);
  }

  async healthLog(serviceName: string): Promise<HealthLogEntry[]> {
    const perInstance = await this.core.getServiceHealthLog(serviceName);
    return newestFirst(perInstance.flatMap((i) => i.entries));
  }

  async enqueue(message: UMFInput): Promise<void> {
    await this.core.queueMessage(message);
  }

  take(serviceName: string): Promise<QueuedMessage | null> {
    return this.core.getQueuedMessage(serviceName);
  }

  async settle(taken: QueuedMessage, completed: boolean, reason: string): Promise<number> {
    await this.core.markQueueMessage(taken, completed, reason);
    return completed ? 0 : (await this.core.queues.lengths(this.core.serviceName)).incomplete;
  }

  getConfig(label: string): Promise<unknown> {
    return this.core.getConfig(label);
  }

  putConfig(label: string, doc: unknown): Promise<void> {
    return this.core.putConfig(label, doc);
  }

  listConfig(serviceName: string): Promise<string[]> {
    return this.core.listConfig(serviceName);
  }

  cloneRedis(options: Record<string, unknown> = {}): RedisClient {
    // Commands queue until the clone is connected, as a node_redis 2 client's did.
    const client = this.core.redis.duplicate({ ...options, disableOfflineQueue: false }) as RedisClient;
    client.on('error', (err: Error) => this.core.logger.warn({ err: err.message }, 'cloned Redis client error'));
    client.connect().catch(() => undefined); // failures reach the 'error' listener and the queued commands
    return client;
  }

  close(): Promise<void> {
    return this.core.close();
  }
}

/** Health log entries of several instances merged, newest first (by their `ts`). */
function newestFirst(entries: HealthLogEntry[]): HealthLogEntry[] {
  return entries.sort((a, b) => String(b.ts ?? '').localeCompare(String(a.ts ?? '')));
}
