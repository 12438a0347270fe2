/**
 * Service configuration: from an object, a JSON file, or the environment exactly
 * as Hydra reads it (HYDRA_REDIS_URL, HYDRA_SERVICE), plus hydra-ts's per-instance
 * address (HYDRA_SERVICE_IP, HYDRA_SERVICE_PORT) and HYDRA_REDIS_URL_FILE for a URL
 * kept in an orchestrator's secret. Validated once, at start, with errors that name
 * the field.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HydraError } from './errors.js';
import { assertServiceName } from './keys.js';
import { parseJsonText } from './json.js';
import { readJsonFile, readSmallFile } from './json-file.js';

/** Hydra's default Redis: database 15 on the local server. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/15';
/** What Hydra registers when neither the config nor a package.json gives a version. */
export const UNSPECIFIED_VERSION = 'unspecified';

/** Redis through Sentinel: the master is found by asking the sentinels. */
export interface SentinelConfig {
  /** The master group name the sentinels watch. */
  name: string;
  /** The sentinels to ask (at least one). */
  sentinels: Array<{
    /** Host name or address of a sentinel. */
    host: string;
    /** Its port (26379 usually). */
    port: number;
  }>;
  /** Database index on the master (Hydra's default is 15). */
  db?: number;
  /** Password of the master. */
  password?: string;
}

/** `hydra.redis`: where the registry lives (`url` or `sentinel`). */
export interface RedisConfig {
  /** redis:// or rediss:// URL; user, password and database ride in it. */
  url?: string;
  /** Sentinel instead of a URL. */
  sentinel?: SentinelConfig;
}

/** The `hydra` section of a config document, validated (see docs/configuration.md). */
export interface HydraConfig {
  /** The service's name: lower-case letters, digits, `.`, `_`, `-` (Hydra lower-cases what it is given). */
  serviceName: string;
  /** Free text, shown by tools (`nodes` entries). */
  serviceDescription: string;
  /** Free text stored as `type` in `hydra:service:<svc>:service`. */
  serviceType: string;
  /** The version registered; default: the version in the package.json beside the main script, else `unspecified`. */
  serviceVersion: string;
  /** '' = first non-loopback IPv4; '10.0.*' = the interface matching the prefix; a host name is resolved. */
  serviceIP: string;
  /** 0 = any free port; 'a-b' = the first free port in the range. */
  servicePort: number | string;
  /** Registered as the address instead of serviceIP (a name other instances resolve). */
  serviceDNS?: string;
  /** With serviceIP `''`: the interface to take the address of, as `<name>/<netmask>` (`eth0/255.255.255.0`). */
  serviceInterface?: string;
  /** Where the registry lives. */
  redis: RedisConfig;
  /** hydra-ts: HMAC secret; when set, outgoing UMF is signed and unsigned or badly signed messages are refused. */
  umfSecret?: string;
  [extra: string]: unknown;
}

/** A whole config document, `{"hydra": {...}, ...}` as stored in `hydra:service:<svc>:configs`. */
export interface ConfigDocument {
  /** The service's own settings. */
  hydra: HydraConfig;
  [section: string]: unknown;
}

/** What a service starts from: a JSON file path, a document, or undefined (the environment alone). */
export type ConfigSource =
  | string
  | {
      /** Any part of the `hydra` section; the rest comes from defaults and the environment. */
      hydra?: Partial<HydraConfig>;
      [section: string]: unknown;
    }
  | undefined;

/** Fetches a stored config document by `<svc>:<version>` (implemented with Redis by the caller). */
export type StoredConfigLoader = (redisUrl: string, serviceName: string, version: string) => Promise<unknown>;

function configError(message: string): HydraError {
  return new HydraError('INVALID_CONFIG', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The Redis URL the environment names, or undefined: HYDRA_REDIS_URL itself, or the
 * content of the file HYDRA_REDIS_URL_FILE names (an orchestrator's secret such as
 * /run/secrets/hydra_redis_url, so the password is never in the environment or the
 * image). Setting both is refused: which one wins would be a guess.
 */
export function redisUrlFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const file = env.HYDRA_REDIS_URL_FILE;
  if (!file) return env.HYDRA_REDIS_URL || undefined;
  if (env.HYDRA_REDIS_URL) throw configError('HYDRA_REDIS_URL and HYDRA_REDIS_URL_FILE are both set: keep one');
  let text: string;
  try {
    text = readSmallFile(file);
  } catch (err) {
    // The message names the file and the problem (no such file, a FIFO, too large).
    throw configError(`cannot read HYDRA_REDIS_URL_FILE ${(err as Error).message}`);
  }
  const url = text.trim();
  if (!url) throw configError(`HYDRA_REDIS_URL_FILE ${file} is empty: it should hold a redis:// URL`);
  return url;
}

/** `<svc>:<version>` → parts, or a coded error naming the label. */
export function parseConfigLabel(label: string): {
  /** The part before `:`. */
  serviceName: string;
  /** The part after `:`. */
  version: string;
} {
  const parts = label.split(':');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw configError(`config label "${label}" is not in the form <service>:<version>, e.g. hello-service:0.0.1`);
  }
  assertServiceName(parts[0], 'config label service');
  return { serviceName: parts[0], version: parts[1] };
}

/** The three forms HYDRA_SERVICE takes. */
type ServiceEnv = { kind: 'partial'; values: Record<string, unknown> } | { kind: 'stored'; label: string };

function parseServiceEnv(raw: string): ServiceEnv {
  const text = raw.trim();
  if (text.startsWith('{')) {
    const values = parseJsonText(text, 'HYDRA_SERVICE');
    if (!isObject(values)) throw configError('HYDRA_SERVICE JSON must be an object');
    return { kind: 'partial', values: noPrototypeKey(values) };
  }
  if (text.includes('=')) {
    const values: Record<string, unknown> = Object.create(null);
    for (const segment of text.replace(/\r?\n|\r/g, '').split('|')) {
      const eq = segment.indexOf('=');
      if (eq <= 0) throw configError(`HYDRA_SERVICE segment "${segment.trim()}" is not key=value`);
      values[segment.slice(0, eq).trim()] = segment.slice(eq + 1).trim();
    }
    return { kind: 'partial', values: noPrototypeKey(values) };
  }
  return { kind: 'stored', label: text };
}

/** Unknown fields travel along (as in Hydra), but `__proto__` would vanish when merged: refuse it by name. */
function noPrototypeKey(values: Record<string, unknown>): Record<string, unknown> {
  if (Object.hasOwn(values, '__proto__')) throw configError('HYDRA_SERVICE names the field "__proto__", which no config has');
  return values;
}

/** How {@link loadConfig} reads: the environment, the loader of stored configs, and Hydra's name rule. */
export interface LoadConfigOptions {
  /** Environment to read HYDRA_REDIS_URL / HYDRA_SERVICE from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Reads a stored config for HYDRA_SERVICE=<svc>:<version>; without it such a label is refused. */
  loadStored?: StoredConfigLoader;
  /** See {@link ValidateOptions.lowerCaseServiceName}. */
  lowerCaseServiceName?: boolean;
}

/** What {@link validateHydraConfig} may normalise instead of refusing. */
export interface ValidateOptions {
  /**
   * Hydra lower-cases hydra.serviceName silently ("Inventory" registers as "inventory").
   * hydra-ts refuses a name with capitals, naming the field, unless this is true (what the
   * Hydra compatibility packages pass, so an existing app keeps registering as it did).
   */
  lowerCaseServiceName?: boolean;
}

/**
 * Resolves the config document a service starts with: the given object or file,
 * Hydra's defaults, then the environment on top. With HYDRA_SERVICE=<svc>:<version>
 * the whole document comes from Redis (HYDRA_REDIS_URL or HYDRA_REDIS_URL_FILE says which).
 */
export async function loadConfig(source: ConfigSource, options: LoadConfigOptions = {}): Promise<ConfigDocument> {
  const env = options.env ?? process.env;
  let doc: Record<string, unknown> = {};
  if (typeof source === 'string') {
    const fromFile = readJsonFile(source);
    if (!isObject(fromFile)) throw configError(`config file ${source} must hold a JSON object`);
    doc = fromFile;
  } else if (source) {
    doc = structuredClone(source) as Record<string, unknown>;
  }

  const envRedisUrl = redisUrlFromEnv(env);
  const serviceEnv = env.HYDRA_SERVICE ? parseServiceEnv(env.HYDRA_SERVICE) : undefined;
  if (serviceEnv?.kind === 'stored') {
    if (!envRedisUrl) throw configError(`HYDRA_SERVICE=${serviceEnv.label} loads the config from Redis and needs HYDRA_REDIS_URL (or HYDRA_REDIS_URL_FILE)`);
    if (!options.loadStored) throw configError('loading a stored config needs a Redis loader');
    const { serviceName, version } = parseConfigLabel(serviceEnv.label);
    const stored = await options.loadStored(envRedisUrl, serviceName, version);
    if (stored === null || stored === undefined) {
      throw configError(`no stored config ${serviceName}:${version} in ${redactUrl(envRedisUrl)} (push one with: hydra-cli cfg push ${serviceName}:${version} config.json)`);
    }
    if (!isObject(stored)) throw configError(`stored config ${serviceEnv.label} is not a JSON object`);
    doc = stored;
  }

  if (doc.hydra !== undefined && !isObject(doc.hydra)) throw configError('config field "hydra" must be an object');
  const hydra: Record<string, unknown> = {
    serviceIP: '',
    servicePort: 0,
    serviceType: '',
    serviceDescription: '',
    redis: { url: DEFAULT_REDIS_URL },
    ...((doc.hydra as Record<string, unknown>) ?? {}),
  };
  if (envRedisUrl) hydra.redis = { url: envRedisUrl };
  if (serviceEnv?.kind === 'partial') Object.assign(hydra, serviceEnv.values);
  Object.assign(hydra, instanceAddress(env));
  return { ...doc, hydra: validateHydraConfig(hydra, { lowerCaseServiceName: options.lowerCaseServiceName }) };
}

/**
 * hydra-ts: HYDRA_SERVICE_IP and HYDRA_SERVICE_PORT, applied last, over whatever
 * the document came from. A config stored in Redis is shared by every instance of
 * a version (`HYDRA_SERVICE=<svc>:<version>`); these give one instance its own
 * address, as a container's own IP does in a swarm (the local cluster runs each
 * simulated host on its own loopback address this way).
 */
function instanceAddress(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (env.HYDRA_SERVICE_IP !== undefined && env.HYDRA_SERVICE_IP !== '') out.serviceIP = env.HYDRA_SERVICE_IP;
  if (env.HYDRA_SERVICE_PORT !== undefined && env.HYDRA_SERVICE_PORT !== '') {
    try {
      out.servicePort = normalisePort(env.HYDRA_SERVICE_PORT);
    } catch {
      throw configError(`HYDRA_SERVICE_PORT must be a port number 0-65535 or a range like "9000-9100", not ${JSON.stringify(env.HYDRA_SERVICE_PORT)}`);
    }
  }
  return out;
}

/** Checks each field and normalises numeric port strings (and, when asked, the name's case) as Hydra does. */
export function validateHydraConfig(h: Record<string, unknown>, options: ValidateOptions = {}): HydraConfig {
  if (h.serviceName === undefined || h.serviceName === '') throw configError('config field hydra.serviceName is required');
  if (typeof h.serviceName !== 'string') throw configError('config field hydra.serviceName must be a string');
  const lower = h.serviceName.toLowerCase();
  if (lower !== h.serviceName && !options.lowerCaseServiceName) {
    throw new HydraError('INVALID_SERVICE_NAME', `config field hydra.serviceName "${h.serviceName}" has capitals: service names are lower case ("${lower}"); Hydra lower-cased them silently`);
  }
  const serviceName = lower;
  assertServiceName(serviceName, 'config field hydra.serviceName');

  for (const field of ['serviceDescription', 'serviceType', 'serviceIP', 'serviceDNS', 'serviceInterface', 'umfSecret'] as const) {
    if (h[field] !== undefined && typeof h[field] !== 'string') throw configError(`config field hydra.${field} must be a string`);
  }
  if (h.serviceVersion !== undefined && typeof h.serviceVersion !== 'string') throw configError('config field hydra.serviceVersion must be a string');

  const servicePort = normalisePort(h.servicePort);
  const redis = h.redis;
  if (!isObject(redis)) throw configError('config field hydra.redis must be an object with a "url"');
  if (redis.url !== undefined) {
    if (typeof redis.url !== 'string') throw configError('config field hydra.redis.url must be a string');
    let url: URL;
    try {
      url = new URL(redis.url);
    } catch {
      throw configError(`config field hydra.redis.url "${redis.url}" is not a URL`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw configError(`config field hydra.redis.url must start with redis:// or rediss://, not ${url.protocol}//`);
  }
  if (redis.sentinel !== undefined) validateSentinel(redis.sentinel);
  if (redis.url === undefined && redis.sentinel === undefined) throw configError('config field hydra.redis needs a "url" or a "sentinel" block');

  return {
    ...h,
    serviceName,
    serviceDescription: (h.serviceDescription as string | undefined) ?? '',
    serviceType: (h.serviceType as string | undefined) ?? '',
    serviceVersion: (h.serviceVersion as string | undefined) || defaultServiceVersion(),
    serviceIP: (h.serviceIP as string | undefined) ?? '',
    servicePort,
    redis: redis as RedisConfig,
  };
}

/**
 * Hydra's rule for a config without serviceVersion: the `version` of the package.json
 * beside the main script (`node hello-service.js` in its package), else "unspecified".
 */
export function defaultServiceVersion(mainScript: string | undefined = process.argv[1]): string {
  if (!mainScript) return UNSPECIFIED_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(mainScript), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : UNSPECIFIED_VERSION;
  } catch {
    return UNSPECIFIED_VERSION;
  }
}

function normalisePort(value: unknown): number | string {
  if (value === undefined || value === '' || value === null) return 0;
  if (typeof value === 'string' && /^\d+-\d+$/.test(value)) {
    const [lo, hi] = value.split('-').map(Number) as [number, number];
    if (lo < 1 || hi > 65535 || lo > hi) throw configError(`config field hydra.servicePort range "${value}" must be within 1-65535, low to high`);
    return value;
  }
  const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw configError(`config field hydra.servicePort must be a port number 0-65535 or a range like "9000-9100", not ${JSON.stringify(value)}`);
  }
  return port;
}

function validateSentinel(s: unknown): void {
  if (!isObject(s)) throw configError('config field hydra.redis.sentinel must be an object');
  if (typeof s.name !== 'string' || !s.name) throw configError('config field hydra.redis.sentinel.name is required');
  if (!Array.isArray(s.sentinels) || s.sentinels.length === 0) throw configError('config field hydra.redis.sentinel.sentinels must list at least one {host, port}');
  s.sentinels.forEach((node, i) => {
    if (!isObject(node) || typeof node.host !== 'string' || typeof node.port !== 'number') {
      throw configError(`config field hydra.redis.sentinel.sentinels[${i}] must be {host: string, port: number}`);
    }
  });
}

/** The URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable Redis URL)';
  }
}
