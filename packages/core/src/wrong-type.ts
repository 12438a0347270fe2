/**
 * Keys of the wrong Redis type. Anyone with access to the Redis can write a string
 * where a set or hash belongs (`SET hydra:service:x:service:routes x`); a reader
 * that meets one skips that key and says which it was, so one bad key never hides
 * the rest of the registry.
 */
import { MultiErrorReply } from 'redis';
import type { RedisClient } from './redis.js';
import type { Logger } from './logger.js';
import { HydraError } from './errors.js';

/** The Redis types registry keys hold. */
export type KeyType = 'set' | 'hash' | 'list' | 'string' | 'zset';

/** Told about each key a reader skipped, and why ("is a string, not a set"). */
export type SkippedKeyHandler = (key: string, problem: string) => void;

/** A WRONGTYPE reply, alone or among the replies of a MULTI. */
export function isWrongType(err: unknown): boolean {
  if (err instanceof MultiErrorReply) return [...err.errors()].some(isWrongType);
  return err instanceof Error && err.message.startsWith('WRONGTYPE');
}

/** Tells `onSkip` that `key` holds another type than `expected`, naming the type it holds. */
export async function reportWrongType(redis: RedisClient, key: string, expected: KeyType, onSkip: SkippedKeyHandler | undefined): Promise<void> {
  onSkip?.(key, `is a ${await heldType(redis, key)}, not a ${expected}`);
}

/** The type `key` holds, for messages ("string"). */
function heldType(redis: RedisClient, key: string): Promise<string> {
  return redis.type(key).catch(() => 'key of another type');
}

/**
 * Runs `read` on `key`; when Redis answers WRONGTYPE, reports the key (with the
 * type it holds) to `onSkip` and returns `fallback`. Other errors propagate.
 */
export async function readOrSkip<T>(
  redis: RedisClient,
  key: string,
  expected: KeyType,
  read: () => Promise<T>,
  fallback: T,
  onSkip: SkippedKeyHandler | undefined,
): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!isWrongType(err)) throw err;
    await reportWrongType(redis, key, expected, onSkip);
    return fallback;
  }
}

/**
 * Runs `op` on `key` where skipping is no answer (a write, or a read of the one key asked
 * for): a WRONGTYPE becomes a WRONG_TYPE error naming the key and the type it holds.
 */
export async function onKeyOfType<T>(redis: RedisClient, key: string, expected: KeyType, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (!isWrongType(err)) throw err;
    throw new HydraError('WRONG_TYPE', `Redis key ${key} is a ${await heldType(redis, key)}, not a ${expected}: it was not written by hydra-ts or Hydra; delete or repair it`, { cause: err });
  }
}

/** More distinct keys than this and the memory of what was said starts over (a bound, not a feature). */
const MAX_REMEMBERED = 1000;

/**
 * For readers that run again and again (route reloads, discovery resyncs, heartbeats):
 * one warning per bad key, not one per read.
 */
export class SkippedKeyWarnings {
  private readonly warned = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** The handler to pass to readers; bound, so it can be passed as it is. */
  readonly handler: SkippedKeyHandler = (key, problem) => {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_REMEMBERED) this.warned.clear();
    this.warned.add(key);
    this.logger.warn({ key, problem }, `skipped Redis key ${key}: it ${problem}`);
  };
}
