/**
 * The live membership view: who serves what, from memory, so choosing an instance
 * costs no round trip. It is loaded from hydra-ts's registry index and kept current
 * by the join and leave announcements (membership.ts); a steady cluster sends it
 * nothing. Two scopes:
 * - `all` (routers, dashboards, the local cluster): every service, through one
 *   channel. Such a view also takes turns at the cluster's chores, often enough that
 *   the dead are announced within a quarter second of their presence expiring and
 *   Hydra peers are adopted within a second of appearing.
 * - `called` (services; the default): only the services this process sends to,
 *   followed from the first send on, through one channel each. Its cost does not grow
 *   with the size of the cluster, only with what it calls.
 */
import { EventEmitter } from 'node:events';
import type { RedisClient } from './redis.js';
import { keys, channels, patterns, deadlineMember } from './keys.js';
import { parseNode, type Instance } from './registry-reads.js';
import { parseChange, type Change, type DownReason } from './membership.js';
import { sweep, SWEEP_LOCK_MS } from './registry-scripts.js';
import { scanForPeersIfDue, adoptUnindexed, SCAN_LOCK_MS } from './peer-scan.js';
import type { Logger } from './logger.js';
import { errorMessage } from './errors.js';
import { readOrSkip, type SkippedKeyHandler } from './wrong-type.js';

export type { DownReason } from './membership.js';

/** Which services a view follows; see the module comment. */
export type DiscoveryScope = 'all' | 'called';

/** A full reload of the view repairs what pub/sub may have dropped. */
const RESYNC_MS = 30_000;
/**
 * After a reconnect, instances get one and a half heartbeats to notice their presence is
 * gone and join again (a restarted Redis comes back empty) before a reload judges who is gone.
 */
const RESYNC_AFTER_RECONNECT_MS = 1500;
/** A `called` view follows at most this many services; the least recently followed goes first. */
export const MAX_CALLED_SERVICES = 1000;

type DiscoveryEvents = {
  up: [instance: Instance];
  down: [instance: Instance, reason: DownReason];
};

/** The live membership view; see the module comment. Emits `up` and `down` as instances join and leave. */
export class Discovery extends EventEmitter<DiscoveryEvents> {
  private readonly services = new Map<string, Map<string, Instance>>();
  private readonly cursors = new Map<string, number>();
  /** `called` scope: each followed service, with its first load (settled once loaded). */
  private readonly followed = new Map<string, Promise<void>>();
  private readonly loaded = new Set<string>();
  /** When each instance was last added: a reload does not drop one added while it was reading. */
  private readonly addedAt = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private reconnectTimer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private readonly onChangeText = (text: string) => this.apply(parseChange(text));

  constructor(
    private readonly redis: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly logger: Logger,
    private readonly onSkippedKey: SkippedKeyHandler,
    /** Which services this view follows (see the module comment). */
    readonly scope: DiscoveryScope = 'called',
  ) {
    super();
  }

  /** Subscribes, loads the view, and (for an `all` view) starts taking turns at the cluster's chores. */
  async start(): Promise<void> {
    const every = (ms: number, run: () => Promise<unknown>) => {
      const t = setInterval(() => void run().catch((err) => this.logger.debug({ err: errorMessage(err) }, 'registry chore failed; will retry')), ms);
      t.unref();
      this.timers.push(t);
    };
    if (this.scope === 'all') {
      await this.subscriber.subscribe(channels.changes(), this.onChangeText);
      await this.scanForPeers();
      every(SWEEP_LOCK_MS, () => sweep(this.redis));
      every(SCAN_LOCK_MS, () => this.scanForPeers());
    }
    await this.resync();
    every(RESYNC_MS, () => this.resync());
  }

  /** Stops the timers (the subscriber connection belongs to the caller). */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.reconnectTimer);
  }

  /** After Redis came back: a reload once live instances have had time to join again. */
  reconnected(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.resync(), RESYNC_AFTER_RECONNECT_MS);
    this.reconnectTimer.unref();
  }

  /**
   * Makes sure `svc` is followed and loaded. Returns undefined when it already is (the
   * common case: no await on the send path), else a promise settled once it is loaded.
   * Always undefined for an `all` view.
   */
  ready(svc: string): Promise<void> | undefined {
    if (this.scope === 'all' || this.loaded.has(svc)) return undefined;
    let following = this.followed.get(svc);
    if (!following) {
      following = this.follow(svc);
      this.followed.set(svc, following);
      if (this.followed.size > MAX_CALLED_SERVICES) this.unfollow(this.followed.keys().next().value!);
    }
    return following;
  }

  /** Present instances of `svc`, from memory (for a `called` view: once `ready(svc)` has settled). */
  instances(svc: string): Instance[] {
    return [...(this.services.get(svc)?.values() ?? [])];
  }

  /** Names of services with at least one present instance (of those this view follows). */
  liveServices(): string[] {
    return [...this.services.entries()].filter(([, m]) => m.size > 0).map(([s]) => s).sort();
  }

  /** The present instance `instanceId` of `svc`, from memory. */
  get(svc: string, instanceId: string): Instance | undefined {
    return this.services.get(svc)?.get(instanceId);
  }

  /** Round robin over the present instances of `svc`; `exclude` skips instances already tried. */
  pick(svc: string, exclude?: ReadonlySet<string>): Instance | undefined {
    const list = this.instances(svc).filter((i) => !exclude?.has(i.instanceID));
    if (list.length === 0) return undefined;
    const n = this.cursors.get(svc) ?? 0;
    this.cursors.set(svc, n + 1);
    return list[n % list.length];
  }

  /** Reloads the view from the index (at start, after a reconnect, and every 30 s as a repair). */
  resync(): Promise<void> {
    this.syncing ??= this.reloadAll().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async scanForPeers(): Promise<void> {
    await scanForPeersIfDue(this.redis, this.onSkippedKey);
  }

  /**
   * Subscribes first, then loads, so no join between the two is missed. A service the
   * index does not know may be served by Hydra peers only: they are looked for once.
   */
  private async follow(svc: string): Promise<void> {
    try {
      await this.subscriber.subscribe(channels.changesOf(svc), this.onChangeText);
      const found = await this.load(svc);
      if (found === 0 && (await adoptUnindexed(this.redis, patterns.presenceOf(svc), this.onSkippedKey)) > 0) await this.load(svc);
      this.loaded.add(svc);
    } catch (err) {
      // Not loaded: the next ready(svc) tries again.
      this.followed.delete(svc);
      this.logger.warn({ err: errorMessage(err), service: svc }, 'could not load the instances of a service');
    }
  }

  private unfollow(svc: string): void {
    this.followed.delete(svc);
    this.loaded.delete(svc);
    void this.subscriber.unsubscribe(channels.changesOf(svc), this.onChangeText).catch(() => undefined);
    for (const id of [...(this.services.get(svc)?.keys() ?? [])]) this.addedAt.delete(id);
    this.services.delete(svc);
    this.cursors.delete(svc);
  }

  /** Loads one service's indexed instances whose presence exists; returns how many. */
  private async load(svc: string): Promise<number> {
    const ids = await readOrSkip(this.redis, keys.instancesOf(svc), 'set', () => this.redis.sMembers(keys.instancesOf(svc)), [], this.onSkippedKey);
    const nodes = (await this.presentNodes(ids.map((id) => ({ svc, id })))) ?? [];
    for (const node of nodes) this.add(node);
    return nodes.length;
  }

  /**
   * The nodes entries of those of `members` whose presence key exists; null when the
   * nodes hash is unreadable. Only the entries this view lacks are read: an instance id
   * is new for every process, so a known one's address cannot have changed, and the 30 s
   * repair of a router's view costs an EXISTS per instance rather than its whole entry
   * (some 300 bytes each, read by every router every 30 s).
   */
  private async presentNodes(members: Array<{ svc: string; id: string }>): Promise<Instance[] | null> {
    if (members.length === 0) return [];
    const known = members.map((m) => this.get(m.svc, m.id));
    const unknown = members.filter((_, i) => !known[i]);
    const [present, entries] = await Promise.all([
      Promise.all(members.map((m) => this.redis.exists(keys.presence(m.svc, m.id)))),
      unknown.length === 0 ? [] : readOrSkip(this.redis, keys.nodes(), 'hash', () => this.redis.hmGet(keys.nodes(), unknown.map((m) => m.id)), null, this.onSkippedKey),
    ]);
    if (entries === null) return null;
    const read = new Map(unknown.map((m, i) => [m.id, entries[i]]));
    return members.flatMap((m, i) => {
      if (present[i] !== 1) return [];
      if (known[i]) return [known[i]];
      const node = parseNode(read.get(m.id));
      return node && node.serviceName === m.svc && node.instanceID === m.id ? [node] : [];
    });
  }

  private async reloadAll(): Promise<void> {
    if (!this.redis.isReady) return;
    const started = Date.now();
    try {
      const found = await this.readView();
      // No addresses to be had: keep the view as it is rather than judge everyone gone.
      if (found === null) return;
      const seen = new Set<string>();
      for (const node of found) {
        seen.add(deadlineMember(node.serviceName, node.instanceID));
        this.add(node);
      }
      for (const [svc, members] of this.services) {
        for (const inst of [...members.values()]) {
          if (!seen.has(deadlineMember(svc, inst.instanceID)) && (this.addedAt.get(inst.instanceID) ?? 0) < started) this.remove(svc, inst.instanceID, 'resync');
        }
      }
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'discovery reload failed; will retry');
    }
  }

  /** Everything this view follows, read from the index; null when the index or the nodes hash is unreadable. */
  private async readView(): Promise<Instance[] | null> {
    if (this.scope === 'all') {
      const members = await readOrSkip(this.redis, keys.deadlines(), 'zset', () => this.redis.zRange(keys.deadlines(), 0, -1), null, this.onSkippedKey);
      if (members === null) return null;
      return this.presentNodes(members.flatMap((m) => {
        const at = m.indexOf(':');
        return at > 0 ? [{ svc: m.slice(0, at), id: m.slice(at + 1) }] : [];
      }));
    }
    // All at once: node-redis sends them in one write (up to MAX_CALLED_SERVICES round trips otherwise).
    const followed = [...this.loaded];
    const idsOf = await Promise.all(followed.map((svc) => readOrSkip(this.redis, keys.instancesOf(svc), 'set', () => this.redis.sMembers(keys.instancesOf(svc)), [], this.onSkippedKey)));
    return this.presentNodes(followed.flatMap((svc, i) => idsOf[i]!.map((id) => ({ svc, id }))));
  }

  private apply(change: Change | null): void {
    if (!change) return;
    if (change.op === 'up') {
      if (this.scope === 'all' || this.followed.has(change.node.serviceName)) this.add(change.node);
    } else {
      this.remove(change.service, change.id, change.reason);
    }
  }

  private add(node: Instance): void {
    const svc = node.serviceName;
    let members = this.services.get(svc);
    if (!members) this.services.set(svc, (members = new Map()));
    if (members.has(node.instanceID)) return;
    members.set(node.instanceID, node);
    this.addedAt.set(node.instanceID, Date.now());
    this.emit('up', node);
  }

  private remove(svc: string, id: string, reason: DownReason): void {
    const node = this.services.get(svc)?.get(id);
    if (!node) return;
    this.services.get(svc)!.delete(id);
    this.addedAt.delete(id);
    this.emit('down', node, reason);
  }
}
