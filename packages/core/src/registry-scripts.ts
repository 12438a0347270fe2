/**
 * The registry's Lua scripts: the steps that must not interleave with another
 * process's (a sweep deciding an instance is dead while it rejoins; two scanners
 * adopting the same Hydra peer). Redis runs each script atomically.
 */
import type { RedisClient } from './redis.js';
import { KEY_PREFIX, REGISTRY_PREFIX, keys, channels, deadlineMember } from './keys.js';
import { PRESENCE_TTL_S } from './registry-timing.js';
import { Script } from './lua-script.js';

/** How long one sweep holds the lock: sweeps run at most this often in the whole cluster. */
export const SWEEP_LOCK_MS = 250;
/** Due members checked per sweep (a bound on one script's run time; the rest wait 250 ms). */
const SWEEP_BATCH = 500;

/**
 * One sweep, if no one else swept in the last SWEEP_LOCK_MS: each index member whose
 * deadline has passed is checked against its presence key. Still present (its heartbeat
 * renewed it): the deadline moves to the key's new expiry. Gone: the instance leaves the
 * index and a `down` (reason expired) is announced, in the same text as membership.ts's
 * downText. Members that are not `svc:id` (someone else's writes) are dropped.
 * Returns -1 when another process holds the lock, else the number announced gone.
 */
export const SWEEP = new Script(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local gone = 0
for _, member in ipairs(due) do
  local svc, id = string.match(member, '^([a-z0-9][a-z0-9._-]*):(%x+)$')
  if not svc then
    redis.call('ZREM', KEYS[2], member)
  else
    local ttl = redis.call('PTTL', ARGV[3] .. ':' .. svc .. ':' .. id .. ':presence')
    if ttl > 0 then
      redis.call('ZADD', KEYS[2], now + ttl, member)
    elseif ttl == -1 then
      -- a presence key without a TTL (written by hand): look again a TTL later
      redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), member)
    else
      redis.call('ZREM', KEYS[2], member)
      redis.call('SREM', ARGV[5] .. ':' .. svc .. ':instances', id)
      local msg = '{"op":"down","service":"' .. svc .. '","id":"' .. id .. '","reason":"expired"}'
      redis.call('PUBLISH', ARGV[6], msg)
      redis.call('PUBLISH', ARGV[6] .. ':' .. svc, msg)
      gone = gone + 1
    end
  end
end
return gone`);

/** SWEEP's keys and arguments. */
export const SWEEP_KEYS = [keys.sweepLock(), keys.deadlines()];
export const SWEEP_ARGS = [String(SWEEP_LOCK_MS), String(SWEEP_BATCH), KEY_PREFIX, String(PRESENCE_TTL_S * 1000), REGISTRY_PREFIX, channels.changes()];

/** Sweeps unless someone else did in the last SWEEP_LOCK_MS; see SWEEP. */
export function sweep(redis: RedisClient): Promise<unknown> {
  return SWEEP.run(redis, SWEEP_KEYS, SWEEP_ARGS);
}

/**
 * Puts an instance found by a scan (a Hydra peer, which never announces itself) into the
 * index and announces it, unless its presence is gone or the index already has it.
 * Returns 1 when adopted.
 */
const ADOPT = new Script(`
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if redis.call('ZADD', KEYS[1], 'NX', 0, ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[3])
redis.call('PUBLISH', ARGV[5], ARGV[3])
return 1`);

/** Runs ADOPT for instance `id` of `svc`, announcing `upMessage`. */
export function adopt(redis: RedisClient, svc: string, id: string, upMessage: string): Promise<unknown> {
  return ADOPT.run(redis, [keys.deadlines(), keys.presence(svc, id), keys.instancesOf(svc)], [
    deadlineMember(svc, id), id, upMessage, channels.changes(), channels.changesOf(svc),
  ]);
}

/** Nodes entries one PRUNE_CANDIDATES call looks at (HSCAN's COUNT: a bound on one script's run time). */
const PRUNE_PAGE = 200;

/**
 * One page of the nodes hash (HSCAN from cursor ARGV[1]), answered as {next cursor, id,
 * entry, id, entry, ...} with only the entries whose presence key is gone (or whose
 * serviceName cannot be read): the prune's candidates. A live instance's entry never
 * leaves Redis, so a prune of a steady cluster reads a few bytes, not the whole hash.
 */
const PRUNE_CANDIDATES = new Script(`
local page = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', tonumber(ARGV[2]))
local out = { page[1] }
local fields = page[2]
for i = 1, #fields, 2 do
  local ok, entry = pcall(cjson.decode, fields[i + 1])
  local svc = ok and type(entry) == 'table' and entry.serviceName
  if type(svc) ~= 'string' or redis.call('EXISTS', ARGV[3] .. ':' .. svc .. ':' .. fields[i] .. ':presence') == 0 then
    out[#out + 1] = fields[i]
    out[#out + 1] = fields[i + 1]
  end
end
return out`);

/** One page of prune candidates from `cursor` ('0' to start): the next cursor ('0' at the end) and the entries. */
export async function pruneCandidates(redis: RedisClient, cursor: string): Promise<{ next: string; entries: Array<[id: string, raw: string]> }> {
  const page = (await PRUNE_CANDIDATES.run(redis, [keys.nodes()], [cursor, String(PRUNE_PAGE), KEY_PREFIX])) as string[];
  const entries: Array<[string, string]> = [];
  for (let i = 1; i + 1 < page.length; i += 2) entries.push([page[i]!, page[i + 1]!]);
  return { next: page[0] ?? '0', entries };
}

/**
 * Deletes a nodes entry only if it is unchanged since it was read and the instance has
 * no presence: an instance that comes back between the read and the delete keeps its
 * entry. Returns 1 when deleted.
 */
const PRUNE_ENTRY = new Script(`
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0`);

/** Runs PRUNE_ENTRY for the entry `raw` of instance `id` of `svc`. */
export function pruneEntry(redis: RedisClient, svc: string, id: string, raw: string): Promise<unknown> {
  return PRUNE_ENTRY.run(redis, [keys.nodes(), keys.presence(svc, id)], [id, raw]);
}

/** Keys one UNINDEXED_PRESENCE call looks at (SCAN's COUNT). */
const SCAN_PAGE = 1000;

/**
 * One page of a SCAN for presence keys (cursor ARGV[1], MATCH ARGV[2]), answered as
 * {next cursor, key, key, ...} without the keys whose instance the index holds: a scan
 * for Hydra peers in a cluster of hydra-ts instances reads almost nothing. Keys of
 * another shape are passed on for the caller to judge (parseInstanceKey).
 */
const UNINDEXED_PRESENCE = new Script(`
local page = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[3]))
local out = { page[1] }
local skip = #ARGV[4] + 2
for _, key in ipairs(page[2]) do
  local svc, id = string.match(string.sub(key, skip), '^([^:]+):([^:]+):presence$')
  if not svc or not redis.call('ZSCORE', KEYS[1], svc .. ':' .. id) then out[#out + 1] = key end
end
return out`);

/** Every presence key matching `match` whose instance the index does not hold (paged; never KEYS). */
export async function unindexedPresence(redis: RedisClient, match: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const page = (await UNINDEXED_PRESENCE.run(redis, [keys.deadlines()], [cursor, match, String(SCAN_PAGE), KEY_PREFIX])) as string[];
    cursor = page[0] ?? '0';
    found.push(...page.slice(1));
  } while (cursor !== '0');
  return found;
}
