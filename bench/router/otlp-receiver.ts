/**
 * bench:router-otlp: what the routers' OTLP/JSON receiver (the dashboard's recent
 * traces, POST /v1/router/otlp/v1/traces) costs, and how that grows with the spans
 * in an export and with the routers that share them. Every router keeps every span
 * (the receiving one publishes them on Redis), so the routers' total CPU should
 * grow with their number and stay flat per span as exports grow.
 *
 * For each routers count R and spans-per-export S: R router bins on a redis-server
 * of the run's own, exports posted round robin to them (as a balancer would) until
 * BENCH_OTLP_TOTAL spans were sent, BENCH_OTLP_CONCURRENCY at a time; then the
 * routers' CPU (/proc, utime + stime) and Redis's per span, the exports' latency,
 * the traces each router lists (bounded at 50) and the routers' RSS. The baseline,
 * in the same run and with bodies made alike: json-sink.ts, node:http reading and
 * JSON.parse-ing each body, nothing else.
 *
 * Knobs: BENCH_OTLP_SPANS (10,100,1000), BENCH_OTLP_ROUTERS (1,3),
 * BENCH_OTLP_TOTAL (50000 spans a measurement), BENCH_OTLP_CONCURRENCY (4),
 * BENCH_OTLP_MAX_S (60: a measurement stops there even if not all was sent).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { cpuSeconds, rssMb, start, startRedisServer, startRouter, stop } from './processes.js';
import { median, percentile } from '../stats.js';

const list = (name: string, fallback: number[]) => process.env[name]?.split(',').filter(Boolean).map(Number) ?? fallback;
const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SPANS = list('BENCH_OTLP_SPANS', [10, 100, 1000]);
const ROUTERS = list('BENCH_OTLP_ROUTERS', [1, 3]);
const TOTAL = num('BENCH_OTLP_TOTAL', 50_000);
const CONCURRENCY = num('BENCH_OTLP_CONCURRENCY', 4);
const MAX_MS = num('BENCH_OTLP_MAX_S', 60) * 1000;
/** Spans of one trace in an export, as a request through a few services makes. */
const SPANS_PER_TRACE = 10;
const RECEIVER_PATH = '/v1/router/otlp/v1/traces';
/** After the last export: time for the other routers to take what was published. */
const SETTLE_MS = 500;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** An OTLP/JSON export of `spans` spans, as the Node SDK writes one (http/json). */
function exportBody(spans: number): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  const out: unknown[] = [];
  let traceId = hex(16);
  let parent: string | undefined;
  for (let i = 0; i < spans; i++) {
    if (i % SPANS_PER_TRACE === 0) {
      traceId = hex(16);
      parent = undefined;
    }
    const spanId = hex(8);
    out.push({
      traceId, spanId, parentSpanId: parent, name: `GET /v1/bench/${i % 5}`, kind: 2,
      startTimeUnixNano: String(now + BigInt(i) * 1000n), endTimeUnixNano: String(now + BigInt(i) * 1000n + 250_000n),
      attributes: [
        { key: 'hydra.service', value: { stringValue: `bench-svc-${i % 3}` } },
        { key: 'hydra.instance.id', value: { stringValue: 'a'.repeat(32) } },
        { key: 'http.request.method', value: { stringValue: 'GET' } },
        { key: 'http.response.status_code', value: { intValue: 200 } },
      ],
      status: { code: 0 },
    });
    parent ??= spanId;
  }
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'bench-svc' } }] }, scopeSpans: [{ scope: { name: 'bench' }, spans: out }] }] });
}

interface Measured {
  spansSent: number;
  usPerSpan: number;
  redisUsPerSpan: number;
  p50: number;
  p99: number;
  failed: number;
}

/** Posts exports of `spans` spans round robin to `ports` until TOTAL spans went (or MAX_MS passed); CPU of `pids` (and Redis, when given) per span. */
async function measure(ports: number[], pids: number[], spans: number, redisPid?: number): Promise<Measured> {
  const pools = ports.map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: CONCURRENCY }));
  const exports = Math.ceil(TOTAL / spans);
  // Bodies made before the clock starts: the sender's CPU is not what is measured.
  const bodies = Array.from({ length: Math.min(exports, 50) }, () => exportBody(spans));
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const deadline = Date.now() + MAX_MS;
  const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const redis0 = redisPid === undefined ? 0 : cpuSeconds(redisPid);
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < exports && Date.now() < deadline) {
      const n = next++;
      const t = performance.now();
      const res = await pools[n % pools.length]!.request({ path: RECEIVER_PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[n % bodies.length]! });
      await res.body.dump();
      latencies.push(performance.now() - t);
      if (res.statusCode !== 200) failed++;
    }
  }));
  await sleep(SETTLE_MS);
  const cpu1 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const redis1 = redisPid === undefined ? 0 : cpuSeconds(redisPid);
  await Promise.all(pools.map((p) => p.close()));
  const sent = latencies.length * spans;
  latencies.sort((a, b) => a - b);
  return {
    spansSent: sent,
    usPerSpan: ((cpu1 - cpu0) * 1e6) / sent,
    redisUsPerSpan: ((redis1 - redis0) * 1e6) / sent,
    p50: median(latencies),
    p99: percentile(latencies, 0.99),
    failed,
  };
}

/** How many traces a router lists (the store keeps at most 50). */
async function tracesListed(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/router/traces`);
  const body = (await res.json()) as { result: unknown[] };
  return body.result.length;
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

async function main(): Promise<void> {
  console.log(`bench:router-otlp: ${TOTAL} spans a measurement, ${CONCURRENCY} exports at a time, ${SPANS_PER_TRACE} spans a trace; CPU from /proc (10 ms ticks)`);
  const sink = await start([join(__dirname, 'json-sink.js')], {}, (j) => j.ready === true);
  const sinkPort = sink.line.port as number;
  // The floor per spans-per-export: the sink alone, before any router runs.
  const floor = new Map<number, number>();
  for (const spans of SPANS) floor.set(spans, (await measure([sinkPort], [sink.child.pid!], spans)).usPerSpan);
  await stop(sink.child);
  const rows: string[] = [];
  const perSpan = new Map<string, number>();
  for (const routers of ROUTERS) {
    const redis = await startRedisServer();
    const started = await Promise.all(Array.from({ length: routers }, () => startRouter(redis.url)));
    const pids = started.map((r) => r.child.pid!);
    for (const spans of SPANS) {
      const m = await measure(started.map((r) => r.port), pids, spans, redis.child.pid!);
      perSpan.set(`${routers} ${spans}`, m.usPerSpan);
      const kept = await Promise.all(started.map((r) => tracesListed(r.port)));
      const rss = started.map((r) => rssMb(r.child.pid!));
      const sinkUs = floor.get(spans)!;
      rows.push(`| ${spans} | ${routers} | ${m.spansSent} | ${fmt(m.usPerSpan, 2)} | ${fmt(m.usPerSpan / routers, 2)} | ${fmt(m.redisUsPerSpan, 2)} | ${fmt(sinkUs, 2)} | ${fmt(m.usPerSpan / routers / sinkUs, 2)}x | ${fmt(m.p50, 2)} / ${fmt(m.p99, 2)} | ${m.failed} | ${kept.join(', ')} | ${rss.map((x) => fmt(x, 0)).join(', ')} |`);
      console.log(`  R=${routers} S=${spans}: ${fmt(m.usPerSpan, 2)} us/span for all routers, ${m.failed} failed`);
    }
    await Promise.all(started.map((r) => stop(r.child)));
    await stop(redis.child);
  }

  console.log('\n| spans per export | routers | spans sent | routers\' CPU per span (all) | per router | Redis CPU per span | baseline (JSON.parse in node:http) per span | per router / baseline | export p50 / p99 ms | failed | traces listed per router | RSS per router MB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  // How the cost grows: with the spans in an export (per span: flat is linear), and with the routers (per router: flat is each router doing its own share).
  const [small, large] = [SPANS[0]!, SPANS[SPANS.length - 1]!];
  const [one, many] = [ROUTERS[0]!, ROUTERS[ROUTERS.length - 1]!];
  console.log(`\nper span, ${large} against ${small} spans an export (1 router): ${fmt(perSpan.get(`${one} ${large}`)! / perSpan.get(`${one} ${small}`)!, 2)}x`);
  if (many !== one) console.log(`per router, ${many} routers against ${one} (${large} spans an export): ${fmt(perSpan.get(`${many} ${large}`)! / many / perSpan.get(`${one} ${large}`)!, 2)}x`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
