/**
 * Messaging benchmark: hydra-ts against the published hydra@1.9.3, in one run on
 * the same Redis: a redis-server of the run's own (nothing else's traffic in its CPU
 * figure), or the database BENCH_REDIS_URL names (flushed at start).
 *
 *   node bench/dist/messaging.js          (after `npm run build`)
 *
 * Each implementation runs as two processes, a sender and a receiver service
 * (Hydra is a module singleton; hydra-ts gets the same setup so both have the
 * same cores). Both run the same loops (messaging-loops.ts) with the same
 * payload; only "send one message" and "make one request" differ. Measured:
 *   - one-way: messages per second counted at the receiver;
 *   - request/reply round trips at concurrency 1 and 64: p50, p99, throughput.
 *     hydra-ts uses core's request(); Hydra replies with sendReplyMessage and the
 *     sender correlates by rmid by hand.
 * After a warm-up, rounds alternate which implementation goes first; the table
 * shows the median of the rounds.
 *
 * Knobs (environment): BENCH_ROUNDS (5), BENCH_ONEWAY (50000), BENCH_RR1 (5000),
 * BENCH_RR64 (20000), BENCH_PAYLOAD_BYTES (128), BENCH_MAX_S per measurement (15),
 * BENCH_BATCH (100 one-way messages sent together, awaited as a group),
 * BENCH_REDIS_URL (instead of a redis-server of its own; the database is flushed),
 * BENCH_PEER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile peers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { connectRedis, closeRedis, type RedisClient } from '@hydra-ts/core';
import type { RoundTrips } from './messaging-loops.js';
import { baselineDir, otlpSink, redisServer } from './router/processes.js';
import { median, pairedRatios, percentile } from './stats.js';

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const ROUNDS = num('BENCH_ROUNDS', 5);
const ONEWAY_N = num('BENCH_ONEWAY', 50_000);
const RR1_N = num('BENCH_RR1', 5_000);
const RR64_N = num('BENCH_RR64', 20_000);
const PAYLOAD = 'x'.repeat(num('BENCH_PAYLOAD_BYTES', 128));
const MAX_MS = num('BENCH_MAX_S', 15) * 1000;
const REQUEST_TIMEOUT_MS = 5000;
const BATCH = num('BENCH_BATCH', 100);
const PEER_NODE_ARGS = (process.env.BENCH_PEER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Every peer started, so that the run ends them all, also when it fails half way. */
const allPeers: Peer[] = [];

/** One benchmark peer process, driven over stdin/stdout JSON lines. */
class Peer {
  private nextId = 1;
  private readonly answers = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(
    readonly label: string,
    script: string,
    env: Record<string, string> = {},
  ) {
    this.child = spawn(process.execPath, [...PEER_NODE_ARGS, script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    allPeers.push(this);
    this.child.stderr!.on('data', (c: Buffer) => void (this.stderr = (this.stderr + c.toString()).slice(-2000)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let a: { id: number; ok: boolean; result?: unknown; error?: string };
      try {
        a = JSON.parse(line) as typeof a;
      } catch {
        return;
      }
      const waiter = this.answers.get(a.id);
      this.answers.delete(a.id);
      if (a.ok) waiter?.resolve(a.result);
      else waiter?.reject(new Error(`${this.label}: ${a.error}`));
    });
    this.child.once('exit', (code) => {
      for (const w of this.answers.values()) w.reject(new Error(`${this.label} exited (${code}): ${this.stderr}`));
      this.answers.clear();
    });
  }

  call<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answers.delete(id);
        reject(new Error(`${this.label}: ${op} gave no answer within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.answers.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** Graceful close (bounded), then end stdin; SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    await this.call('close', {}, 3000).catch(() => undefined);
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}

interface Impl {
  name: string;
  sender: Peer;
  receiver: Peer;
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startImpl(name: string, script: string, tag: string, redisUrl: string, env: Record<string, string> = {}): Promise<Impl> {
  const receiver = new Peer(`${name} receiver`, script, env);
  const sender = new Peer(`${name} sender`, script, env);
  const recvName = `bench-${tag}-recv`;
  const sendName = `bench-${tag}-send`;
  await receiver.call('init', { serviceName: recvName, redisUrl });
  await sender.call('init', { serviceName: sendName, redisUrl, target: recvName });
  await waitUntil(`${name} peers to see each other`, async () => (await sender.call<number>('presence', { svc: recvName })) > 0 && (await receiver.call<number>('presence', { svc: sendName })) > 0);
  return { name, sender, receiver };
}

interface OneWay {
  sent: number;
  received: number;
  perSecond: number;
  /** CPU time (user + system) per message received, µs, in the sender and the receiver process. */
  senderCpuUs: number;
  receiverCpuUs: number;
  /** Redis server CPU per message received, µs (the same server serves both implementations). */
  redisCpuUs: number;
}

type Cpu = { user: number; system: number };
const cpuSpent = (a: Cpu, b: Cpu) => b.user - a.user + (b.system - a.system);

/** Redis server CPU time so far, µs (INFO cpu). */
async function redisCpu(redis: RedisClient): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

async function oneWay(impl: Impl, n: number, redis: RedisClient): Promise<OneWay> {
  const [s0, r0, d0] = await Promise.all([impl.sender.call<Cpu>('cpu'), impl.receiver.call<Cpu>('cpu'), redisCpu(redis)]);
  const t0 = performance.now();
  const counted = impl.receiver.call<{ received: number }>('expect', { n, timeoutMs: MAX_MS + 5000 });
  const { sent } = await impl.sender.call<{ sent: number }>('oneway', { n, batch: BATCH, payload: PAYLOAD, maxMs: MAX_MS });
  // The receiver stops counting at `sent` messages (or its deadline).
  const { received } = await counted;
  const secs = (performance.now() - t0) / 1000;
  const [s1, r1, d1] = await Promise.all([impl.sender.call<Cpu>('cpu'), impl.receiver.call<Cpu>('cpu'), redisCpu(redis)]);
  return {
    sent,
    received,
    perSecond: received / secs,
    senderCpuUs: cpuSpent(s0, s1) / received,
    receiverCpuUs: cpuSpent(r0, r1) / received,
    redisCpuUs: (d1 - d0) / received,
  };
}

interface RR {
  p50: number;
  p99: number;
  perSecond: number;
  completed: number;
  errors: number;
}

async function roundTrips(impl: Impl, n: number, concurrency: number): Promise<RR> {
  const r = await impl.sender.call<RoundTrips>('rr', { n, concurrency, payload: PAYLOAD, maxMs: MAX_MS, timeoutMs: REQUEST_TIMEOUT_MS });
  const sorted = [...r.latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), perSecond: r.latencies.length / (r.elapsedMs / 1000), completed: r.latencies.length, errors: r.errors };
}

interface RoundResult {
  oneWay: OneWay;
  rr1: RR;
  rr64: RR;
}

async function measure(impl: Impl, redis: RedisClient, oneWayN: number, rr1N: number, rr64N: number): Promise<RoundResult> {
  return { oneWay: await oneWay(impl, oneWayN, redis), rr1: await roundTrips(impl, rr1N, 1), rr64: await roundTrips(impl, rr64N, 64) };
}

function fmt(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

function report(results: Record<string, RoundResult[]>, ts: string, hy: string, redisUrl: string): boolean {
  const rows: Array<{ label: string; pick: (r: RoundResult) => number; digits: number; higherIsBetter: boolean }> = [
    { label: 'one-way msgs/s', pick: (r) => r.oneWay.perSecond, digits: 0, higherIsBetter: true },
    { label: 'one-way sender CPU us/msg', pick: (r) => r.oneWay.senderCpuUs, digits: 1, higherIsBetter: false },
    { label: 'one-way recv CPU us/msg', pick: (r) => r.oneWay.receiverCpuUs, digits: 1, higherIsBetter: false },
    { label: 'one-way Redis CPU us/msg', pick: (r) => r.oneWay.redisCpuUs, digits: 1, higherIsBetter: false },
    { label: 'req/reply c=1 p50 ms', pick: (r) => r.rr1.p50, digits: 3, higherIsBetter: false },
    { label: 'req/reply c=1 p99 ms', pick: (r) => r.rr1.p99, digits: 3, higherIsBetter: false },
    { label: 'req/reply c=1 req/s', pick: (r) => r.rr1.perSecond, digits: 0, higherIsBetter: true },
    { label: 'req/reply c=64 p50 ms', pick: (r) => r.rr64.p50, digits: 3, higherIsBetter: false },
    { label: 'req/reply c=64 p99 ms', pick: (r) => r.rr64.p99, digits: 3, higherIsBetter: false },
    { label: 'req/reply c=64 req/s', pick: (r) => r.rr64.perSecond, digits: 0, higherIsBetter: true },
  ];
  const w = [26, 14, 14, 20];
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  console.log(`\nmedian of ${ROUNDS} rounds; payload ${PAYLOAD.length} B; Redis ${redisUrl}`);
  console.log(line(['metric', ts, hy, 'hydra-ts advantage']));
  console.log(line(w.map((n) => '-'.repeat(n))));
  const medians: Record<string, number> = {};
  for (const row of rows) {
    const a = median(results[ts]!.map(row.pick));
    const b = median(results[hy]!.map(row.pick));
    medians[row.label] = a;
    const ratio = row.higherIsBetter ? a / b : b / a;
    medians[`${row.label} ratio`] = ratio;
    console.log(line([row.label, fmt(a, row.digits), fmt(b, row.digits), `${fmt(ratio, 2)}x`]));
  }
  const lost = (name: string) => results[name]!.reduce((n, r) => n + (r.oneWay.sent - r.oneWay.received), 0);
  const errors = (name: string) => results[name]!.reduce((n, r) => n + r.rr1.errors + r.rr64.errors, 0);
  console.log(`\none-way messages not received: ${ts} ${lost(ts)}, ${hy} ${lost(hy)}; request timeouts: ${ts} ${errors(ts)}, ${hy} ${errors(hy)}`);
  const oneWayOk = medians['one-way msgs/s ratio']! >= 2;
  const p50Ok = medians['req/reply c=1 p50 ms']! <= 0.5;
  console.log(`target one-way >= 2x Hydra: ${oneWayOk ? 'met' : 'MISSED'} (${fmt(medians['one-way msgs/s ratio']!, 2)}x)`);
  console.log(`target request/reply p50 <= 0.5 ms at c=1: ${p50Ok ? 'met' : 'MISSED'} (${fmt(medians['req/reply c=1 p50 ms']!, 3)} ms)`);
  return oneWayOk && p50Ok;
}

/** CPU per message with tracing off (against the baseline checkout's, when given) and on. */
function tracingCost(results: Record<string, RoundResult[]>, off: string, on: string, base: string | undefined): void {
  const cpu = (name: string, pick: (r: RoundResult) => number) => median(results[name]!.map(pick));
  const sender = (r: RoundResult) => r.oneWay.senderCpuUs;
  const receiver = (r: RoundResult) => r.oneWay.receiverCpuUs;
  console.log('\ntracing cost, one-way CPU per message (median of rounds):');
  const row = (name: string, note: string) => console.log(`  ${name.padEnd(10)} sender ${fmt(cpu(name, sender), 2).padStart(6)} us  receiver ${fmt(cpu(name, receiver), 2).padStart(6)} us  ${note}`);
  if (base) row(base, `the peers of ${baselineDir()}`);
  row(off, 'tracing off (no SDK)');
  row(on, `tracing on: ${fmt(cpu(on, sender) / cpu(off, sender), 2)}x sender, ${fmt(cpu(on, receiver) / cpu(off, receiver), 2)}x receiver`);
  if (!base) return;
  const ratio = (cpu(off, sender) + cpu(off, receiver)) / (cpu(base, sender) + cpu(base, receiver));
  const both = (name: string) => results[name]!.map((r) => sender(r) + receiver(r));
  const paired = pairedRatios(both(off), both(base));
  console.log(`  tracing off: sender + receiver CPU ${fmt(ratio, 3)}x the baseline's (target <= 1.03: ${ratio <= 1.03 ? 'met' : 'MISSED'}); round by round ${fmt(paired.median, 3)}x, from ${fmt(paired.min, 2)}x to ${fmt(paired.max, 2)}x`);
}

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const redisUrl = process.env.BENCH_REDIS_URL ?? (await redisServer());
  const redis = await connectRedis({ url: redisUrl }, logger, 'bench');
  await redis.flushDb();

  const TS = 'hydra-ts';
  const HY = 'hydra@1.9.3';
  const TRACED = 'ts traced';
  const BASE = 'ts base';
  const impls: Impl[] = [];
  // Tracing on: the peers start the Node SDK (OTEL_EXPORTER_OTLP_ENDPOINT), every message sampled, exported to a sink here.
  const sink = await otlpSink();
  const base = baselineDir();
  try {
    impls.push(await startImpl(TS, join(__dirname, 'messaging-ts-peer.js'), 'ts', redisUrl));
    impls.push(await startImpl(HY, join(__dirname, '..', 'messaging-hydra-peer.js'), 'hydra', redisUrl));
    impls.push(await startImpl(TRACED, join(__dirname, 'messaging-ts-peer.js'), 'tst', redisUrl, { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on' }));
    if (base) impls.push(await startImpl(BASE, join(base, 'bench', 'dist', 'messaging-ts-peer.js'), 'tsb', redisUrl));
    for (const impl of impls) {
      process.stdout.write(`warm-up ${impl.name}... `);
      await measure(impl, redis, Math.min(2000, ONEWAY_N), Math.min(500, RR1_N), Math.min(2000, RR64_N));
      console.log('done');
    }
    const results: Record<string, RoundResult[]> = Object.fromEntries(impls.map((i) => [i.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first so drift in the machine's state hits both alike.
      const order = round % 2 === 0 ? impls : [...impls].reverse();
      for (const impl of order) {
        const r = await measure(impl, redis, ONEWAY_N, RR1_N, RR64_N);
        results[impl.name]!.push(r);
        console.log(
          `round ${round + 1} ${impl.name.padEnd(12)} one-way ${fmt(r.oneWay.perSecond, 0)}/s (${r.oneWay.received}/${r.oneWay.sent}, cpu us/msg sender ${fmt(r.oneWay.senderCpuUs, 1)} receiver ${fmt(r.oneWay.receiverCpuUs, 1)} redis ${fmt(r.oneWay.redisCpuUs, 1)}); ` +
            `c=1 p50 ${fmt(r.rr1.p50, 3)} p99 ${fmt(r.rr1.p99, 3)} ms ${fmt(r.rr1.perSecond, 0)}/s; ` +
            `c=64 p50 ${fmt(r.rr64.p50, 3)} p99 ${fmt(r.rr64.p99, 3)} ms ${fmt(r.rr64.perSecond, 0)}/s`,
        );
      }
    }
    report(results, TS, HY, redisUrl);
    tracingCost(results, TS, TRACED, base ? BASE : undefined);
    console.log(`OTLP exports received from the traced peers: ${sink.exports()}`);
  } finally {
    sink.close();
    await Promise.all(allPeers.map((p) => p.stop()));
    await closeRedis(redis);
  }
}

// Exits either way: the redis-server it started goes with it (processes.ts kills it at exit).
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench/messaging: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
