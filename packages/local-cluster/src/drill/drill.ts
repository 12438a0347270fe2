/**
 * The cluster under faults: the article's eight nodes, simulated. Builds a
 * cluster with its own Redis (AOF on, so a restart keeps what Redis acknowledged)
 * and HAProxy in front, then, under a steady, bounded stream of GETs through the
 * balancer, breaks it one way after another and measures what clients saw:
 *
 *  1. a worker host killed        → no failed GET; its instances leave every router (target 3 s)
 *  2. one router killed           → the balancer moves on; only requests in flight there may fail
 *  3. hello-service rolled        → no failed request; the answers switch version
 *  4. Redis restarted             → every service back in the registry (target 5 s), no process
 *                                   crashed, acknowledged queued messages still there
 *  5. hello-service scaled 5→8→3  → every router sees each change (target 2 s)
 *  6. a player host killed mid-game → the game ends with a result, not a hang
 *
 * The test (test/faults.test.ts) asserts on the figures; bench/cluster-faults
 * prints them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hydra, CHANNEL_PREFIX, keys, type RedisClient } from '@hydra-ts/core';
import { startCluster, silentLogger, type Cluster } from '../cluster.js';
import { Child } from '../child.js';
import { answersPing, freePort } from '../redis-source.js';
import { Load, type LoadCounts } from './load.js';
import { RouterWatch } from './routers.js';

export interface DrillOptions {
  /** Loopback prefixes of the simulated hosts (default 127.0.51. / 127.0.52.), so a drill runs beside `npm start`. */
  managerPrefix?: string;
  workerPrefix?: string;
  /** Where progress goes (default: nowhere). */
  onEvent?: (line: string) => void;
  /** Only these steps, by name (default: all six, in order). */
  only?: StepName[];
}

export interface StepResult {
  /** Which step (a StepName). */
  name: StepName;
  /** What it did, for the report. */
  step: string;
  sent: number;
  failed: number;
  /** Time to converge, in ms (what converges is said in `converged`). */
  convergeMs?: number;
  converged: string;
  /** The step's own figures, by name (what the test asserts on). */
  figures: Record<string, number>;
  /** The same and more, as text for the report. */
  details: string[];
  /** The first failures, for the report. */
  failures: string[];
}

/** What a step function reports; the drill adds the step's name. */
type StepOutcome = Omit<StepResult, 'name'>;

export interface DrillResult {
  steps: StepResult[];
  /** Processes that exited without being told to (should be none). */
  unexpectedExits: string[];
  startMs: number;
}

const QUEUED = 20;
/** Parallel request loops of the GET stream: also the most requests in flight at once. */
const LOOPS = 4;

export async function runFaultDrill(options: DrillOptions = {}): Promise<DrillResult> {
  const say = options.onEvent ?? (() => {});
  const redis = await AofRedis.start();
  const unexpectedExits: string[] = [];
  let cluster: Cluster | undefined;
  let hydra: Hydra | undefined;
  try {
    const started = Date.now();
    const [routerPort, hello, hpp, balancerPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    cluster = await startCluster({
      redisUrl: redis.url,
      managerPrefix: options.managerPrefix ?? '127.0.51.',
      workerPrefix: options.workerPrefix ?? '127.0.52.',
      routerPort,
      servicePorts: { 'hello-service': hello, 'hpp-service': hpp },
      balancer: true,
      balancerPort,
      controlSocket: false,
      onEvent: (line) => {
        if (line.startsWith('!')) unexpectedExits.push(line);
        say(line);
      },
      startTimeoutMs: 60_000,
    });
    const startMs = Date.now() - started;
    say(`cluster up in ${startMs} ms: ${cluster.routerUrls().length} routers behind ${cluster.balancerUrl}, ${cluster.list().length} processes`);
    // The drill's own view of the registry: when an instance came or went.
    hydra = await Hydra.create({ hydra: { serviceName: 'hydra-drill', redis: { url: redis.url } } }, { env: {}, logger: silentLogger('hydra-drill'), discovery: 'all' });
    const registry = new RegistryClock(hydra);
    const ctx: Ctx = { cluster, redis, hydra, registry, say, hello: `${cluster.balancerUrl}/v1/hello/test` };
    const steps: StepResult[] = [];
    for (const step of STEPS.filter((f) => !options.only || options.only.includes(f.name as StepName))) {
      say(`step: ${step.name}`);
      const outcome: StepResult = { name: step.name as StepName, ...(await step(ctx)) };
      say(formatStep(outcome));
      steps.push(outcome);
    }
    return { steps, unexpectedExits, startMs };
  } finally {
    await hydra?.close().catch(() => {});
    await cluster?.stop();
    await redis.stop();
  }
}

interface Ctx {
  cluster: Cluster;
  redis: AofRedis;
  hydra: Hydra;
  registry: RegistryClock;
  say: (line: string) => void;
  hello: string;
}

/** When the drill's own Discovery saw each instance come and go. */
class RegistryClock {
  readonly up = new Map<string, number>();
  readonly down = new Map<string, number>();
  constructor(hydra: Hydra) {
    hydra.discovery.on('up', (i) => this.up.set(i.instanceID, Date.now()));
    hydra.discovery.on('down', (i) => this.down.set(i.instanceID, Date.now()));
  }
}

/** Runs `during` under a GET stream through the balancer, then stops the stream (also when `during` threw). */
async function underLoad(ctx: Ctx, during: () => Promise<void>): Promise<LoadCounts> {
  const load = new Load({ url: ctx.hello, loops: LOOPS, maxMs: 120_000, maxRequests: 30_000 });
  try {
    // Some traffic before the fault, so that it hits a cluster at work, and some after.
    await sleep(500);
    await during();
    await sleep(500);
  } catch (err) {
    await load.stop();
    throw err;
  }
  return load.stop();
}

/** Runs `fn` with a watch on every router's listing, started before and always stopped after. */
async function watching<T>(routers: string[], fn: (watch: RouterWatch) => Promise<T>): Promise<T> {
  const watch = new RouterWatch(routers);
  try {
    await until('every router to answer a listing', () => watch.ready, 15_000);
    return await fn(watch);
  } finally {
    await watch.stop();
  }
}

function result(step: string, c: LoadCounts, converged: string, convergeMs: number | undefined, figures: Record<string, number> = {}, details: string[] = []): StepOutcome {
  return { step, sent: c.sent, failed: c.failed, convergeMs, converged, figures, details, failures: c.failures.map((f) => f.what) };
}

async function killWorker(ctx: Ctx): Promise<StepOutcome> {
  const host = 'worker-3';
  const ids = ctx.cluster.list().filter((i) => i.host.name === host).map((i) => i.instanceId!);
  let killedAt = 0;
  let dropped = 0;
  const c = await underLoad(ctx, () =>
    watching(ctx.cluster.routerUrls(), async (watch) => {
      killedAt = Date.now();
      ctx.say(await ctx.cluster.kill(host));
      await until(`every router to drop ${host}'s instances`, () => ids.every((id) => watch.allDropped(id) !== undefined), 15_000);
      dropped = Math.max(...ids.map((id) => watch.allDropped(id)!));
    }),
  );
  return result(`kill ${host} (${ids.length} instances)`, c, `its instances left every router`, dropped - killedAt);
}

async function killRouter(ctx: Ctx): Promise<StepOutcome> {
  const host = 'manager-2';
  let killedAt = 0;
  const c = await underLoad(ctx, async () => {
    killedAt = Date.now();
    ctx.say(await ctx.cluster.kill(host));
    // The balancer's health check (every 1 s, down after 2 failures) takes it out; give it time to.
    await sleep(4000);
  });
  const lastFailure = c.failures.at(-1)?.at;
  ctx.say(await ctx.cluster.restart(host));
  return result(`kill the router on ${host}`, c, 'last failed request after the kill', lastFailure === undefined ? 0 : lastFailure - killedAt, { inFlightAtMost: LOOPS }, [
    `requests in flight at any time: at most ${LOOPS} (the stream's loops)`,
  ]);
}

async function rollout(ctx: Ctx): Promise<StepOutcome> {
  const from = ctx.cluster.versions.get('hello-service')!;
  let rolledAt = 0;
  let doneAt = 0;
  let to = '';
  const c = await underLoad(ctx, async () => {
    rolledAt = Date.now();
    ctx.say(await ctx.cluster.rollout('hello-service'));
    doneAt = Date.now();
    to = ctx.cluster.versions.get('hello-service')!;
  });
  const old = c.versions.get(from);
  const fresh = c.versions.get(to);
  const details = [`versions answered: ${[...c.versions].map(([v, s]) => `${v} × ${s.count}`).join(', ')}`];
  if (old && fresh) details.push(`first ${to} answer ${fresh.first - rolledAt} ms after the start, last ${from} answer ${old.last - rolledAt} ms`);
  const figures = { oldAnswers: old?.count ?? 0, newAnswers: fresh?.count ?? 0, oldLastMs: (old?.last ?? rolledAt) - rolledAt, newLastMs: (fresh?.last ?? rolledAt) - rolledAt };
  return result(`roll hello-service ${from} → ${to}`, c, 'rollout done (new instances in, old ones drained and out)', doneAt - rolledAt, figures, details);
}

async function restartRedis(ctx: Ctx): Promise<StepOutcome> {
  const { hydra, cluster } = ctx;
  const runId = String(Date.now());
  for (let n = 0; n < QUEUED; n++) await hydra.queueMessage({ to: 'hello-service:/', frm: 'hydra-drill:/', bdy: { drill: runId, n } });
  const pidsBefore = cluster.list().map((i) => i.child.pid);
  let backAt = 0;
  let registeredAt = 0;
  const c = await underLoad(ctx, async () => {
    await ctx.redis.restart();
    backAt = Date.now();
    const instances = cluster.list().filter((i) => i.instanceId);
    const probe = hydra.redis;
    // The AOF brought the old keys back, so "present" proves nothing: each instance must
    // have written its health document (rewritten with presence) since Redis came back.
    await until('every instance to write its registry keys again', async () => {
      const docs = await probe.mGet(instances.map((i) => keys.health(i.service, i.instanceId!))).catch(() => []);
      return docs.length === instances.length && docs.every((d) => d !== null && Date.parse((JSON.parse(d) as { updatedOn: string }).updatedOn) >= backAt);
    }, 30_000);
    registeredAt = Date.now();
  });
  const queued = (await hydra.redis.lRange(keys.queueReceived('hello-service'), 0, -1)).filter((m) => m.includes(`"drill":"${runId}"`)).length;
  const alive = cluster.list().filter((i) => pidsBefore.includes(i.child.pid) && i.child.running).length;
  return result('restart Redis (SIGKILL, AOF appendfsync always)', c, 'every instance rewrote its registry keys after Redis answered', registeredAt - backAt, { queuedBefore: QUEUED, queuedAfter: queued, processesBefore: pidsBefore.length, processesAlive: alive }, [
    `queued before the restart: ${QUEUED}, still queued after: ${queued}`,
    `processes alive: ${alive} of ${pidsBefore.length}`,
  ]);
}

async function scale(ctx: Ctx): Promise<StepOutcome> {
  const { cluster, registry } = ctx;
  const lags: string[] = [];
  let worst = 0;
  const c = await underLoad(ctx, async () => {
    for (const n of [8, 3]) {
      const before = new Set(cluster.list('hello-service').map((i) => i.instanceId!));
      const lag = await watching(cluster.routerUrls(), async (watch) => {
        ctx.say(await cluster.scale('hello-service', n));
        const after = new Set(cluster.list('hello-service').map((i) => i.instanceId!));
        const added = [...after].filter((id) => !before.has(id));
        const removed = [...before].filter((id) => !after.has(id));
        await until(() => `the routers to settle (${watch.describe([...added, ...removed])})`, () => added.every((id) => watch.allSaw(id) !== undefined) && removed.every((id) => watch.allDropped(id) !== undefined), 15_000);
        lags.push(`to ${n}: +${added.length} −${removed.length}`);
        // From the registry's change (presence written or removed) to the last router reflecting it.
        return Math.max(
          ...added.map((id) => watch.allSaw(id)! - (registry.up.get(id) ?? watch.allSaw(id)!)),
          ...removed.map((id) => watch.allDropped(id)! - (registry.down.get(id) ?? watch.allDropped(id)!)),
        );
      });
      worst = Math.max(worst, lag);
      lags[lags.length - 1] += `, every router within ${lag} ms`;
    }
  });
  const now = cluster.list('hello-service').length;
  return result('scale hello-service 5 → 8 → 3', c, 'slowest registry change to reach every router', worst, { instancesAfter: now }, lags);
}

/** A game through the balancer; the host of whoever holds the potato (not the starter) dies. */
async function killPlayerMidGame(ctx: Ctx): Promise<StepOutcome> {
  const { cluster, hydra } = ctx;
  const sub: RedisClient = hydra.redis.duplicate();
  await sub.connect();
  let victim: string | undefined;
  let killed: Promise<string> | undefined;
  try {
    const hostOf = (id: string) => cluster.list('hpp-service').find((i) => i.instanceId === id)?.host.name;
    await sub.pSubscribe(`${CHANNEL_PREFIX}:hpp-service:*`, (message, channel) => {
      if (killed) return;
      const potato = JSON.parse(message) as { bdy?: { command?: string; starter?: string } };
      const holder = channel.slice(channel.lastIndexOf(':') + 1);
      if (potato.bdy?.command !== 'hotpotato' || holder === potato.bdy.starter) return;
      victim = hostOf(holder);
      if (victim) killed = cluster.kill(victim);
    });
    const startedAt = Date.now();
    const res = await fetch(`${cluster.balancerUrl}/v1/hpp/startgame`, { signal: AbortSignal.timeout(60_000) });
    const body = (await res.json()) as { result?: { gameLog?: string[]; outcome?: string; loser?: string } };
    const endedMs = Date.now() - startedAt;
    if (killed) ctx.say(await killed);
    const log = body.result?.gameLog ?? [];
    return {
      step: `kill the host of the potato's holder (${victim ?? 'none was killed'}) during a game`,
      sent: 1,
      failed: res.status === 200 && body.result?.outcome ? 0 : 1,
      convergeMs: endedMs,
      converged: 'the game answered (countdown included)',
      figures: { hostKilled: victim ? 1 : 0, holderLeft: body.result?.outcome === 'holder-left' ? 1 : 0 },
      details: [`HTTP ${res.status}, outcome ${body.result?.outcome}, last line: ${log.at(-1)}`],
      failures: res.status === 200 ? [] : [JSON.stringify(body).slice(0, 300)],
    };
  } finally {
    await sub.close().catch(() => {});
  }
}

const STEPS = [killWorker, killRouter, rollout, restartRedis, scale, killPlayerMidGame];
export type StepName = 'killWorker' | 'killRouter' | 'rollout' | 'restartRedis' | 'scale' | 'killPlayerMidGame';
export const STEP_NAMES: StepName[] = STEPS.map((f) => f.name as StepName);

/** A redis-server of the drill's own with AOF (fsync at every write), restartable on the same port and files. */
class AofRedis {
  private child!: Child;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/15`;
  }

  static async start(): Promise<AofRedis> {
    const r = new AofRedis(await freePort(), mkdtempSync(join(tmpdir(), 'hydra-drill-redis-')));
    await r.run();
    return r;
  }

  private async run(): Promise<void> {
    this.child = new Child('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], process.env, join(this.dir, 'redis.log'));
    await until(`redis-server on ${this.port}`, () => answersPing(this.port), 10_000);
  }

  /** SIGKILL, then the same server again on the same files. */
  async restart(): Promise<void> {
    this.child.process.kill('SIGKILL');
    await this.child.exited;
    await this.run();
  }

  async stop(): Promise<void> {
    await this.child.stop('SIGTERM', 5000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function formatStep(s: StepResult): string {
  const lines = [`${s.step}: sent ${s.sent}, failed ${s.failed}; ${s.converged}: ${s.convergeMs ?? '-'} ms`, ...s.details.map((d) => `    ${d}`)];
  for (const f of s.failures.slice(0, 5)) lines.push(`    failure: ${f}`);
  return lines.join('\n');
}

async function until(what: string | (() => string), probe: () => unknown, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

