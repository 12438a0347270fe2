/**
 * Every Redis key and pub/sub channel name of the Hydra wire protocol is built
 * here and nowhere else (see docs/wire.md). Names are validated before they
 * reach a key so that a `*` or `:` in a service name can never widen a pattern
 * or collide with another service's keys.
 */
import { HydraError } from './errors.js';

/** The prefix of every registry key. */
export const KEY_PREFIX = 'hydra:service';
/** The prefix of every message channel. */
export const CHANNEL_PREFIX = `${KEY_PREFIX}:mc`;
/** The hash of every instance's nodes entry. */
export const NODES_KEY = `${KEY_PREFIX}:nodes`;
/**
 * hydra-ts's own registry index, beside Hydra's keys (which stay as Hydra wrote them):
 * it lets discovery follow joins and leaves without watching every heartbeat.
 */
export const REGISTRY_PREFIX = 'hydra-ts:registry';

const SERVICE_NAME = /^[a-z0-9][a-z0-9._-]*$/;
const INSTANCE_ID = /^[0-9a-f]{32}$/;

/** Throws a coded error naming the problem when `name` cannot be a service name. */
export function assertServiceName(name: unknown, field = 'serviceName'): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new HydraError('INVALID_SERVICE_NAME', `${field} must be a non-empty string`);
  }
  if (!SERVICE_NAME.test(name)) {
    throw new HydraError(
      'INVALID_SERVICE_NAME',
      `${field} "${name}" is not a valid service name: use lower-case letters, digits, '.', '_' and '-' (no ':', '*', spaces or capitals)`,
    );
  }
}

/** Whether `name` follows the service name rule (no throw). */
export function isServiceName(name: unknown): name is string {
  return typeof name === 'string' && SERVICE_NAME.test(name);
}

/** Instance ids (and the router's WebSocket client ids, which share the form) are 32 lower-case hex characters. */
export function isInstanceId(id: unknown): id is string {
  return typeof id === 'string' && INSTANCE_ID.test(id);
}

/** Builders of every registry key name. */
export const keys = {
  /** `hydra:service:<svc>:service`: string, `{serviceName, type, registeredOn}`. */
  service: (svc: string) => `${KEY_PREFIX}:${svc}:service`,
  /** `hydra:service:<svc>:service:routes`: set of route strings. */
  routes: (svc: string) => `${KEY_PREFIX}:${svc}:service:routes`,
  /** `hydra:service:<svc>:configs`: hash, version → config document. */
  configs: (svc: string) => `${KEY_PREFIX}:${svc}:configs`,
  /** `hydra:service:<svc>:<id>:presence`: string with a 3 s TTL; the instance is alive while it exists. */
  presence: (svc: string, id: string) => `${KEY_PREFIX}:${svc}:${id}:presence`,
  /** `hydra:service:<svc>:<id>:health`: the health document, same TTL as presence. */
  health: (svc: string, id: string) => `${KEY_PREFIX}:${svc}:${id}:health`,
  /** `hydra:service:<svc>:<id>:health:log`: list of the last 64 log entries. */
  healthLog: (svc: string, id: string) => `${KEY_PREFIX}:${svc}:${id}:health:log`,
  /** `hydra:service:<svc>:mqrecieved`: waiting queued messages (Hydra's spelling). */
  queueReceived: (svc: string) => `${KEY_PREFIX}:${svc}:mqrecieved`,
  /** `hydra:service:<svc>:mqinprogress`: queued messages taken and not yet settled. */
  queueInProgress: (svc: string) => `${KEY_PREFIX}:${svc}:mqinprogress`,
  /** `hydra:service:<svc>:mqincomplete`: queued messages marked failed. */
  queueIncomplete: (svc: string) => `${KEY_PREFIX}:${svc}:mqincomplete`,
  /** hydra-ts extension: when each in-progress message was taken (for redelivery). */
  queueTakenAt: (svc: string) => `${KEY_PREFIX}:${svc}:mqinprogress:takenat`,
  /** `hydra:service:nodes`: hash, instance id → nodes entry. */
  nodes: () => NODES_KEY,
  /**
   * hydra-router's queue of messages for a WebSocket client that is away (hydra-router
   * keeps the same kind of list under this name). Client ids are validated by the router.
   */
  routerClientQueue: (clientId: string) => `hydra-router:message:queue:${clientId}`,
  /**
   * hydra-ts extension: the HMAC key routers share to issue and check the secrets that
   * let a WebSocket client resume its identity (any router, no state per client).
   */
  routerClientSecretKey: () => 'hydra-router:client-secret-key',
  /**
   * hydra-ts registry index: a sorted set of every known instance (member `svc:id`) scored
   * by when its presence is due to expire (ms, Redis clock; 0 = look soon). The sweeper
   * checks only the members that are due, so finding the dead costs O(deaths), not O(N).
   */
  deadlines: () => `${REGISTRY_PREFIX}:deadlines`,
  /** hydra-ts registry index: the ids of a service's known instances (a set). */
  instancesOf: (svc: string) => `${REGISTRY_PREFIX}:${svc}:instances`,
  /** Held for a moment by whoever sweeps, so one process in the cluster sweeps at a time. */
  sweepLock: () => `${REGISTRY_PREFIX}:sweep`,
  /** Held by whoever scans for Hydra peers (who never announce themselves). */
  scanLock: () => `${REGISTRY_PREFIX}:scan`,
  /** What the last scan for Hydra peers saw: `<nodes hash length>:<ms>`. */
  scanState: () => `${REGISTRY_PREFIX}:scan:state`,
  /** Held for a minute by whoever prunes long-dead nodes entries. */
  pruneLock: () => `${REGISTRY_PREFIX}:prune`,
};

/** The index member naming one instance: `svc:id` (service names hold no ':'). */
export function deadlineMember(svc: string, id: string): string {
  return `${svc}:${id}`;
}

/** SCAN patterns. Service names are validated, so they hold no glob characters. */
export const patterns = {
  /** Every service key. */
  allServices: `${KEY_PREFIX}:*:service`,
  /** Every routes set. */
  allRoutes: `${KEY_PREFIX}:*:service:routes`,
  /** Presence keys of one service. */
  presenceOf: (svc: string) => `${KEY_PREFIX}:${svc}:*:presence`,
  /** Every presence key. */
  allPresence: `${KEY_PREFIX}:*:*:presence`,
  /** Health keys of one service. */
  healthOf: (svc: string) => `${KEY_PREFIX}:${svc}:*:health`,
  /** Health log keys of one service. */
  healthLogOf: (svc: string) => `${KEY_PREFIX}:${svc}:*:health:log`,
};

/** Builders of the message channel names. */
export const channels = {
  /** `hydra:service:mc:<svc>`: every instance of the service listens. */
  service: (svc: string) => `${CHANNEL_PREFIX}:${svc}`,
  /** `hydra:service:mc:<svc>:<id>`: one instance listens. */
  instance: (svc: string, id: string) => `${CHANNEL_PREFIX}:${svc}:${id}`,
  /** hydra-ts registry: every join and leave (watched by routers and other whole-cluster views). */
  changes: () => `${REGISTRY_PREFIX}:changes`,
  /** hydra-ts registry: joins and leaves of one service (watched by those who call it). */
  changesOf: (svc: string) => `${REGISTRY_PREFIX}:changes:${svc}`,
};

/**
 * Reads `hydra:service:<svc>:<id>:<suffix>` back into its parts. Returns null for
 * anything else, so a key of another shape (or another service) is never misread.
 */
export function parseInstanceKey(
  key: string,
  suffix: 'presence' | 'health' | 'health:log',
): {
  /** The service named in the key. */
  service: string;
  /** The instance id in the key. */
  instanceId: string;
} | null {
  const head = `${KEY_PREFIX}:`;
  const tail = `:${suffix}`;
  if (!key.startsWith(head) || !key.endsWith(tail)) return null;
  const parts = key.slice(head.length, key.length - tail.length).split(':');
  if (parts.length !== 2) return null;
  const [service, instanceId] = parts as [string, string];
  if (!SERVICE_NAME.test(service) || !INSTANCE_ID.test(instanceId)) return null;
  return { service, instanceId };
}

/** The service name in `hydra:service:<svc>:service` or `...:service:routes`, or null. */
export function parseServiceKey(key: string, suffix: 'service' | 'service:routes' | 'configs'): string | null {
  const head = `${KEY_PREFIX}:`;
  const tail = `:${suffix}`;
  if (!key.startsWith(head) || !key.endsWith(tail)) return null;
  const svc = key.slice(head.length, key.length - tail.length);
  return SERVICE_NAME.test(svc) ? svc : null;
}
