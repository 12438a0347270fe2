/**
 * Config documents stored in Redis (`hydra:service:<svc>:configs`, field = version),
 * the hydra-cli `cfg` commands' storage and what HYDRA_SERVICE=<svc>:<version> loads.
 */
import type { RedisClient } from './redis.js';
import { keys, assertServiceName } from './keys.js';
import { HydraError } from './errors.js';
import { parseConfigLabel } from './config.js';
import { onKeyOfType } from './wrong-type.js';
import { MAX_JSON_FILE_BYTES } from './json-file.js';

/** The configs hash of a service, with a key of another type named in the error. */
const onConfigs = <T>(redis: RedisClient, serviceName: string, op: (key: string) => Promise<T>): Promise<T> => {
  const key = keys.configs(serviceName);
  return onKeyOfType(redis, key, 'hash', () => op(key));
};

/** Refuses anything that is not `{"hydra": {"serviceName": ...}, ...}`, naming what is missing. */
export function assertConfigDocument(doc: unknown, origin = 'config'): asserts doc is {
  /** The document's `hydra` section. */
  hydra: {
    /** Its service name. */
    serviceName: string;
  };
} {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new HydraError('INVALID_CONFIG', `${origin} must be a JSON object`);
  const hydra = (doc as Record<string, unknown>).hydra;
  if (typeof hydra !== 'object' || hydra === null || Array.isArray(hydra)) throw new HydraError('INVALID_CONFIG', `${origin} is missing the "hydra" object`);
  const name = (hydra as Record<string, unknown>).serviceName;
  if (name === undefined || name === '') throw new HydraError('INVALID_CONFIG', `${origin} is missing hydra.serviceName`);
  assertServiceName(typeof name === 'string' ? name.toLowerCase() : name, `${origin} hydra.serviceName`);
}

/** Stores `doc` as `<svc>:<version>` (hydra-cli's `cfg push`); refuses a document without hydra.serviceName or over MAX_JSON_FILE_BYTES. */
export async function putStoredConfig(redis: RedisClient, label: string, doc: unknown): Promise<void> {
  const { serviceName, version } = parseConfigLabel(label);
  assertConfigDocument(doc);
  const text = JSON.stringify(doc);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_JSON_FILE_BYTES) throw new HydraError('INVALID_CONFIG', `config ${label} is ${bytes} bytes as JSON, more than the ${MAX_JSON_FILE_BYTES} bytes (MAX_JSON_FILE_BYTES) a stored config may have`);
  await onConfigs(redis, serviceName, (key) => redis.hSet(key, version, text));
}

/** The stored document, or null when there is none. */
export async function getStoredConfig(redis: RedisClient, label: string): Promise<unknown> {
  const { serviceName, version } = parseConfigLabel(label);
  // Measured before it is fetched: one stored before the limit existed is not loaded.
  // (node-redis 6 types HSTRLEN's integer reply as an array; it is a number.)
  const bytes = Number(await onConfigs(redis, serviceName, (key) => redis.hStrLen(key, version)));
  if (bytes > MAX_JSON_FILE_BYTES) {
    throw new HydraError('INVALID_CONFIG', `stored config ${label} is ${bytes} bytes, more than the ${MAX_JSON_FILE_BYTES} bytes (MAX_JSON_FILE_BYTES) a config may have; remove it (hydra-cli cfg remove ${label}) and push a smaller one`);
  }
  const raw = await onConfigs(redis, serviceName, (key) => redis.hGet(key, version));
  if (raw === null || raw === undefined) return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new HydraError('INVALID_JSON', `stored config ${label} is not valid JSON`);
  }
}

/** Labels `<svc>:<version>` of the stored configs, sorted. */
export async function listStoredConfigs(redis: RedisClient, serviceName: string): Promise<string[]> {
  assertServiceName(serviceName);
  return (await onConfigs(redis, serviceName, (key) => redis.hKeys(key))).sort().map((v) => `${serviceName}:${v}`);
}

/** Returns true when a config was removed. */
export async function removeStoredConfig(redis: RedisClient, label: string): Promise<boolean> {
  const { serviceName, version } = parseConfigLabel(label);
  return (await onConfigs(redis, serviceName, (key) => redis.hDel(key, version))) === 1;
}
