/**
 * Keys of the wrong Redis type. Anyone with access to the Redis can write a string
 * where a set or hash belongs (`SET hydra:service:x:service:routes x`); a reader
 * that meets one skips that key and says which it was, so one bad key never hides
 * the rest of the registry.
 */
import { MultiErrorReply } from 'redis';
import type { RedisClient } from './redis.js';
import type { Logger } from './logger.js';

type KeyType = 'set' | 'hash' | 'list' | 'string';

/** Told about each key a reader skipped, and why ("is a string, not a set"). */
export type SkippedKeyHandler = (key: string, problem: string) => void;

/** A WRONGTYPE reply, alone or among the replies of a MULTI. */
export function isWrongType(err: unknown): boolean {
  if (err instanceof MultiErrorReply) return [...err.errors()].some(isWrongType);
  return err instanceof Error && err.message.startsWith('WRONGTYPE');
}

/** Tells `onSkip` that `key` holds another type than `expected`, naming the type it holds. */
export async function reportWrongType(redis: RedisClient, key: string, expected: KeyType, onSkip: SkippedKeyHandler | undefined): Promise<void> {
  const actual = await redis.type(key).catch(() => 'key of another type');
  onSkip?.(key, `is a ${actual}, not a ${expected}`);
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

/** More distinct keys than this and the memory of what was said starts over (a bound, not a feature). */
const MAX_REMEMBERED = 1000;

/**
 * For readers that run again and again (route reloads, discovery resyncs, heartbeats):
 * one warning per bad key, not one per read.
 */
export class SkippedKeyWarnings {
  private readonly warned = new Set<string>();

  constructor(private readonly logger: Logger) {}

  readonly handler: SkippedKeyHandler = (key, problem) => {
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_REMEMBERED) this.warned.clear();
    this.warned.add(key);
    this.logger.warn({ key, problem }, `skipped Redis key ${key}: it ${problem}`);
  };
}
