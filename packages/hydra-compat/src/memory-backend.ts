/**
 * Test mode (`hydra.init(config, true)`): the Hydra API for one instance in one
 * process, with no Redis. The instance sees itself (presence, nodes, health,
 * routes), receives the messages it sends to its own service, keeps queues and
 * stored configs in memory, and reaches its own HTTP port with makeAPIRequest.
 * Every other service is absent: sending to one answers as Hydra does when none
 * is running. This replaces Hydra's redis-mock, which core's Lua scripts and
 * pub/sub would not run on; limits are listed in the package README.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ApiClient, HydraError, createMessage, healthDocument, parseConfigLabel, parseMessage, parseRoute, toShort, assertConfigDocument, assertServiceName, type ConfigDocument, type Envelope, type Instance, type NodeStatus, type QueuedMessage, type ServiceRecord, type ShortUMFMessage, type UMFInput, type UMFMessage } from '@hydra-ts/core';
import type { Backend, HealthLogEntry } from './backend.js';

/** Hydra's health log length (LTRIM 0 63). */
const HEALTH_LOG_MAX = 64;

interface QueueLists {
  waiting: string[];
  inProgress: string[];
  incomplete: string[];
}

export class MemoryBackend implements Backend {
  readonly instanceId = randomUUID().replace(/-/g, '');
  private registeredOn?: string;
  private routeList: string[] = [];
  private readonly log: string[] = [];
  private readonly handlers: Array<(m: UMFMessage) => void> = [];
  private readonly queues = new Map<string, QueueLists>();
  private readonly configs = new Map<string, Map<string, string>>();
  private readonly api: ApiClient;
  private closed = false;

  /** `ip` and `port` are where this instance says it is (the port its app listens on). */
  constructor(readonly config: ConfigDocument, private readonly ip: string, private readonly port: number) {
    this.api = new ApiClient({
      get: (svc, id) => (this.isSelf(svc) && id === this.instanceId ? this.self() : undefined),
      pick: (svc, exclude) => (this.isSelf(svc) && !exclude?.has(this.instanceId) ? this.self() : undefined),
      ready: () => undefined,
    });
  }

  private get serviceName(): string {
    return this.config.hydra.serviceName;
  }

  private isSelf(serviceName: string): boolean {
    return this.registeredOn !== undefined && !this.closed && serviceName === this.serviceName;
  }

  private self(): Instance {
    const h = this.config.hydra;
    return { serviceName: h.serviceName, serviceDescription: h.serviceDescription, version: h.serviceVersion, instanceID: this.instanceId, updatedOn: new Date().toISOString(), processID: process.pid, ip: this.ip, port: this.port, hostName: hostname() };
  }

  async registerService(): Promise<void> {
    if (this.registeredOn) throw new HydraError('INVALID_CONFIG', `${this.serviceName} is already registered`);
    this.registeredOn = new Date().toISOString();
  }

  async registerRoutes(routes: string[]): Promise<void> {
    const svc = this.serviceName;
    this.routeList = [...new Set([...routes, `[get]/${svc}`, `[get]/${svc}/`, `[get]/${svc}/:rest`])];
  }

  async appendHealthLog(type: string, message: string): Promise<void> {
    this.log.unshift(JSON.stringify({ ts: new Date().toISOString(), serviceName: this.serviceName, type, processID: process.pid, msg: message }));
    this.log.length = Math.min(this.log.length, HEALTH_LOG_MAX);
  }

  onMessage(handler: (message: UMFMessage) => void): void {
    this.handlers.push(handler);
  }

  /** Delivers on a later turn, through the short form's JSON, as the wire would. */
  private deliver(message: UMFMessage): void {
    const text = JSON.stringify(toShort(message));
    setImmediate(() => {
      if (this.closed) return;
      const received = parseMessage(text);
      for (const handler of this.handlers) handler(received);
    });
  }

  private target(input: UMFInput): UMFMessage {
    const message = createMessage({ from: `${this.serviceName}:/`, ...input });
    const route = parseRoute(message.to);
    if (!this.isSelf(route.serviceName)) throw new HydraError('SERVICE_UNAVAILABLE', `Unavailable ${route.serviceName} instances`);
    if (route.instance && route.instance !== this.instanceId) throw new HydraError('SERVICE_UNAVAILABLE', `Unavailable ${route.serviceName} instance named ${route.instance}`);
    return message;
  }

  async send(input: UMFInput): Promise<void> {
    this.deliver(this.target(input));
  }

  async broadcast(input: UMFInput): Promise<void> {
    this.deliver(this.target({ ...input, to: String(input.to ?? '').replace(/^[^@:]*@/, '') }));
  }

  request(input: UMFInput, timeoutMs: number | undefined): Promise<Envelope> {
    return this.api.request({ from: `${this.serviceName}:/`, ...input }, { timeoutMs, bytes: true });
  }

  async presence(serviceName: string): Promise<Instance[]> {
    return this.isSelf(serviceName) ? [this.self()] : [];
  }

  async services(): Promise<ServiceRecord[]> {
    return this.registeredOn ? [{ serviceName: this.serviceName, type: this.config.hydra.serviceType, registeredOn: this.registeredOn }] : [];
  }

  async service(serviceName: string): Promise<ServiceRecord | null> {
    return (await this.services()).find((s) => s.serviceName === serviceName) ?? null;
  }

  async nodes(): Promise<NodeStatus[]> {
    return this.registeredOn ? [{ ...this.self(), elapsed: 0, alive: true }] : [];
  }

  async routes(): Promise<Record<string, string[]>> {
    return this.routeList.length ? { [this.serviceName]: [...this.routeList].sort() } : {};
  }

  async health(serviceName: string): Promise<Record<string, unknown>[]> {
    if (!this.isSelf(serviceName)) return [];
    const s = this.self();
    return [healthDocument({ serviceName: s.serviceName, serviceDescription: s.serviceDescription, serviceType: this.config.hydra.serviceType, version: s.version, instanceId: s.instanceID, ip: s.ip, port: s.port })];
  }

  async healthLog(serviceName: string): Promise<HealthLogEntry[]> {
    return serviceName === this.serviceName ? this.log.map((e) => JSON.parse(e) as HealthLogEntry) : [];
  }

  private lists(serviceName: string): QueueLists {
    assertServiceName(serviceName, 'queue service');
    let lists = this.queues.get(serviceName);
    if (!lists) this.queues.set(serviceName, (lists = { waiting: [], inProgress: [], incomplete: [] }));
    return lists;
  }

  async enqueue(input: UMFInput): Promise<void> {
    const message = createMessage({ from: `${this.serviceName}:/`, ...input });
    // Hydra's LPUSH: newest at the head; take() pops the tail (the oldest).
    this.lists(parseRoute(message.to).serviceName).waiting.unshift(JSON.stringify(toShort(message)));
  }

  async take(serviceName: string): Promise<QueuedMessage | null> {
    const lists = this.lists(serviceName);
    const raw = lists.waiting.pop();
    if (raw === undefined) return null;
    lists.inProgress.unshift(raw);
    return { message: createMessage(JSON.parse(raw)), raw };
  }

  async settle(taken: QueuedMessage, completed: boolean, reason: string): Promise<number> {
    const lists = this.lists(this.serviceName);
    const at = lists.inProgress.lastIndexOf(taken.raw);
    if (at >= 0) lists.inProgress.splice(at, 1);
    if (!completed && at >= 0) {
      const short = JSON.parse(taken.raw) as ShortUMFMessage;
      short.bdy = { ...short.bdy, reason: reason || 'reason not provided' };
      lists.incomplete.push(JSON.stringify(short));
    }
    return lists.incomplete.length;
  }

  async getConfig(label: string): Promise<unknown> {
    const { serviceName, version } = parseConfigLabel(label);
    const raw = this.configs.get(serviceName)?.get(version);
    return raw === undefined ? null : JSON.parse(raw);
  }

  async putConfig(label: string, doc: unknown): Promise<void> {
    const { serviceName, version } = parseConfigLabel(label);
    assertConfigDocument(doc);
    let versions = this.configs.get(serviceName);
    if (!versions) this.configs.set(serviceName, (versions = new Map()));
    versions.set(version, JSON.stringify(doc));
  }

  async listConfig(serviceName: string): Promise<string[]> {
    return [...(this.configs.get(serviceName)?.keys() ?? [])].sort().map((v) => `${serviceName}:${v}`);
  }

  cloneRedis(): never {
    throw new HydraError('REDIS_UNAVAILABLE', 'getClonedRedisClient() needs a Redis server: hydra.init(config, true) (test mode) runs without one');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.length = 0;
    await this.api.close();
  }
}
