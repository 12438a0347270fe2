/**
 * Who is alive. Reads follow docs/wire.md (an instance is alive while its presence key
 * exists; its address is its `hydra:service:nodes` entry) with exact matching of
 * service names. The live view (Discovery) keeps every service's instances in
 * memory and follows changes through Redis keyspace notifications, so asking
 * "who serves X" costs no round trip; the read* functions are one-shot reads
 * for tools such as the CLI.
 */
import { EventEmitter } from 'node:events';
import type { RedisClient } from './redis.js';
import { keys, patterns, parseInstanceKey, parseServiceKey, keyspaceChannel, keyFromKeyspaceChannel, assertServiceName } from './keys.js';
import { readNodesHash, type NodeEntry } from './registry.js';
import type { Logger } from './logger.js';
import { errorMessage } from './errors.js';
import { readOrSkip, SkippedKeyWarnings, type SkippedKeyHandler } from './wrong-type.js';

const SCAN_COUNT = 1000;
/** With keyspace events a full resync only repairs what pub/sub may have dropped. */
const RESYNC_WITH_EVENTS_MS = 30_000;
/** Without them (CONFIG SET refused, e.g. a managed Redis), polling is the only way. */
const RESYNC_WITHOUT_EVENTS_MS = 1000;
/**
 * After a reconnect, instances get one and a half heartbeats to rewrite presence (a
 * restarted Redis comes back empty) before a resync judges who is gone.
 */
const RESYNC_AFTER_RECONNECT_MS = 1500;

/** A present instance: its nodes entry, with the port as a number. */
export interface Instance extends NodeEntry {
  /** The port to call it on. */
  port: number;
}

async function scanKeys(redis: RedisClient, match: string): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: match, COUNT: SCAN_COUNT })) found.push(...batch);
  return found;
}

function parseNode(raw: string | null | undefined): Instance | undefined {
  if (!raw) return undefined;
  try {
    const entry = JSON.parse(raw) as NodeEntry | null;
    const port = Number(entry?.port);
    // Anyone with access to Redis writes entries: one that names no service is no instance.
    if (typeof entry?.instanceID !== 'string' || typeof entry.serviceName !== 'string' || !Number.isFinite(port)) return undefined;
    return { ...entry, port };
  } catch {
    return undefined;
  }
}

/**
 * The one-shot readers below skip a key of the wrong Redis type (a string where
 * the routes set belongs, say) and tell `onSkip` which it was; the rest is read.
 */

/** Present instances of one service (exact name match), with their nodes entries. */
export async function readPresence(redis: RedisClient, svc: string, onSkip?: SkippedKeyHandler): Promise<Instance[]> {
  assertServiceName(svc);
  const ids = (await scanKeys(redis, patterns.presenceOf(svc)))
    .map((k) => parseInstanceKey(k, 'presence'))
    .filter((p): p is { service: string; instanceId: string } => p !== null && p.service === svc)
    .map((p) => p.instanceId);
  if (ids.length === 0) return [];
  const raw = await readOrSkip(redis, keys.nodes(), 'hash', () => redis.hmGet(keys.nodes(), ids), [], onSkip);
  return raw.map((r) => parseNode(r)).filter((n): n is Instance => n !== undefined);
}

/** A registered service, from `hydra:service:<svc>:service`. */
export interface ServiceRecord {
  /** The service (from the key). */
  serviceName: string;
  /** Its serviceType, '' when none. */
  type: string;
  /** When an instance last registered it (ISO 8601), '' when unknown. */
  registeredOn: string;
}

/** Every registered service (`hydra:service:<svc>:service`), alive or not. */
export async function readServices(redis: RedisClient): Promise<ServiceRecord[]> {
  const names = (await scanKeys(redis, patterns.allServices)).map((k) => parseServiceKey(k, 'service')).filter((s): s is string => s !== null);
  if (names.length === 0) return [];
  const values = await redis.mGet(names.map((n) => keys.service(n)));
  const out: ServiceRecord[] = [];
  // The name is the key's (validated); the stored document only adds type and date, and
  // anyone with access to Redis may have written something else there.
  values.forEach((v, i) => {
    if (v === null) return;
    let doc: Partial<Record<keyof ServiceRecord, unknown>> = {};
    try {
      const parsed: unknown = JSON.parse(v);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) doc = parsed;
    } catch {
      // shown with its name only
    }
    const text = (x: unknown) => (typeof x === 'string' ? x : '');
    out.push({ ...doc, serviceName: names[i]!, type: text(doc.type), registeredOn: text(doc.registeredOn) });
  });
  return out.sort((a, b) => a.serviceName.localeCompare(b.serviceName));
}

export interface NodeStatus extends Instance {
  /** Seconds since the entry was last refreshed. */
  elapsed: number;
  /** True while the instance's presence key exists. */
  alive: boolean;
}

/** Every nodes entry, each marked alive (presence exists) or not; unreadable entries are skipped. */
export async function readNodes(redis: RedisClient, svc?: string, onSkip?: SkippedKeyHandler): Promise<NodeStatus[]> {
  if (svc !== undefined) assertServiceName(svc);
  const nodes = [...(await readNodesHash(redis, onSkip)).values()].map((raw) => parseNode(raw)).filter((n): n is Instance => n !== undefined && (svc === undefined || n.serviceName === svc));
  if (nodes.length === 0) return [];
  const present = await Promise.all(nodes.map((n) => redis.exists(keys.presence(n.serviceName, n.instanceID))));
  const now = Date.now();
  return nodes.map((n, i) => ({ ...n, elapsed: Math.max(0, Math.round((now - Date.parse(n.updatedOn)) / 1000)), alive: present[i] === 1 }));
}

/** Routes per service: all services, or one (keyed by service name, so without a prototype). */
export async function readRoutes(redis: RedisClient, svc?: string, onSkip?: SkippedKeyHandler): Promise<Record<string, string[]>> {
  const names = svc !== undefined
    ? (assertServiceName(svc), [svc])
    : (await scanKeys(redis, patterns.allRoutes)).map((k) => parseServiceKey(k, 'service:routes')).filter((s): s is string => s !== null);
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const name of names.sort()) {
    const key = keys.routes(name);
    const routes = await readOrSkip(redis, key, 'set', () => redis.sMembers(key), null, onSkip);
    if (routes) out[name] = routes.sort();
  }
  return out;
}

/** Health documents of a service's instances (exact name match). */
export async function readHealth(redis: RedisClient, svc: string): Promise<Record<string, unknown>[]> {
  assertServiceName(svc);
  const healthKeys = (await scanKeys(redis, patterns.healthOf(svc))).filter((k) => parseInstanceKey(k, 'health')?.service === svc);
  if (healthKeys.length === 0) return [];
  const values = await redis.mGet(healthKeys);
  return values.flatMap((v) => {
    try {
      return v ? [JSON.parse(v) as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

/** The health log of every instance of a service, newest first per instance. */
export async function readHealthLog(
  redis: RedisClient,
  svc: string,
  onSkip?: SkippedKeyHandler,
): Promise<
  Array<{
    /** The instance the log is of. */
    instanceId: string;
    /** Its entries `{ts, serviceName, type, processID, msg}`, newest first. */
    entries: Record<string, unknown>[];
  }>
> {
  assertServiceName(svc);
  const logKeys = (await scanKeys(redis, patterns.healthLogOf(svc))).filter((k) => parseInstanceKey(k, 'health:log')?.service === svc);
  const out = [];
  for (const key of logKeys.sort()) {
    const stored = await readOrSkip(redis, key, 'list', () => redis.lRange(key, 0, -1), null, onSkip);
    if (!stored) continue;
    const entries = stored.flatMap((e) => {
      try {
        return [JSON.parse(e) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    out.push({ instanceId: parseInstanceKey(key, 'health:log')!.instanceId, entries });
  }
  return out;
}

/**
 * Turns on the keyspace events discovery needs (generic, string, expired) without
 * dropping flags already set. Returns false when the server refuses CONFIG.
 */
export async function enableKeyspaceEvents(redis: RedisClient, logger: Logger): Promise<boolean> {
  try {
    const current = (await redis.configGet('notify-keyspace-events'))['notify-keyspace-events'] ?? '';
    const needed = ['K', 'g', '$', 'x'];
    const has = (f: string) => current.includes(f) || (current.includes('A') && f !== 'K');
    if (needed.every(has)) return true;
    const flags = [...new Set([...current.split(''), ...needed])].join('');
    await redis.configSet('notify-keyspace-events', flags);
    return true;
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'cannot enable Redis keyspace notifications; discovery falls back to polling every second');
    return false;
  }
}

/**
 * Why an instance left: `removed` = its presence was deleted (a graceful stop: it may
 * still be finishing requests it took); `expired` = its presence ran out (no heartbeat for
 * 3 s: the process is dead, hung or cut off); `resync` = found missing by a full read
 * (either of the two, told apart only by keyspace events).
 */
export type DownReason = 'removed' | 'expired' | 'resync';

type DiscoveryEvents = {
  up: [instance: Instance];
  down: [instance: Instance, reason: DownReason];
};

/**
 * The live membership view. Emits 'up' and 'down' as instances appear and vanish.
 */
export class Discovery extends EventEmitter<DiscoveryEvents> {
  private readonly services = new Map<string, Map<string, Instance>>();
  private readonly cursors = new Map<string, number>();
  /** When each instance was last added: a resync does not drop one added while it was scanning. */
  private readonly addedAt = new Map<string, number>();
  private resyncTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private events = false;
  private syncing?: Promise<void>;
  private readonly skipped: SkippedKeyWarnings;

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly db: number,
    private readonly logger: Logger,
  ) {
    super();
    this.skipped = new SkippedKeyWarnings(logger);
  }

  /** Turns on keyspace events (or falls back to polling), subscribes, and reads every presence once. */
  async start(): Promise<void> {
    const events = (this.events = await enableKeyspaceEvents(this.redis, this.logger));
    if (events) {
      await this.subscriber.pSubscribe(keyspaceChannel(this.db, patterns.allPresence), (event, channel) => this.onKeyspace(event, channel));
    }
    await this.resync();
    this.resyncTimer = setInterval(() => void this.resync(), events ? RESYNC_WITH_EVENTS_MS : RESYNC_WITHOUT_EVENTS_MS);
    this.resyncTimer.unref();
  }

  /** Stops the resync timers (the subscriber connection belongs to the caller). */
  stop(): void {
    clearInterval(this.resyncTimer);
    clearTimeout(this.reconnectTimer);
    this.resyncTimer = undefined;
  }

  /**
   * After Redis came back. A restarted server has forgotten notify-keyspace-events
   * (and its keys), so the events are turned on again and a resync follows once
   * live instances have had time to rewrite their presence.
   */
  async reconnected(): Promise<void> {
    if (this.events) await enableKeyspaceEvents(this.redis, this.logger);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.resync(), RESYNC_AFTER_RECONNECT_MS);
    this.reconnectTimer.unref();
  }

  /** Present instances of `svc`, from memory. */
  instances(svc: string): Instance[] {
    return [...(this.services.get(svc)?.values() ?? [])];
  }

  /** Names of services with at least one present instance. */
  liveServices(): string[] {
    return [...this.services.entries()].filter(([, m]) => m.size > 0).map(([s]) => s).sort();
  }

  /** The present instance `instanceId` of `svc`, from memory. */
  get(svc: string, instanceId: string): Instance | undefined {
    return this.services.get(svc)?.get(instanceId);
  }

  /** Round robin over the present instances of `svc`; `exclude` skips instances already tried. */
  pick(svc: string, exclude?: ReadonlySet<string>): Instance | undefined {
    const list = this.instances(svc).filter((i) => !exclude?.has(i.instanceID));
    if (list.length === 0) return undefined;
    const n = this.cursors.get(svc) ?? 0;
    this.cursors.set(svc, n + 1);
    return list[n % list.length];
  }

  /** Re-reads all presence (at start, after a reconnect, and now and then as a repair). */
  resync(): Promise<void> {
    this.syncing ??= this.readAll().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async readAll(): Promise<void> {
    if (!this.redis.isReady) return;
    const started = Date.now();
    try {
      const found = (await scanKeys(this.redis, patterns.allPresence)).map((k) => parseInstanceKey(k, 'presence')).filter((p) => p !== null);
      const ids = found.map((p) => p.instanceId);
      const entries = found.length ? await readOrSkip(this.redis, keys.nodes(), 'hash', () => this.redis.hmGet(keys.nodes(), ids), null, this.skipped.handler) : [];
      // No addresses to be had: keep the view as it is rather than judge everyone gone.
      if (entries === null) return;
      const seen = new Set<string>();
      found.forEach((p, i) => {
        const node = parseNode(entries[i]);
        if (!node) return;
        seen.add(p.instanceId);
        this.add(p.service, node);
      });
      for (const [, members] of this.services) {
        for (const inst of [...members.values()]) {
          if (!seen.has(inst.instanceID) && (this.addedAt.get(inst.instanceID) ?? 0) < started) this.remove(inst.serviceName, inst.instanceID, 'resync');
        }
      }
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'discovery resync failed; will retry');
    }
  }

  private onKeyspace(event: string, channel: string): void {
    const parsed = parseInstanceKey(keyFromKeyspaceChannel(channel), 'presence');
    if (!parsed) return;
    if (event === 'set') {
      if (!this.get(parsed.service, parsed.instanceId)) void this.fetch(parsed.service, parsed.instanceId);
    } else if (event === 'del' || event === 'expired') {
      this.remove(parsed.service, parsed.instanceId, event === 'del' ? 'removed' : 'expired');
    }
  }

  private async fetch(svc: string, id: string): Promise<void> {
    try {
      const node = parseNode(await readOrSkip(this.redis, keys.nodes(), 'hash', () => this.redis.hGet(keys.nodes(), id), null, this.skipped.handler));
      // No entry yet: the instance's next heartbeat (1 s) brings another 'set'.
      if (node && node.serviceName === svc) this.add(svc, node);
    } catch (err) {
      this.logger.debug({ err: errorMessage(err), svc, id }, 'could not read nodes entry');
    }
  }

  private add(svc: string, node: Instance): void {
    let members = this.services.get(svc);
    if (!members) this.services.set(svc, (members = new Map()));
    if (members.has(node.instanceID)) return;
    members.set(node.instanceID, node);
    this.addedAt.set(node.instanceID, Date.now());
    this.emit('up', node);
  }

  private remove(svc: string, id: string, reason: DownReason): void {
    const node = this.services.get(svc)?.get(id);
    if (!node) return;
    this.services.get(svc)!.delete(id);
    this.addedAt.delete(id);
    this.emit('down', node, reason);
  }
}
