/**
 * The `hydra.redis` forms Hydra accepted, turned into the one core takes (`{url}`
 * or `{sentinel}`): `{url}`; `{url, db}` (db wins over the URL's); hydra-express's
 * documented `{url: '127.0.0.1', port, db}` (a bare host in `url`); `{host, port, db}`;
 * `password`/`username` beside any of them (or inside `options`); `tls` (rediss). node_redis 2 tuning
 * options Hydra passed through (retry_strategy, connect_timeout, ...) have no
 * meaning for core's client and are reported as ignored; `prefix` would change
 * every key name, so it is refused.
 */
import { HydraError, type RedisConfig } from '@hydra-ts/core';

/** Fields this module reads; any other is reported as ignored. */
const KNOWN = new Set(['url', 'host', 'port', 'db', 'password', 'username', 'tls', 'sentinel']);
/** Fields that cannot be honoured without breaking wire compatibility. */
const REFUSED: Record<string, string> = {
  prefix: 'a key prefix would rename every Hydra key, so no other service could find this one',
  path: 'unix socket paths are not supported: give host and port (or a redis:// URL)',
};

function invalid(message: string): HydraError {
  return new HydraError('INVALID_CONFIG', message);
}

function integerField(value: unknown, field: string, min: number, max: number): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalid(`config field hydra.redis.${field} must be an integer ${min}-${max}, not ${JSON.stringify(value)}`);
  }
  return n;
}

/** The result: core's form, and the names of the fields that were ignored. */
export interface NormalisedRedis {
  redis: RedisConfig;
  ignored: string[];
}

/** Converts a Hydra `hydra.redis` value to core's form; throws INVALID_CONFIG naming the bad field. */
export function normaliseRedisConfig(value: unknown): NormalisedRedis {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('config field hydra.redis must be an object such as {"url": "redis://127.0.0.1:6379/15"}');
  const given = value as Record<string, unknown>;
  const options = given.options;
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) throw invalid('config field hydra.redis.options must be an object of client options');
  // Client options may sit in `options` beside the URL; fields given directly win.
  const r: Record<string, unknown> = { ...(options as Record<string, unknown> | undefined), ...given };
  delete r.options;
  for (const [field, why] of Object.entries(REFUSED)) if (r[field] !== undefined) throw invalid(`config field hydra.redis.${field} is not supported: ${why}`);
  const ignored = Object.keys(r).filter((k) => !KNOWN.has(k));
  if (r.sentinel !== undefined) return { redis: { sentinel: r.sentinel as RedisConfig['sentinel'] }, ignored };

  let base: URL;
  if (r.url !== undefined && typeof r.url !== 'string') throw invalid('config field hydra.redis.url must be a string');
  const url = (r.url as string | undefined)?.trim();
  if (url && /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      base = new URL(url);
    } catch {
      throw invalid(`config field hydra.redis.url "${url}" is not a URL`);
    }
    if (base.protocol !== 'redis:' && base.protocol !== 'rediss:') throw invalid(`config field hydra.redis.url must start with redis:// or rediss://, not ${base.protocol}//`);
  } else {
    // hydra-express's documented form: url holds a bare host name (or nothing, with host beside it).
    base = new URL('redis://127.0.0.1:6379');
    if (url) setHost(base, url, 'url');
  }
  if (r.host !== undefined) {
    if (typeof r.host !== 'string' || r.host === '') throw invalid('config field hydra.redis.host must be a host name or address');
    setHost(base, r.host, 'host');
  }
  if (r.port !== undefined && r.port !== null && r.port !== '') base.port = String(integerField(r.port, 'port', 1, 65535));
  if (r.db !== undefined && r.db !== null && r.db !== '') base.pathname = `/${integerField(r.db, 'db', 0, 65535)}`;
  for (const field of ['password', 'username'] as const) {
    if (r[field] === undefined || r[field] === null || r[field] === '') continue;
    if (typeof r[field] !== 'string') throw invalid(`config field hydra.redis.${field} must be a string`);
    base[field] = encodeURIComponent(r[field]);
  }
  if (r.tls) base.protocol = 'rediss:';
  return { redis: { url: base.toString() }, ignored };
}

/** Puts `host` (a name, an IPv4 or IPv6 address, or `host:port`) into `url`; throws naming `field` when it is none of those. */
function setHost(url: URL, host: string, field: string): void {
  const hostPort = /^([^:[\]]+):(\d+)$/.exec(host);
  const name = hostPort ? hostPort[1]! : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  let parsed: URL;
  try {
    parsed = new URL(`redis://${name}`);
  } catch {
    throw invalid(`config field hydra.redis.${field} "${host}" is not a host name or address`);
  }
  if (parsed.pathname !== '' && parsed.pathname !== '/') throw invalid(`config field hydra.redis.${field} "${host}" is not a host name or address`);
  url.hostname = parsed.hostname;
  if (hostPort) url.port = hostPort[2]!;
}
