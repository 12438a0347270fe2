/**
 * Finding Hydra peers. A Hydra instance never announces itself: it only writes its
 * presence key and nodes entry. A scan finds presence keys the index does not hold
 * and adopts them (registry-scripts.ts), which announces them to every view. One
 * process in the cluster scans at a time, at most once a second, and only when the
 * nodes hash's length has changed since the last scan (every new instance, Hydra's
 * included, adds a field there) or 30 s have passed: a steady cluster costs one HLEN
 * a second, not a SCAN of the keyspace.
 */
import type { RedisClient } from './redis.js';
import { keys, patterns, parseInstanceKey } from './keys.js';
import { parseNode } from './registry-reads.js';
import { adopt, unindexedPresence } from './registry-scripts.js';
import { upText } from './membership.js';
import { readOrSkip, type SkippedKeyHandler } from './wrong-type.js';

/** Scans in the whole cluster are at least this far apart (the lag with which a Hydra peer is seen). */
export const SCAN_LOCK_MS = 1000;
/** A scan runs this often even when the nodes hash's length looks unchanged (a join and a prune in one second). */
const FULL_SCAN_EVERY_MS = 30_000;

/**
 * The bid for the cluster's scan turn: 'OK' when no one scanned in the last second, null
 * otherwise. A command of its own so a heartbeat can send it in its pipeline.
 */
export function claimScan(redis: RedisClient): Promise<string | null> {
  return redis.set(keys.scanLock(), '1', { NX: true, PX: SCAN_LOCK_MS });
}

/**
 * Scans for Hydra peers if no one else did in the last second and something may have
 * joined; returns how many were adopted.
 */
export async function scanForPeersIfDue(redis: RedisClient, onSkip?: SkippedKeyHandler): Promise<number> {
  if ((await claimScan(redis)) === null) return 0;
  return scanForPeersIfChanged(redis, onSkip);
}

/** With the scan turn won (claimScan): scans if the nodes hash's length changed or 30 s passed. */
export async function scanForPeersIfChanged(redis: RedisClient, onSkip?: SkippedKeyHandler): Promise<number> {
  const [length, state] = await Promise.all([
    readOrSkip(redis, keys.nodes(), 'hash', () => redis.hLen(keys.nodes()), -1, onSkip),
    redis.get(keys.scanState()),
  ]);
  const [lastLength, lastAt] = (state ?? '').split(':').map(Number);
  const now = Date.now();
  if (length === lastLength && now - (lastAt ?? 0) < FULL_SCAN_EVERY_MS) return 0;
  const adopted = await adoptUnindexed(redis, patterns.allPresence, onSkip);
  await redis.set(keys.scanState(), `${length}:${now}`);
  return adopted;
}

/** Adopts every present instance matching the presence pattern `match` that the index does not hold. */
export async function adoptUnindexed(redis: RedisClient, match: string, onSkip?: SkippedKeyHandler): Promise<number> {
  const found = await readOrSkip(redis, keys.deadlines(), 'zset', () => unindexedPresence(redis, match), null, onSkip);
  const missing = (found ?? []).map((k) => parseInstanceKey(k, 'presence')).filter((p) => p !== null);
  if (missing.length === 0) return 0;
  const entries = await readOrSkip(redis, keys.nodes(), 'hash', () => redis.hmGet(keys.nodes(), missing.map((p) => p.instanceId)), [], onSkip);
  let adopted = 0;
  for (const [i, p] of missing.entries()) {
    const node = parseNode(entries[i]);
    if (!node || node.serviceName !== p.service) continue;
    if ((await adopt(redis, p.service, p.instanceId, upText(node))) === 1) adopted++;
  }
  return adopted;
}
