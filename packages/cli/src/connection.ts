/**
 * Which Redis a command talks to, and opening it. The first of these wins:
 * `--redis <url>`, HYDRA_REDIS_URL (or HYDRA_REDIS_URL_FILE), `--profile <name>`, the active profile of
 * the profile file. A Redis that does not answer within 5 s is reported with
 * its URL, where that URL came from, and how to pick another.
 */
import { connectRedis, closeRedis, defaultLogger, describeRedis, errorMessage, isHydraError, redisUrlFromEnv, Hydra, type RedisClient, type Logger } from '@hydra-ts/core';
import { CliError, EXIT } from './errors.js';
import { ProfileStore, profileUrl } from './profiles.js';

export const REDIS_TIMEOUT_MS = 5000;

export interface Target {
  url: string;
  /** Where the URL came from, for messages: `--redis`, `HYDRA_REDIS_URL`, `profile "local"`. */
  source: string;
}

export interface TargetOptions {
  redis?: string;
  profile?: string;
}

function checkUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`${source} "${url}" is not a URL (e.g. redis://127.0.0.1:6379/15)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new CliError(`${source} must start with redis:// or rediss://, not ${parsed.protocol}//`);
  return url;
}

/** HYDRA_REDIS_URL, or the secret file HYDRA_REDIS_URL_FILE names, read by core's rule. */
function envUrl(env: NodeJS.ProcessEnv): Target | undefined {
  const source = env.HYDRA_REDIS_URL_FILE ? `HYDRA_REDIS_URL_FILE ${env.HYDRA_REDIS_URL_FILE}` : 'HYDRA_REDIS_URL';
  let url: string | undefined;
  try {
    url = redisUrlFromEnv(env);
  } catch (err) {
    throw new CliError(errorMessage(err));
  }
  return url ? { url: checkUrl(url, source), source } : undefined;
}

export function resolveTarget(options: TargetOptions, env: NodeJS.ProcessEnv, store: ProfileStore): Target {
  if (options.redis) return { url: checkUrl(options.redis, '--redis'), source: '--redis' };
  const fromEnv = envUrl(env);
  if (fromEnv) return fromEnv;
  if (options.profile) return { url: profileUrl(store.get(options.profile), `profile "${options.profile}" in ${store.path}`), source: `profile "${options.profile}"` };
  const { name, profile } = store.active();
  if (!profile) {
    throw new CliError(`hydra-cli is not configured: create a profile with "hydra-cli config <name>", or pass --redis <url> or set HYDRA_REDIS_URL`);
  }
  return { url: profileUrl(profile, `the active profile in ${store.path}`), source: name ? `profile "${name}"` : `the active profile in ${store.path}` };
}

/** A logger that stays quiet: the CLI reports failures itself, and stdout is for results. */
export function silentLogger(): Logger {
  const logger = defaultLogger('hydra-cli');
  logger.level = 'silent';
  return logger;
}

/** True when the cause is a reply from Redis (a wrong database or password), not silence or a network error. */
function answered(cause: string): boolean {
  return cause !== '' && !/\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|timeout|timed out)\b/i.test(cause);
}

function unreachable(target: Target, err: unknown): never {
  // core's message repeats the URL; keep only the cause after it.
  const cause = (err instanceof Error ? err.message : String(err)).replace(/^cannot (?:reach|connect to) Redis at \S+(?: within \d+ ms)?:?\s*/, '');
  throw new CliError(
    `Redis at ${describeRedis({ url: target.url })} (${target.source}) ${answered(cause) ? 'did not accept the connection' : 'is not answering'} within ${REDIS_TIMEOUT_MS / 1000} s${cause ? ` (${cause})` : ''}; ` +
      'switch with "hydra-cli use <name>" (see "hydra-cli config list") or pass --redis <url>',
    EXIT.REDIS_UNAVAILABLE,
  );
}

export async function openRedis(target: Target): Promise<RedisClient> {
  try {
    return await connectRedis({ url: target.url }, silentLogger(), 'hydra-cli', undefined, REDIS_TIMEOUT_MS);
  } catch (err) {
    if (isHydraError(err, 'REDIS_UNAVAILABLE')) unreachable(target, err);
    throw err;
  }
}

/** Runs `fn` with a connection and always closes it. */
export async function withRedis<T>(target: Target, fn: (redis: RedisClient) => Promise<T>): Promise<T> {
  const redis = await openRedis(target);
  try {
    return await fn(redis);
  } finally {
    await closeRedis(redis);
  }
}

/**
 * A Hydra client (discovery, messaging, HTTP calls) that registers nothing:
 * what `message send` and `rest` need to find live instances.
 */
export async function withHydra<T>(target: Target, fn: (hydra: Hydra) => Promise<T>): Promise<T> {
  let hydra: Hydra;
  try {
    hydra = await Hydra.create({ hydra: { serviceName: 'hydra-cli', serviceType: 'cli', serviceDescription: 'hydra-cli', redis: { url: target.url } } }, { logger: silentLogger(), env: {} });
  } catch (err) {
    if (isHydraError(err, 'REDIS_UNAVAILABLE')) unreachable(target, err);
    throw err;
  }
  try {
    return await fn(hydra);
  } finally {
    await hydra.close();
  }
}
