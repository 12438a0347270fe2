/**
 * An instance's registration in Redis (the key layout of docs/wire.md): the service key,
 * the nodes hash entry, presence, health and the health log, and the routes.
 * The heartbeat rewrites nodes, presence and health together every second with
 * a 3 s TTL, so health is present whenever presence is (Hydra refreshed health
 * every 5 s with a 3 s TTL). Long-dead nodes entries are pruned.
 */
import { hostname } from 'node:os';
import { RESP_TYPES } from 'redis';
import type { RedisClient } from './redis.js';
import { keys, channels } from './keys.js';
import { createMessage, toShort } from './umf.js';
import type { Logger } from './logger.js';
import { errorMessage } from './errors.js';
import { isWrongType, readOrSkip, reportWrongType, SkippedKeyWarnings, type SkippedKeyHandler } from './wrong-type.js';

/** How often an instance rewrites its nodes entry, presence and health. */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** TTL of presence and health: three heartbeats. */
export const PRESENCE_TTL_S = 3;
/** TTL of a health log, renewed by each heartbeat: one week. */
export const HEALTH_LOG_TTL_S = 604800;
/** Entries kept in a health log. */
export const HEALTH_LOG_MAX = 64;
/** A nodes entry not refreshed for this long, with no presence, is removed. */
export const DEFAULT_PRUNE_AFTER_S = 3600;
const PRUNE_EVERY_MS = 60_000;

/** The value stored per instance in `hydra:service:nodes`. */
export interface NodeEntry {
  /** The service. */
  serviceName: string;
  /** The config's serviceDescription. */
  serviceDescription: string;
  /** The service version registered. */
  version: string;
  /** The instance id (32 hex characters). */
  instanceID: string;
  /** When the heartbeat last wrote the entry (ISO 8601). */
  updatedOn: string;
  /** The instance's process id. */
  processID: number;
  /** The address to call it on. */
  ip: string;
  /** Hydra writes a string when configured and a number when random: readers accept both. */
  port: number | string;
  /** The host's name. */
  hostName: string;
}

/** What an instance registers as: its name, version and address. */
export interface InstanceInfo {
  /** The service. */
  serviceName: string;
  /** The config's serviceDescription. */
  serviceDescription: string;
  /** The config's serviceType. */
  serviceType: string;
  /** The service version registered. */
  version: string;
  /** The instance id (32 hex characters). */
  instanceId: string;
  /** The address to call it on. */
  ip: string;
  /** The port to call it on. */
  port: number;
}

/** The health document an instance writes every heartbeat (Hydra's fields: memory, uptime, platform, ...). */
export function healthDocument(info: InstanceInfo): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    updatedOn: now,
    serviceName: info.serviceName,
    instanceID: info.instanceId,
    hostName: hostname(),
    sampledOn: now,
    processID: process.pid,
    architecture: process.arch,
    platform: process.platform,
    nodeVersion: process.version,
    memory: process.memoryUsage(),
    uptimeSeconds: process.uptime(),
  };
}

/**
 * Every field of the nodes hash (instance id → entry), or an empty Map when the key
 * is of the wrong type (told to `onSkip`). A Map, not node-redis's plain object: the
 * field names are whatever was written to Redis, and a field named `__proto__` would
 * vanish from an object (no reader would list it, no prune would remove it).
 */
export async function readNodesHash(redis: RedisClient, onSkip?: SkippedKeyHandler): Promise<Map<string, string>> {
  const asMap = redis.withTypeMapping({ [RESP_TYPES.MAP]: Map });
  return readOrSkip(redis, keys.nodes(), 'hash', () => asMap.hGetAll(keys.nodes()) as Promise<Map<string, string>>, new Map<string, string>(), onSkip);
}

/**
 * Deletes a nodes entry only if it is unchanged since it was read and the instance
 * has no presence: an instance that comes back between the read and the delete keeps its entry.
 */
const PRUNE_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`;

/** Removes nodes entries not updated for `olderThanS` seconds whose presence is gone; returns the ids removed. */
export async function pruneNodes(redis: RedisClient, olderThanS: number, now = Date.now(), onSkip?: SkippedKeyHandler): Promise<string[]> {
  const removed: string[] = [];
  for (const [id, raw] of await readNodesHash(redis, onSkip)) {
    let entry: Partial<NodeEntry> | undefined;
    try {
      entry = JSON.parse(raw) as Partial<NodeEntry>;
    } catch {
      entry = undefined; // an unreadable entry is as dead as an old one
    }
    const updated = entry?.updatedOn ? Date.parse(entry.updatedOn) : NaN;
    if (Number.isFinite(updated) && now - updated < olderThanS * 1000) continue;
    const svc = entry?.serviceName ?? '';
    const done = await redis.eval(PRUNE_SCRIPT, { keys: [keys.nodes(), keys.presence(svc, id)], arguments: [id, raw] });
    if (done === 1) removed.push(id);
  }
  return removed;
}

export class Registration {
  private heartbeat?: NodeJS.Timeout;
  private lastPrune = 0;
  private routes: string[] = [];
  private active = false;
  private readonly skipped: SkippedKeyWarnings;

  constructor(
    private readonly redis: RedisClient,
    private readonly info: InstanceInfo,
    private readonly logger: Logger,
    private readonly pruneAfterS = DEFAULT_PRUNE_AFTER_S,
  ) {
    this.skipped = new SkippedKeyWarnings(logger);
  }

  nodeEntry(): NodeEntry {
    const i = this.info;
    return {
      serviceName: i.serviceName,
      serviceDescription: i.serviceDescription,
      version: i.version,
      instanceID: i.instanceId,
      updatedOn: new Date().toISOString(),
      processID: process.pid,
      ip: i.ip,
      port: i.port,
      hostName: hostname(),
    };
  }

  /** Writes every key of the registration and starts the heartbeat. */
  async register(): Promise<void> {
    this.active = true;
    await this.writeAll();
    this.heartbeat ??= setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  /** Rewrites everything after Redis came back (it may have lost our keys). */
  async restore(): Promise<void> {
    if (!this.active) return;
    await this.writeAll();
    if (this.routes.length) await this.writeRoutes();
  }

  private async writeAll(): Promise<void> {
    const i = this.info;
    await this.redis.set(keys.service(i.serviceName), JSON.stringify({ serviceName: i.serviceName, type: i.serviceType, registeredOn: new Date().toISOString() }));
    await this.beat();
  }

  /** One heartbeat: nodes entry before presence, so whoever sees presence finds the entry. */
  private async beat(): Promise<void> {
    if (!this.active || !this.redis.isReady) return;
    const i = this.info;
    try {
      await this.redis
        .multi()
        .hSet(keys.nodes(), i.instanceId, JSON.stringify(this.nodeEntry()))
        .setEx(keys.presence(i.serviceName, i.instanceId), PRESENCE_TTL_S, i.instanceId)
        .setEx(keys.health(i.serviceName, i.instanceId), PRESENCE_TTL_S, JSON.stringify(healthDocument(i)))
        .expire(keys.healthLog(i.serviceName, i.instanceId), HEALTH_LOG_TTL_S)
        .exec();
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        const removed = await pruneNodes(this.redis, this.pruneAfterS, Date.now(), this.skipped.handler);
        if (removed.length) this.logger.info({ removed }, 'pruned long-dead entries from hydra:service:nodes');
      }
    } catch (err) {
      // Presence and health were still written (MULTI runs every command); only the entry
      // in a nodes key of the wrong type was not. Said once, not every second.
      if (isWrongType(err)) await reportWrongType(this.redis, keys.nodes(), 'hash', this.skipped.handler);
      else this.logger.warn({ err: errorMessage(err) }, 'heartbeat failed; will retry');
    }
  }

  /**
   * Replaces the service's routes (plus Hydra's three self routes) and tells
   * routers to reload, with the same broadcast Hydra sends.
   */
  async registerRoutes(routes: string[]): Promise<void> {
    const svc = this.info.serviceName;
    this.routes = [...new Set([...routes, `[get]/${svc}`, `[get]/${svc}/`, `[get]/${svc}/:rest`])];
    await this.writeRoutes();
  }

  private async writeRoutes(): Promise<void> {
    const svc = this.info.serviceName;
    await this.redis.multi().del(keys.routes(svc)).sAdd(keys.routes(svc), this.routes).exec();
    if (svc === 'hydra-router') return;
    const refresh = createMessage({ to: 'hydra-router:/refresh', from: `${svc}:/`, body: { action: 'refresh', serviceName: svc } });
    await this.redis.publish(channels.service('hydra-router'), JSON.stringify(toShort(refresh)));
  }

  async log(type: string, msg: string): Promise<void> {
    const i = this.info;
    const key = keys.healthLog(i.serviceName, i.instanceId);
    const entry = JSON.stringify({ ts: new Date().toISOString(), serviceName: i.serviceName, type, processID: process.pid, msg });
    await this.redis.multi().lPush(key, entry).lTrim(key, 0, HEALTH_LOG_MAX - 1).expire(key, HEALTH_LOG_TTL_S).exec();
  }

  /** Stops the heartbeat and removes presence (first, so discovery drops us at once) and health. */
  async deregister(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const i = this.info;
    if (!this.redis.isReady) return;
    await this.redis.del(keys.presence(i.serviceName, i.instanceId));
    await this.redis.del(keys.health(i.serviceName, i.instanceId));
  }
}
