/**
 * bench:scale: what a registry costs as instances grow, hydra-ts against the
 * published hydra@1.9.3 at the same N, in one run (issue 14's bench).
 *
 *   npm run bench:scale        (builds, then node bench/dist/scale/main.js)
 *
 * For each implementation and N, on a fresh redis-server of the run's own
 * (loopback, free port, --maxclients 20000, nothing on disk), N instances of 10
 * services are registered from as few host processes as the per-process knob
 * gives (host.ts). After a settle time, a window measures Redis CPU (from
 * /proc/<pid>/stat), Redis commands/s (INFO commandstats, the bench's own INFO
 * calls left out; error replies from INFO errorstats in the details), Redis output
 * bytes/s (INFO total_net_output_bytes, the bench's own INFO replies left out), the host processes' CPU (/proc) and their RSS growth
 * per instance (from ready, before any instance, to after the window, a full GC
 * before each reading; so it includes the code the first instance loads). Then 3 real routers are started (observer.ts; after the window,
 * so their cost is not in it) and the bench times 20 joins (a new instance's
 * registerService() call until all 3 routers list it) and SIGKILLs of instances
 * in their own processes (the kill until all 3 have dropped it). Hydra peers are
 * observed by the same hydra-ts routers. Every figure of hydra-ts is also shown as
 * a ratio to Hydra's at the same N, and the issue's targets are printed met or missed.
 * A figure that could not be measured (a start that timed out, a join never seen)
 * prints as such; an implementation that could not start N instances in time is
 * not run at larger N.
 *
 * Knobs (environment):
 *   BENCH_SCALE_NS           hydra-ts Ns (10,100,400,1000,2000)
 *   BENCH_SCALE_HYDRA_NS     hydra@1.9.3 Ns (10,100,400,1000; with BENCH_SCALE_NS set: those of it up to 1000)
 *   BENCH_SCALE_SERVICES     services the instances are spread over (10)
 *   BENCH_SCALE_SETTLE_S     wait after the last instance started (3)
 *   BENCH_SCALE_WINDOW_S     measurement window (10)
 *   BENCH_SCALE_PER_PROCESS  instances per host process (250)
 *   BENCH_SCALE_CONCURRENCY  instances a host starts at once (16)
 *   BENCH_SCALE_START_TIMEOUT_S  limit for starting all N (120)
 *   BENCH_SCALE_CREATE_ATTEMPTS  tries at creating one instance (a connect timeout in a saturated host) before the start gives up (3)
 *   BENCH_SCALE_JOINS        joins timed (20)
 *   BENCH_SCALE_KILLS        SIGKILLed instances timed, killed together (5)
 *   BENCH_SCALE_OBSERVE_TIMEOUT_S  limit for one join or leave to be seen (15)
 *   BENCH_SCALE_HOST_NODE_ARGS  node flags of the N instances' host processes, e.g.
 *                            "--cpu-prof --cpu-prof-dir=/tmp/prof" (hosts then exit by themselves at the end of a run)
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRedis, closeRedis, PRESENCE_TTL_S, type RedisClient } from '@hydra-ts/core';
import { cpuSeconds, quiet, rssMb, startRedisServer, stop } from '../router/processes.js';
import { Child } from './child.js';
import { OBSERVER_POLL_MS, wallMs } from './ipc.js';

type Impl = 'ts' | 'hydra';
const LABEL: Record<Impl, string> = { ts: 'hydra-ts', hydra: 'hydra@1.9.3' };

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const list = (name: string): number[] | undefined => process.env[name]?.split(',').filter(Boolean).map(Number);
const TS_NS = list('BENCH_SCALE_NS') ?? [10, 100, 400, 1000, 2000];
const HYDRA_NS = list('BENCH_SCALE_HYDRA_NS') ?? (process.env.BENCH_SCALE_NS ? TS_NS.filter((n) => n <= 1000) : [10, 100, 400, 1000]);
const SERVICES = Array.from({ length: num('BENCH_SCALE_SERVICES', 10) }, (_, i) => `scale-svc-${i}`);
const SETTLE_S = num('BENCH_SCALE_SETTLE_S', 3);
const WINDOW_S = num('BENCH_SCALE_WINDOW_S', 10);
const PER_PROCESS = num('BENCH_SCALE_PER_PROCESS', 250);
const CONCURRENCY = num('BENCH_SCALE_CONCURRENCY', 16);
const START_TIMEOUT_S = num('BENCH_SCALE_START_TIMEOUT_S', 120);
const CREATE_ATTEMPTS = num('BENCH_SCALE_CREATE_ATTEMPTS', 3);
const JOINS = num('BENCH_SCALE_JOINS', 20);
const KILLS = num('BENCH_SCALE_KILLS', 5);
const OBSERVE_TIMEOUT_MS = num('BENCH_SCALE_OBSERVE_TIMEOUT_S', 15) * 1000;
const HOST_NODE_ARGS = (process.env.BENCH_SCALE_HOST_NODE_ARGS ?? '').split(' ').filter(Boolean);
const ROUTERS = 3;
/** Consecutive joins not seen in time after which the rest are not tried. */
const MAX_MISSED_JOINS = 3;

const HOST = join(__dirname, 'host.js');
const OBSERVER = join(__dirname, 'observer.js');

const log = (msg: string) => process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Nearest-rank percentile of ascending `sorted` (of 20 samples, p99 is the largest). */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** Observed latencies, ms, with how many were not seen in time. */
interface Latencies {
  ms: number[];
  missed: number;
  /** Observations made on a discovery event, of all router observations. */
  byEvent: number;
  observations: number;
}

interface Result {
  impl: Impl;
  n: number;
  /** Why the run stopped early, if it did. */
  error?: string;
  startS?: number;
  /** Instances registered when the start gave up (a timeout, or an instance whose every create failed), and after how long. */
  startedBeforeFailure?: number;
  startFailedAfterS?: number;
  /** Instance creates that failed and were tried again, and why the first did. */
  startRetries?: number;
  firstRetryReason?: string;
  redisCpuPct?: number;
  commandsPerS?: number;
  topCommands?: string;
  /** Error replies per second in the window, by prefix. */
  errorReplies?: string;
  outputBytesPerS?: number;
  clientsCpuPct?: number;
  hostProcesses?: number;
  rssKbPerInstance?: number;
  joins?: Latencies;
  leaves?: Latencies;
}

/** INFO's `field:value` lines as a map. */
function infoFields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** Bytes Redis writes for a bulk reply of `text` (RESP2 `$len\r\n...\r\n`; RESP3's verbatim adds 4). */
const replyBytes = (text: string) => Buffer.byteLength(text) + String(Buffer.byteLength(text)).length + 5;

interface RedisSample {
  t: number;
  cpuS: number;
  outputBytes: number;
  /** Calls per command (INFO commandstats), the bench's own INFO calls left out. */
  calls: Map<string, number>;
  /** Error replies so far by prefix (INFO errorstats: NOSCRIPT, WRONGTYPE, ...). */
  errors: Map<string, number>;
  /** Bytes of this sample's own INFO replies, which the next sample's output counter includes. */
  ownReplyBytes: number;
}

async function sampleRedis(redis: RedisClient, pid: number): Promise<RedisSample> {
  // Output first: this sample's replies are counted by the next sample's counter, not this one's.
  const stats = await redis.info('stats');
  const t = wallMs();
  const cpuS = cpuSeconds(pid);
  const commandstats = await redis.info('commandstats');
  const errorstats = await redis.info('errorstats');
  const calls = new Map<string, number>();
  for (const [k, v] of infoFields(commandstats)) {
    const name = k.replace(/^cmdstat_/, '');
    if (k.startsWith('cmdstat_') && name !== 'info') calls.set(name, Number(/calls=(\d+)/.exec(v)?.[1] ?? 0));
  }
  const errors = new Map<string, number>();
  for (const [k, v] of infoFields(errorstats)) if (k.startsWith('errorstat_')) errors.set(k.replace(/^errorstat_/, ''), Number(/count=(\d+)/.exec(v)?.[1] ?? 0));
  const ownReplyBytes = replyBytes(stats) + replyBytes(commandstats) + replyBytes(errorstats);
  return { t, cpuS, outputBytes: Number(infoFields(stats).get('total_net_output_bytes')), calls, errors, ownReplyBytes };
}

/** Waits for `pending` (keys) to be reported by every one of `routers` as `event`; resolves key → latest report time. */
function awaitAll(routers: Child[], event: 'seen' | 'gone', keys: string[], timeoutMs: number, counts: { byEvent: number; observations: number }): Promise<Map<string, number>> {
  const reports = new Map<string, Map<number, number>>(keys.map((k) => [k, new Map()]));
  const done = new Map<string, number>();
  return new Promise((resolve) => {
    const offs: (() => void)[] = [];
    const finish = () => {
      clearTimeout(timer);
      for (const off of offs) off();
      resolve(done);
    };
    const timer = setTimeout(finish, timeoutMs);
    routers.forEach((r, ri) =>
      offs.push(
        r.onEvent((m) => {
          const seen = reports.get(String(m.key));
          if (m.event !== event || !seen || seen.has(ri)) return;
          seen.set(ri, Number(m.t));
          counts.observations++;
          if (m.via === 'event') counts.byEvent++;
          if (seen.size === routers.length) {
            done.set(String(m.key), Math.max(...seen.values()));
            if (done.size === keys.length) finish();
          }
        }),
      ),
    );
  });
}

const watchAll = (routers: Child[], key: string, svc: string, id: string) => Promise.all(routers.map((r) => r.call('watch', { key, svc, id })));
const unwatchAll = (routers: Child[], key: string) => Promise.all(routers.map((r) => r.call('unwatch', { key })));

/** Times `JOINS` joins, one at a time, each a new instance in one joiner process. */
async function timeJoins(impl: Impl, url: string, routers: Child[], children: Child[]): Promise<Latencies> {
  const joiner = new Child(`${impl} joiner`, HOST, [impl, url]);
  children.push(joiner);
  await joiner.ready();
  const lat: Latencies = { ms: [], missed: 0, byEvent: 0, observations: 0 };
  let missedInARow = 0;
  for (let j = 0; j < JOINS && missedInARow < MAX_MISSED_JOINS; j++) {
    const svc = SERVICES[j % SERVICES.length]!;
    const { id } = await joiner.call<{ id: string }>('prepare', { svc, port: 40_000 + j });
    const key = `join-${j}`;
    await watchAll(routers, key, svc, id);
    const seen = awaitAll(routers, 'seen', [key], OBSERVE_TIMEOUT_MS, lat);
    const { t0 } = await joiner.call<{ t0: number }>('register', { id });
    const t = (await seen).get(key);
    await unwatchAll(routers, key);
    if (t === undefined) {
      lat.missed++;
      missedInARow++;
    } else {
      lat.ms.push(t - t0);
      missedInARow = 0;
    }
  }
  lat.missed += JOINS - lat.ms.length - lat.missed; // joins not tried after repeated misses
  return lat;
}

/** Times `KILLS` SIGKILLs: one instance per process, all seen by the routers, then all killed together. */
async function timeKills(impl: Impl, url: string, routers: Child[], children: Child[]): Promise<Latencies> {
  const victims = Array.from({ length: KILLS }, (_, k) => new Child(`${impl} victim ${k}`, HOST, [impl, url]));
  children.push(...victims);
  await Promise.all(victims.map((v) => v.ready()));
  const keys = victims.map((_, k) => `kill-${k}`);
  const lat: Latencies = { ms: [], missed: 0, byEvent: 0, observations: 0 };
  const joined = { byEvent: 0, observations: 0 };
  const ids = await Promise.all(victims.map((v, k) => v.call<{ id: string }>('prepare', { svc: SERVICES[k % SERVICES.length], port: 41_000 + k })));
  await Promise.all(keys.map((key, k) => watchAll(routers, key, SERVICES[k % SERVICES.length]!, ids[k]!.id)));
  const seen = awaitAll(routers, 'seen', keys, OBSERVE_TIMEOUT_MS, joined);
  await Promise.all(victims.map((v, k) => v.call('register', { id: ids[k]!.id })));
  const visible = await seen;
  const live = keys.filter((k) => visible.has(k));
  const gone = awaitAll(routers, 'gone', live, PRESENCE_TTL_S * 1000 + OBSERVE_TIMEOUT_MS, lat);
  const killedAt = new Map<string, number>();
  for (const key of live) {
    killedAt.set(key, wallMs());
    victims[keys.indexOf(key)]!.process.kill('SIGKILL');
  }
  const left = await gone;
  for (const key of live) {
    const t = left.get(key);
    if (t === undefined) lat.missed++;
    else lat.ms.push(t - killedAt.get(key)!);
  }
  lat.missed += keys.length - live.length; // never seen, so never timed
  await Promise.all(keys.map((key) => unwatchAll(routers, key)));
  return lat;
}

/** The children running host.ts (N instances' hosts, the joiner, the victims). */
const hostsOf = (children: Child[]) => children.filter((c) => c.script === HOST);

/** One implementation at one N, on a redis-server of its own; every process it starts is killed before it returns. */
async function run(impl: Impl, n: number): Promise<Result> {
  const result: Result = { impl, n };
  const children: Child[] = [];
  const server = await startRedisServer(['--maxclients', '20000']);
  let redis: RedisClient | undefined;
  try {
    redis = await connectRedis({ url: server.url }, quiet, 'bench');
    const hostCount = Math.ceil(n / PER_PROCESS);
    const hosts = Array.from({ length: hostCount }, (_, h) => new Child(`${impl} host ${h}`, HOST, [impl, server.url], ['--expose-gc', ...HOST_NODE_ARGS]));
    children.push(...hosts);
    result.hostProcesses = hostCount;
    await Promise.all(hosts.map((h) => h.ready()));
    const rss = async () => {
      await Promise.all(hosts.map((h) => h.call('gc')));
      return hosts.reduce((s, h) => s + rssMb(h.pid), 0);
    };

    const started = new Array<number>(hostCount).fill(0);
    const retries = new Array<number>(hostCount).fill(0);
    hosts.forEach((h, i) =>
      h.onEvent((m) => {
        if (m.event !== 'progress') return;
        started[i] = Number(m.started);
        retries[i] = Number(m.retries);
        if (typeof m.firstRetryReason === 'string') result.firstRetryReason ??= m.firstRetryReason;
      }),
    );
    const rss0 = await rss();
    const t0 = wallMs();
    let offset = 0;
    const starting = hosts.map((h, i) => {
      const count = Math.floor(n / hostCount) + (i < n % hostCount ? 1 : 0);
      const args = { services: SERVICES, count, offset, basePort: 10_000 + offset, concurrency: CONCURRENCY, createAttempts: CREATE_ATTEMPTS };
      offset += count;
      return h.call('start', args, START_TIMEOUT_S * 1000);
    });
    try {
      await Promise.all(starting);
    } catch (err) {
      result.startedBeforeFailure = started.reduce((a, b) => a + b, 0);
      result.startFailedAfterS = (wallMs() - t0) / 1000;
      throw err;
    } finally {
      result.startRetries = retries.reduce((a, b) => a + b, 0);
    }
    result.startS = (wallMs() - t0) / 1000;
    log(`${LABEL[impl]} N=${n}: started in ${result.startS.toFixed(1)} s on ${hostCount} host process(es); settling ${SETTLE_S} s`);
    await sleep(SETTLE_S * 1000);

    const cpu = () => hosts.reduce((s, h) => s + cpuSeconds(h.pid), 0);
    const r0 = await sampleRedis(redis, server.child.pid!);
    const c0 = cpu();
    await sleep(WINDOW_S * 1000);
    const c1 = cpu();
    const r1 = await sampleRedis(redis, server.child.pid!);
    const secs = (r1.t - r0.t) / 1000;
    result.redisCpuPct = ((r1.cpuS - r0.cpuS) / secs) * 100;
    result.clientsCpuPct = ((c1 - c0) / secs) * 100;
    result.outputBytesPerS = (r1.outputBytes - r0.outputBytes - r0.ownReplyBytes) / secs;
    const perCommand = [...r1.calls].map(([name, calls]) => [name, (calls - (r0.calls.get(name) ?? 0)) / secs] as const).filter(([, rate]) => rate > 0);
    result.commandsPerS = perCommand.reduce((s, [, rate]) => s + rate, 0);
    result.topCommands = perCommand.sort((a, b) => b[1] - a[1]).slice(0, 4).map(([name, rate]) => `${name} ${Math.round(rate)}/s`).join(', ');
    result.errorReplies = [...r1.errors].map(([name, count]) => `${name} ${((count - (r0.errors.get(name) ?? 0)) / secs).toFixed(1)}/s`).filter((e) => !e.endsWith(' 0.0/s')).join(', ');
    result.rssKbPerInstance = (((await rss()) - rss0) * 1024) / n;
    log(`${LABEL[impl]} N=${n}: window done (Redis CPU ${result.redisCpuPct.toFixed(1)} %, clients ${result.clientsCpuPct.toFixed(1)} %); starting ${ROUTERS} routers`);

    const routers = Array.from({ length: ROUTERS }, (_, i) => new Child(`router ${i}`, OBSERVER, [server.url]));
    children.push(...routers);
    await Promise.all(routers.map((r) => r.ready(START_TIMEOUT_S * 1000)));
    result.joins = await timeJoins(impl, server.url, routers, children);
    result.leaves = await timeKills(impl, server.url, routers, children);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    log(`${LABEL[impl]} N=${n}: ${result.error}`);
  } finally {
    // With node flags given (a --cpu-prof), hosts exit by themselves first, so that node writes what they ask for.
    if (HOST_NODE_ARGS.length) await Promise.all(hostsOf(children).map((c) => c.exit(10_000)));
    await Promise.all(children.map((c) => c.kill()));
    if (redis) await closeRedis(redis).catch(() => undefined);
    await stop(server.child, 'SIGKILL');
  }
  return result;
}

// --- report ------------------------------------------------------------------

const UNMEASURED = 'not measured';
const fmt = (v: number | undefined, digits = 1, unit = '') => (v === undefined || !Number.isFinite(v) ? UNMEASURED : `${v.toFixed(digits)}${unit}`);

function bytes(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return UNMEASURED;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} MB`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} KB`;
  return `${v.toFixed(0)} B`;
}

/** `p50 / p99` of observed latencies, `unit` 'ms' or 's', with misses named. */
function latencyText(l: Latencies | undefined, unit: 'ms' | 's', total: number): string {
  if (!l) return UNMEASURED;
  const sorted = [...l.ms].sort((a, b) => a - b);
  const scale = unit === 's' ? 1000 : 1;
  const digits = unit === 's' ? 2 : 1;
  const shown = sorted.length ? `${(percentile(sorted, 0.5) / scale).toFixed(digits)} / ${(percentile(sorted, 0.99) / scale).toFixed(digits)} ${unit}` : UNMEASURED;
  return l.missed ? `${shown} (${l.missed} of ${total} not seen)` : shown;
}

const p99 = (l: Latencies | undefined) => (l && l.ms.length && !l.missed ? percentile([...l.ms].sort((a, b) => a - b), 0.99) : undefined);

/** The figures of one row, by column. */
function figures(r: Result): Record<string, number | undefined> {
  return {
    redisCpu: r.redisCpuPct,
    commands: r.commandsPerS,
    output: r.outputBytesPerS,
    outputPerInstance: r.outputBytesPerS === undefined ? undefined : r.outputBytesPerS / r.n,
    clientsCpu: r.clientsCpuPct,
    clientsCpuPerInstance: r.clientsCpuPct === undefined ? undefined : r.clientsCpuPct / r.n,
    rss: r.rssKbPerInstance,
    start: r.startS,
    joinP99: p99(r.joins),
    leaveP99: p99(r.leaves),
  };
}

/** What the tables' figures are; printed under them. */
const LEGEND = [
  'CPU is in % of one core; ticks of /proc are 10 ms, so over a 10 s window 0.1 % is the resolution.',
  'Memory per instance is the hosts\' RSS growth from before the first instance to after the window, / N: it includes the code the first instance loads (a few MB a process), so it means something from N=100 on.',
  'Join: registerService() called until all 3 routers list the instance; SIGKILLed: the kill until all 3 have dropped it. Hydra peers are observed by the same hydra-ts routers. Of 20 samples p99 is the slowest.',
];

const HEADER = '| N | Redis CPU | Redis cmds/s | Redis output/s | output/s per instance | clients\' CPU | clients\' CPU per instance | memory per instance | start all N | join seen by 3 routers p50 / p99 | SIGKILLed gone from 3 routers p50 / p99 |';
const RULE = '|---|---|---|---|---|---|---|---|---|---|---|';

function row(r: Result): string {
  const f = figures(r);
  const start =
    r.startS !== undefined
      ? `${r.startS.toFixed(1)} s`
      : r.startedBeforeFailure !== undefined
        ? `gave up after ${r.startFailedAfterS!.toFixed(0)} s (${r.startedBeforeFailure} of ${r.n} started)`
        : UNMEASURED;
  return `| ${r.n} | ${fmt(f.redisCpu, 1, ' %')} | ${fmt(f.commands, 0)} | ${bytes(f.output)} | ${bytes(f.outputPerInstance)} | ${fmt(f.clientsCpu, 1, ' %')} | ${fmt(f.clientsCpuPerInstance, 3, ' %')} | ${fmt(f.rss, 0, ' KB')} | ${start} | ${latencyText(r.joins, 'ms', JOINS)} | ${latencyText(r.leaves, 's', KILLS)} |`;
}

function ratioRow(ts: Result, hy: Result): string {
  const a = figures(ts);
  const b = figures(hy);
  const ratio = (k: string) => {
    const x = a[k];
    const y = b[k];
    if (x === undefined || y === undefined) return UNMEASURED;
    // A zero (CPU below the clock tick) or a negative (RSS noise at small N) makes no ratio.
    return y <= 0 || x < 0 ? 'n/a' : `${(x / y).toFixed(2)}x`;
  };
  return `| ${ts.n} | ${ratio('redisCpu')} | ${ratio('commands')} | ${ratio('output')} | ${ratio('outputPerInstance')} | ${ratio('clientsCpu')} | ${ratio('clientsCpuPerInstance')} | ${ratio('rss')} | ${ratio('start')} | p99 ${ratio('joinP99')} | p99 ${ratio('leaveP99')} |`;
}

function target(what: string, value: number | undefined, limit: number | undefined, shown: (v: number) => string): string {
  if (value === undefined || limit === undefined) return `- ${what}: not measured in this run`;
  return `- ${what}: ${value <= limit ? 'met' : 'missed'} (${shown(value)} against ${shown(limit)})`;
}

function report(results: Result[]): void {
  const at = (impl: Impl, n: number) => results.find((r) => r.impl === impl && r.n === n);
  const out: string[] = [];
  for (const impl of ['ts', 'hydra'] as const) {
    const rows = results.filter((r) => r.impl === impl);
    if (!rows.length) continue;
    out.push('', `${LABEL[impl]}:`, '', HEADER, RULE, ...rows.map(row));
  }
  const pairs = results.filter((r) => r.impl === 'ts' && at('hydra', r.n));
  if (pairs.length) out.push('', 'hydra-ts / hydra@1.9.3 at the same N (below 1 is better):', '', HEADER, RULE, ...pairs.map((r) => ratioRow(r, at('hydra', r.n)!)));

  out.push('', ...LEGEND);

  const ts10 = at('ts', 10) && figures(at('ts', 10)!);
  const ts1000 = at('ts', 1000) && figures(at('ts', 1000)!);
  const pct = (v: number) => `${v.toFixed(1)} %`;
  out.push('', 'Targets (issue 14):');
  out.push(target('hydra-ts Redis output per instance at N=1000 within 1.5x of N=10', ts1000?.outputPerInstance, ts10?.outputPerInstance === undefined ? undefined : ts10.outputPerInstance * 1.5, (v) => `${bytes(v)}/s`));
  out.push(target('hydra-ts clients\' CPU per instance at N=1000 within 1.5x of N=10', ts1000?.clientsCpuPerInstance, ts10?.clientsCpuPerInstance === undefined ? undefined : ts10.clientsCpuPerInstance * 1.5, (v) => `${v.toFixed(4)} %`));
  for (const n of [400, 1000]) {
    const ts = at('ts', n) && figures(at('ts', n)!);
    const hy = at('hydra', n) && figures(at('hydra', n)!);
    out.push(target(`Redis CPU at N=${n} no more than Hydra's`, ts?.redisCpu, hy?.redisCpu, pct));
    out.push(target(`clients' CPU at N=${n} no more than Hydra's`, ts?.clientsCpu, hy?.clientsCpu, pct));
  }
  out.push(target('a join seen by all 3 routers at N=1000, p99 under 100 ms', ts1000?.joinP99, 100, (v) => `${v.toFixed(1)} ms`));
  const leaveLimitMs = PRESENCE_TTL_S * 1000 + 500;
  for (const r of results.filter((x) => x.impl === 'ts')) {
    out.push(target(`a SIGKILLed instance gone from all 3 routers within TTL + 0.5 s at N=${r.n} (slowest of ${KILLS})`, p99(r.leaves), leaveLimitMs, (v) => `${(v / 1000).toFixed(2)} s`));
  }

  const details = (r: Result): string => {
    const observed = [r.joins, r.leaves].filter((l): l is Latencies => l !== undefined);
    const byEvent = observed.reduce((s, l) => s + l.byEvent, 0);
    const observations = observed.reduce((s, l) => s + l.observations, 0);
    return [
      r.hostProcesses && `${r.hostProcesses} host process(es)`,
      r.startRetries && `${r.startRetries} instance creates retried (the first: ${r.firstRetryReason})`,
      r.topCommands && `busiest commands ${r.topCommands}`,
      r.errorReplies && `error replies ${r.errorReplies}`,
      observations && `router observations made on a discovery event ${byEvent} of ${observations} (the rest by the ${OBSERVER_POLL_MS} ms poll)`,
      r.error && `stopped: ${r.error}`,
    ]
      .filter(Boolean)
      .join('; ');
  };
  const notes = results.map((r) => `- ${LABEL[r.impl]} N=${r.n}: ${details(r)}`);
  out.push('', 'Details:', ...notes);
  process.stdout.write(`${out.join('\n')}\n`);
}

function gitHead(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  const started = Date.now();
  const results: Result[] = [];
  const gaveUp = new Set<Impl>();
  const ns = [...new Set([...TS_NS, ...HYDRA_NS])].sort((a, b) => a - b);
  for (const n of ns) {
    for (const impl of ['ts', 'hydra'] as const) {
      if (!(impl === 'ts' ? TS_NS : HYDRA_NS).includes(n)) continue;
      if (gaveUp.has(impl)) {
        results.push({ impl, n, error: 'not run: a smaller N did not start' });
        continue;
      }
      log(`${LABEL[impl]} N=${n}: starting`);
      const r = await run(impl, n);
      if (r.startS === undefined) gaveUp.add(impl);
      results.push(r);
    }
  }
  process.stdout.write(
    `bench:scale on ${gitHead()}: ${SERVICES.length} services, settle ${SETTLE_S} s, window ${WINDOW_S} s, up to ${PER_PROCESS} instances per host process, ` +
      `${JOINS} joins, ${KILLS} kills, presence TTL ${PRESENCE_TTL_S} s; CPU in % of one core; load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end; ` +
      `${((Date.now() - started) / 60_000).toFixed(1)} min\n`,
  );
  report(results);
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
