/**
 * One-shot reads of the registry, for tools such as the CLI and for the live view's
 * loads. They follow the wire layout (an instance is alive while its presence key
 * exists; its address is its `hydra:service:nodes` entry) with exact matching of
 * service names.
 */
import type { RedisClient } from './redis.js';
import { keys, patterns, parseInstanceKey, parseServiceKey, assertServiceName } from './keys.js';
import { RESP_TYPES } from 'redis';
import type { NodeEntry } from './registry.js';
import { readOrSkip, type SkippedKeyHandler } from './wrong-type.js';

const SCAN_COUNT = 1000;

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

/** A present instance: its nodes entry, with the port as a number. */
export interface Instance extends NodeEntry {
  /** The port to call it on. */
  port: number;
}

/** Every key matching `match` (SCAN, in batches: never KEYS). */
export async function scanKeys(redis: RedisClient, match: string): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: match, COUNT: SCAN_COUNT })) found.push(...batch);
  return found;
}

/** A nodes entry as an Instance, or undefined when it names no instance. */
export function toInstance(value: unknown): Instance | undefined {
  const entry = value as NodeEntry | null | undefined;
  const port = Number(entry?.port);
  // Anyone with access to Redis writes entries: one that names no service is no instance.
  if (typeof entry?.instanceID !== 'string' || typeof entry.serviceName !== 'string' || !Number.isFinite(port)) return undefined;
  return { ...entry, port };
}

/** A stored nodes entry (JSON text) as an Instance; undefined when unreadable. */
export function parseNode(raw: string | null | undefined): Instance | undefined {
  if (!raw) return undefined;
  try {
    return toInstance(JSON.parse(raw));
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
