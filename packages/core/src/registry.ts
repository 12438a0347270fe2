/**
 * An instance's registration in Redis: Hydra's keys (service record, nodes entry,
 * presence, health and its log, routes), which Hydra peers read, plus hydra-ts's
 * index (keys.deadlines, keys.instancesOf) and a join/leave announcement
 * (membership.ts), which hydra-ts views follow.
 *
 * The heartbeat is one EXPIRE of the presence key a second: no notification, no
 * announcement, nothing sent to anyone. Every tenth beat rewrites the rest (the nodes
 * entry, health, service record, routes, the index entry), so keys someone deleted are
 * whole again within ten seconds, and takes this instance's turn at the scan for Hydra
 * peers and the prune; some beats also bid for the sweep of the dead. A presence found gone (a FLUSHDB, a
 * restarted Redis, or this process stalled past the TTL) means a full join at once.
 */
import { hostname as osHostname } from 'node:os';
import { presenceRenewer, type RedisClient } from './redis.js';
import { keys, channels, deadlineMember } from './keys.js';
import { createMessage, toShort } from './umf.js';
import type { Logger } from './logger.js';
import { errorMessage } from './errors.js';
import { MultiErrorReply } from 'redis';
import { isWrongType, readOrSkip, reportWrongType, type SkippedKeyHandler } from './wrong-type.js';
import { upText, downText } from './membership.js';
import { SWEEP, SWEEP_KEYS, SWEEP_ARGS, sweep, pruneCandidates, pruneEntry } from './registry-scripts.js';
import { isNoScript } from './lua-script.js';
import { claimScan, scanForPeersIfChanged } from './peer-scan.js';
import { HEARTBEAT_INTERVAL_MS, PRESENCE_TTL_S, HEALTH_TTL_S, BEATS_PER_REFRESH } from './registry-timing.js';

export { HEARTBEAT_INTERVAL_MS, PRESENCE_TTL_S, HEALTH_TTL_S } from './registry-timing.js';
/** TTL of a health log, renewed at each join and write: one week. */
export const HEALTH_LOG_TTL_S = 604800;
/** Entries kept in a health log. */
export const HEALTH_LOG_MAX = 64;
/** A nodes entry not refreshed for this long, with no presence, is removed. */
export const DEFAULT_PRUNE_AFTER_S = 3600;
/** One process in the cluster prunes the nodes hash at most this often. */
const PRUNE_EVERY_S = 60;
/** How often the cluster's instances, all together, bid for the sweep (see renewPresence). */
const SWEEPS_PER_S = 4;

/** The value stored per instance in `hydra:service:nodes`. */
export interface NodeEntry {
  /** The service. */
  serviceName: string;
  /** The config's serviceDescription. */
  serviceDescription: string;
  /** The service version registered. */
  version: string;
  /** The instance id (32 hex characters). */
  instanceID: string;
  /** When the entry was last written (ISO 8601; every tenth heartbeat). */
  updatedOn: string;
  /** The instance's process id. */
  processID: number;
  /** The address to call it on. */
  ip: string;
  /** Hydra writes a string when configured and a number when random: readers accept both. */
  port: number | string;
  /** The host's name. */
  hostName: string;
}

/** What an instance registers as: its name, version and address. */
export interface InstanceInfo {
  /** The service. */
  serviceName: string;
  /** The config's serviceDescription. */
  serviceDescription: string;
  /** The config's serviceType. */
  serviceType: string;
  /** The service version registered. */
  version: string;
  /** The instance id (32 hex characters). */
  instanceId: string;
  /** The address to call it on. */
  ip: string;
  /** The port to call it on. */
  port: number;
}

/** The host's name, read once (as Hydra does): nodes entries and health carry it. */
const hostname = osHostname();

/**
 * process.memoryUsage() reads the whole process's figures (and costs tens of microseconds):
 * sampled at most once a second, however many instances the process holds.
 */
let memorySample = { at: 0, usage: process.memoryUsage() };

/** The health document an instance writes every tenth heartbeat (Hydra's fields: memory, uptime, platform, ...). */
export function healthDocument(info: InstanceInfo): Record<string, unknown> {
  const now = new Date().toISOString();
  if (Date.now() - memorySample.at >= 1000) memorySample = { at: Date.now(), usage: process.memoryUsage() };
  return {
    updatedOn: now,
    serviceName: info.serviceName,
    instanceID: info.instanceId,
    hostName: hostname,
    sampledOn: now,
    processID: process.pid,
    architecture: process.arch,
    platform: process.platform,
    nodeVersion: process.version,
    memory: memorySample.usage,
    uptimeSeconds: process.uptime(),
  };
}

/**
 * Removes nodes entries not updated for `olderThanS` seconds whose presence is gone;
 * returns the ids removed. Redis pages through the hash and hands back only entries
 * without presence (registry-scripts.ts pruneCandidates), so live instances cost nothing.
 */
export async function pruneNodes(redis: RedisClient, olderThanS: number, now = Date.now(), onSkip?: SkippedKeyHandler): Promise<string[]> {
  const removed: string[] = [];
  let cursor = '0';
  do {
    const page = await readOrSkip(redis, keys.nodes(), 'hash', () => pruneCandidates(redis, cursor), null, onSkip);
    if (page === null) break;
    cursor = page.next;
    for (const [id, raw] of page.entries) {
      let entry: Partial<NodeEntry> | undefined;
      try {
        entry = JSON.parse(raw) as Partial<NodeEntry>;
      } catch {
        entry = undefined; // an unreadable entry is as dead as an old one
      }
      const updated = entry?.updatedOn ? Date.parse(entry.updatedOn) : NaN;
      if (Number.isFinite(updated) && now - updated < olderThanS * 1000) continue;
      if ((await pruneEntry(redis, typeof entry?.serviceName === 'string' ? entry.serviceName : '', id, raw)) === 1) removed.push(id);
    }
  } while (cursor !== '0');
  return removed;
}

/**
 * One heartbeat clock for every registration of this process (a process may hold many
 * instances): on each tick all of them beat, so their commands leave in one event-loop
 * turn and Redis reads them together, rather than one timer, one wake-up and one read
 * per instance, spread over the second. Each instance still sends its own commands on
 * its own connection, and a process with one instance beats as before.
 */
const clock = {
  members: new Set<Registration>(),
  timer: undefined as NodeJS.Timeout | undefined,
  join(r: Registration): void {
    this.members.add(r);
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const m of this.members) m.beat();
    }, HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  },
  leave(r: Registration): void {
    this.members.delete(r);
    if (this.members.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  },
};

export class Registration {
  private routes: string[] = [];
  private active = false;
  private beats = 0;
  /** A beat still waiting for Redis: the next one is skipped rather than queued behind it. */
  private beating = false;
  private lastPruneBid = 0;
  /** This beat's chance to bid for the sweep (learnIndexSize), from the index's size at the join and every refresh. */
  private sweepChance = 1;
  /**
   * The heartbeat's commands skip node-redis's per-command timeout: its AbortSignal timer
   * per command was most of an idle instance's CPU. A lost connection still fails them at
   * once, and a beat still waiting for Redis makes the next ones skip (see `beating`).
   */
  private readonly untimed: RedisClient;
  /** The heartbeat's own EXPIRE (redis.ts presenceRenewer). */
  private readonly renew: (key: string, ttlS: number) => Promise<number>;

  constructor(
    private readonly redis: RedisClient,
    private readonly info: InstanceInfo,
    private readonly logger: Logger,
    private readonly onSkippedKey: SkippedKeyHandler,
    private readonly pruneAfterS = DEFAULT_PRUNE_AFTER_S,
  ) {
    this.untimed = redis.withCommandOptions({ timeout: 0 }) as RedisClient;
    this.renew = presenceRenewer(redis);
  }

  nodeEntry(): NodeEntry {
    const i = this.info;
    return {
      serviceName: i.serviceName,
      serviceDescription: i.serviceDescription,
      version: i.version,
      instanceID: i.instanceId,
      updatedOn: new Date().toISOString(),
      processID: process.pid,
      ip: i.ip,
      port: i.port,
      hostName: hostname,
    };
  }

  /** Writes every key of the registration, announces the join and starts the heartbeat. */
  async register(): Promise<void> {
    this.active = true;
    await this.join();
    clock.join(this);
  }

  /** Joins again after Redis came back (a restarted server has lost our keys). */
  async restore(): Promise<void> {
    if (this.active) await this.join();
  }

  private get member(): string {
    return deadlineMember(this.info.serviceName, this.info.instanceId);
  }

  /** The service record, dated when this instance last joined (a refresh rewrites it as it was). */
  private serviceRecord = '';

  /**
   * Every key, the index entry and the `up` announcement in one transaction: whoever
   * hears of the join finds the nodes entry and presence already there. The deadline
   * score 0 asks the next sweep to read the real expiry from the presence key (Redis's
   * clock, not this host's).
   */
  private async join(): Promise<void> {
    const i = this.info;
    const entry = this.nodeEntry();
    const up = upText(entry);
    this.serviceRecord = JSON.stringify({ serviceName: i.serviceName, type: i.serviceType, registeredOn: entry.updatedOn });
    const tx = this.redis
      .multi()
      .set(keys.service(i.serviceName), this.serviceRecord)
      .hSet(keys.nodes(), i.instanceId, JSON.stringify(entry))
      .set(keys.presence(i.serviceName, i.instanceId), i.instanceId, { EX: PRESENCE_TTL_S })
      .set(keys.health(i.serviceName, i.instanceId), JSON.stringify(healthDocument(i)), { EX: HEALTH_TTL_S })
      .expire(keys.healthLog(i.serviceName, i.instanceId), HEALTH_LOG_TTL_S)
      .zAdd(keys.deadlines(), { score: 0, value: this.member })
      .sAdd(keys.instancesOf(i.serviceName), i.instanceId);
    if (this.routes.length) tx.del(keys.routes(i.serviceName)).sAdd(keys.routes(i.serviceName), this.routes);
    const replies = await this.transaction(() => tx.publish(channels.changes(), up).publish(channels.changesOf(i.serviceName), up).zCard(keys.deadlines()).exec());
    this.learnIndexSize(replies.at(-1));
  }

  /** One beat (the clock calls it each second); skipped while the last one still waits for Redis. */
  beat(): void {
    if (!this.active || !this.redis.isReady || this.beating) return;
    this.beating = true;
    void this.beatOnce().finally(() => (this.beating = false));
  }

  private async beatOnce(): Promise<void> {
    const i = this.info;
    try {
      const renewed = await this.renewPresence();
      if (!this.active) return;
      if (!renewed) {
        this.logger.warn(`presence of ${i.serviceName} ${i.instanceId} was gone (Redis flushed or restarted, or this process stalled past the ${PRESENCE_TTL_S} s TTL): registered again`);
        await this.join();
        this.beats = 0;
      } else if (++this.beats % BEATS_PER_REFRESH === 0) {
        await this.refresh();
      }
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'heartbeat failed; will retry');
    }
  }

  /**
   * The beat itself: an EXPIRE of the presence key (true when it was still there). Some
   * beats also bid for the sweep, in the same round trip: each instance with a chance of
   * SWEEPS_PER_S / (instances in the index), so the cluster as a whole bids about
   * SWEEPS_PER_S times a second, whatever its size, and the dead are announced soon
   * after their presence expires even where no router runs.
   */
  private async renewPresence(): Promise<boolean> {
    const presence = keys.presence(this.info.serviceName, this.info.instanceId);
    const r = this.untimed;
    if (Math.random() >= this.sweepChance) return (await this.renew(presence, PRESENCE_TTL_S)) === 1;
    const replies = await this.pipelined([
      r.expire(presence, PRESENCE_TTL_S),
      r.evalSha(SWEEP.sha, { keys: SWEEP_KEYS, arguments: SWEEP_ARGS }),
    ]);
    // The sweep script is unknown to a new or restarted server: sent in full once.
    if (isNoScript(replies[1])) await sweep(this.redis);
    return replies[0] === 1;
  }

  /**
   * Every tenth beat, in one round trip: the nodes entry (updatedOn), health, service
   * record, routes and index entry are rewritten (NX for the deadline: the sweeper owns
   * its score), the index's size is read for the sweep chance, and this instance bids
   * for the scan for Hydra peers. Then it scans if it won, and takes its turn at the prune.
   */
  private async refresh(): Promise<void> {
    const i = this.info;
    const r = this.untimed;
    const [size, scanWon] = await this.pipelined([
      r.zCard(keys.deadlines()),
      claimScan(r),
      r.set(keys.service(i.serviceName), this.serviceRecord),
      r.hSet(keys.nodes(), i.instanceId, JSON.stringify(this.nodeEntry())),
      r.set(keys.health(i.serviceName, i.instanceId), JSON.stringify(healthDocument(i)), { EX: HEALTH_TTL_S }),
      r.zAdd(keys.deadlines(), { score: 0, value: this.member }, { condition: 'NX' }),
      r.sAdd(keys.instancesOf(i.serviceName), i.instanceId),
      ...(this.routes.length ? [r.sAdd(keys.routes(i.serviceName), this.routes)] : []),
    ]);
    this.learnIndexSize(size);
    if (!this.active) return;
    if (scanWon === 'OK') await scanForPeersIfChanged(this.redis, this.onSkippedKey);
    await this.pruneIfDue();
  }

  /** Once a minute this instance bids to prune; one bidder in the cluster wins each minute. */
  private async pruneIfDue(): Promise<void> {
    if (Date.now() - this.lastPruneBid < PRUNE_EVERY_S * 1000) return;
    this.lastPruneBid = Date.now();
    if ((await this.redis.set(keys.pruneLock(), this.info.instanceId, { NX: true, EX: PRUNE_EVERY_S })) === null) return;
    const removed = await pruneNodes(this.redis, this.pruneAfterS, Date.now(), this.onSkippedKey);
    if (removed.length) this.logger.info({ removed }, 'pruned long-dead entries from hydra:service:nodes');
  }

  /**
   * Commands issued in one tick (node-redis writes them in one go: a pipeline) and their
   * replies, errors among them. Keys holding another type (someone else's writes) are
   * named once and the other commands still count; any other error is thrown.
   */
  private async pipelined(commands: Promise<unknown>[]): Promise<unknown[]> {
    const replies = (await Promise.allSettled(commands)).map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as unknown)));
    if (replies.some(isWrongType)) await this.reportWrongTypes();
    const failed = replies.find((r) => r instanceof Error && !isWrongType(r) && !isNoScript(r));
    if (failed) throw failed;
    return replies;
  }

  /** Runs the join's transaction; see pipelined() for keys of another type. */
  private async transaction(run: () => Promise<unknown[]>): Promise<unknown[]> {
    try {
      return await run();
    } catch (err) {
      if (!isWrongType(err)) throw err;
      await this.reportWrongTypes();
      return err instanceof MultiErrorReply ? err.replies : [];
    }
  }

  /** A chance of SWEEPS_PER_S in the index's size (see renewPresence). */
  private learnIndexSize(size: unknown): void {
    if (typeof size === 'number') this.sweepChance = Math.min(1, SWEEPS_PER_S / Math.max(1, size));
  }

  private async reportWrongTypes(): Promise<void> {
    const i = this.info;
    const expected = [
      [keys.service(i.serviceName), 'string'], [keys.nodes(), 'hash'], [keys.presence(i.serviceName, i.instanceId), 'string'],
      [keys.health(i.serviceName, i.instanceId), 'string'], [keys.healthLog(i.serviceName, i.instanceId), 'list'],
      [keys.deadlines(), 'zset'], [keys.instancesOf(i.serviceName), 'set'], [keys.routes(i.serviceName), 'set'],
    ] as const;
    const held = await Promise.all(expected.map(([key]) => this.redis.type(key)));
    await Promise.all(expected.map(([key, type], n) => (held[n] !== 'none' && held[n] !== type ? reportWrongType(this.redis, key, type, this.onSkippedKey) : undefined)));
  }

  /**
   * Replaces the service's routes (plus Hydra's three self routes) and tells
   * routers to reload, with the same broadcast Hydra sends.
   */
  async registerRoutes(routes: string[]): Promise<void> {
    const svc = this.info.serviceName;
    this.routes = [...new Set([...routes, `[get]/${svc}`, `[get]/${svc}/`, `[get]/${svc}/:rest`])];
    await this.redis.multi().del(keys.routes(svc)).sAdd(keys.routes(svc), this.routes).exec();
    if (svc === 'hydra-router') return;
    const refresh = createMessage({ to: 'hydra-router:/refresh', from: `${svc}:/`, body: { action: 'refresh', serviceName: svc } });
    await this.redis.publish(channels.service('hydra-router'), JSON.stringify(toShort(refresh)));
  }

  async log(type: string, msg: string): Promise<void> {
    const i = this.info;
    const key = keys.healthLog(i.serviceName, i.instanceId);
    const entry = JSON.stringify({ ts: new Date().toISOString(), serviceName: i.serviceName, type, processID: process.pid, msg });
    await this.redis.multi().lPush(key, entry).lTrim(key, 0, HEALTH_LOG_MAX - 1).expire(key, HEALTH_LOG_TTL_S).exec();
  }

  /**
   * Stops the heartbeat, removes presence, health and the index entry, and announces the
   * leave (reason `removed`), so views drop this instance at once.
   */
  async deregister(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    clock.leave(this);
    const i = this.info;
    if (!this.redis.isReady) return;
    const down = downText(i.serviceName, i.instanceId, 'removed');
    await this.redis
      .multi()
      .del(keys.presence(i.serviceName, i.instanceId))
      .del(keys.health(i.serviceName, i.instanceId))
      .zRem(keys.deadlines(), this.member)
      .sRem(keys.instancesOf(i.serviceName), i.instanceId)
      .publish(channels.changes(), down)
      .publish(channels.changesOf(i.serviceName), down)
      .exec();
  }
}
