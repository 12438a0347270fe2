/**
 * Router benchmark (`npm run bench:router`): one minimal registered backend, then
 * wrk (50 connections, BENCH_SECONDS each, BENCH_ROUNDS rounds, alternating)
 * straight to the backend, through nginx proxy_pass with upstream keepalive (1
 * worker), through a minimal Node proxy (minimal-proxy.ts: node:http and one
 * undici Pool, nothing else: what Node's HTTP stack costs on this machine) and
 * through hydra-router (as its bin runs it; with the access log; with
 * "workers": 2; and, when the bin sets node flags, without them). Access logs
 * are off everywhere else.
 *
 * Per target it prints req/s, p50, p99, the proxy's own CPU time per request
 * (utime + stime from /proc around each wrk run, its whole process tree: nginx's
 * master and worker, the router's primary and workers; divided by the requests
 * wrk completed), the backend's CPU per request, and the proxy's peak RSS under
 * the load; then the router's ratios to the minimal proxy and to nginx. CPU per
 * request moves much less than req/s when the machine is shared. Then the time
 * from an instance's registration to its first routed request, and failed
 * requests when an instance is SIGKILLed under load. Runs its own redis-server
 * (loopback, a free port, nothing on disk). Needs Debian's wrk and nginx
 * (apt-get install -y wrk nginx).
 *
 * BENCH_SECONDS, BENCH_ROUNDS: length of a wrk run, number of rounds.
 * BENCH_ONLY=throughput: skip the registration and SIGKILL measurements.
 * BENCH_ALT_FLAGS='<node flags>': one more router target ("router alt") run with
 * these node flags instead of the bin's, to weigh a change of them in the same alternation.
 * BENCH_CPU_PROF=<dir>: the first router runs with `--cpu-prof` and writes its
 * profile (.cpuprofile, for Chrome DevTools) into <dir> when it stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { connectRedis, closeRedis } from '@hydra-ts/core';
import { median, pairedRatios } from '../stats.js';
import {
  BENCH_PATH as PATH, baselineDir, binNodeFlags, cpuSeconds, freePort, otlpSink, quiet, redisServer, rssMb, start, startBackend, startRouter, stop, track, work, type RouterRun,
} from './processes.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
const MINIMAL_PROXY = join(__dirname, 'minimal-proxy.js');
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
/** The issue's bounds: the router's CPU per request against the minimal proxy's, its memory under this load. */
const CPU_RATIO_TARGET = 1.15;
const RSS_TARGET_MB = 150;

// --- processes -----------------------------------------------------------------

let configs = 0;

/** The router bin with `settings` as its config file. */
function router(redisUrl: string, settings: Record<string, unknown>, nodeFlags?: string[], run?: RouterRun): Promise<{ child: ChildProcess; port: number }> {
  const config = join(work, `router-${++configs}.json`);
  writeFileSync(config, JSON.stringify(settings));
  return startRouter(redisUrl, config, nodeFlags, run);
}

function waitPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** nginx, one worker, proxy_pass with upstream keepalive; config and temp files in a temp dir. */
async function startNginx(backendPort: number): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const prefix = mkdtempSync(join(work, 'nginx-'));
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, `worker_processes 1;
error_log ${prefix}/error.log warn;
pid ${prefix}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`);
  const child = track(spawn('/usr/sbin/nginx', ['-p', prefix, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] }));
  await waitPort(port);
  return { child, port };
}

// --- measuring -------------------------------------------------------------------

interface WrkResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

function runWrk(port: number, seconds = SECONDS): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = track(spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}${PATH}`], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk failed (${code}): ${out}`));
      const requests = Number(/(\d+) requests in /.exec(out)?.[1]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const lat = (pct: string) => {
        const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(out);
        return m ? toMs(m[1]!, m[2]!) : NaN;
      };
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
      resolve({ requests, rps, p50: lat('50'), p99: lat('99'), errors });
    });
  });
}

interface Measured extends WrkResult {
  /** The proxy's CPU time per completed request, µs (NaN for the direct target). */
  proxyUs: number;
  backendUs: number;
  /** The proxy's peak resident memory during the run, MB (sampled every 100 ms). */
  peakMb: number;
}

/** One wrk run against `port`, with the CPU time of `proxyPid`'s tree and of the backend around it. */
async function measure(port: number, proxyPid: number | undefined, backendPid: number): Promise<Measured> {
  let peakMb = 0;
  const sample = () => {
    if (proxyPid) peakMb = Math.max(peakMb, rssMb(proxyPid));
  };
  const timer = setInterval(sample, 100);
  const proxyBefore = proxyPid ? cpuSeconds(proxyPid) : 0;
  const backendBefore = cpuSeconds(backendPid);
  try {
    const r = await runWrk(port);
    const perRequestUs = (s: number) => (s / r.requests) * 1e6;
    sample();
    return {
      ...r,
      proxyUs: proxyPid ? perRequestUs(cpuSeconds(proxyPid) - proxyBefore) : NaN,
      backendUs: perRequestUs(cpuSeconds(backendPid) - backendBefore),
      peakMb,
    };
  } finally {
    clearInterval(timer);
  }
}

const fmt = (n: number, d = 1) => (Number.isNaN(n) ? '-' : n.toFixed(d));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function flush(redisUrl: string): Promise<void> {
  const redis = await connectRedis({ url: redisUrl }, quiet, 'bench');
  await redis.flushDb();
  await closeRedis(redis);
}

/** Until `until`: `concurrency` loops of GETs through `pool`; records when each failure happened. */
async function loadWithFailures(pool: Pool, concurrency: number, until: number, onServed?: (instance: string, at: number) => void): Promise<{ total: number; failures: number[] }> {
  let total = 0;
  const failures: number[] = [];
  const loop = async () => {
    while (Date.now() < until) {
      total++;
      try {
        const res = await pool.request({ path: PATH, method: 'GET' });
        const text = await res.body.text();
        if (res.statusCode !== 200) failures.push(Date.now());
        else if (onServed) onServed((JSON.parse(text) as { instance: string }).instance, Date.now());
      } catch {
        failures.push(Date.now());
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { total, failures };
}

// --- the benchmark ----------------------------------------------------------------

interface Target {
  name: string;
  port: number;
  /** The proxy's process (its tree is measured); none for the direct target. */
  pid?: number;
  note?: string;
}

async function throughput(redisUrl: string): Promise<void> {
  const backend = await startBackend(redisUrl, 'bench-svc');
  const backendPort = backend.line.port as number;
  const backendPid = backend.child.pid!;
  const profile = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [];
  const binFlags = binNodeFlags();
  const routed = await router(redisUrl, { accessLog: false }, [...binFlags, ...profile]);
  const minimal = await start([MINIMAL_PROXY], { MINIMAL_BACKEND: `http://127.0.0.1:${backendPort}` }, (j) => j.ready === true);
  const logging = await router(redisUrl, { accessLog: true });
  const workers = await router(redisUrl, { accessLog: false, workers: 2 });
  // When the bin sets node flags (memory for CPU), the other side of the trade in the same alternation.
  const plain = binFlags.length ? await router(redisUrl, { accessLog: false }, []) : undefined;
  const alt = process.env.BENCH_ALT_FLAGS ? await router(redisUrl, { accessLog: false }, process.env.BENCH_ALT_FLAGS.split(/\s+/).filter(Boolean)) : undefined;
  // Tracing on: the bin's own SDK (OTEL_EXPORTER_OTLP_ENDPOINT), every request sampled, exported to a sink here.
  const sink = await otlpSink();
  const traced = await router(redisUrl, { accessLog: false }, [...binFlags], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on' } });
  const base = baselineDir();
  const baseline = base ? await router(redisUrl, { accessLog: false }, [...binFlags], { bin: join(base, 'packages', 'router', 'bin', 'hydra-router.js') }) : undefined;
  const nginx = await startNginx(backendPort);
  const targets: Target[] = [
    { name: 'direct', port: backendPort },
    { name: 'nginx', port: nginx.port, pid: nginx.child.pid, note: 'master + 1 worker' },
    { name: 'minimal', port: minimal.line.port as number, pid: minimal.child.pid },
    { name: 'router', port: routed.port, pid: routed.child.pid, note: binFlags.length ? `bin: node ${binFlags.join(' ')}` : 'bin: node without flags' },
    { name: 'router+log', port: logging.port, pid: logging.child.pid, note: 'access log on' },
    { name: 'router x2', port: workers.port, pid: workers.child.pid, note: 'primary + 2 workers' },
  ];
  targets.push({ name: 'router traced', port: traced.port, pid: traced.child.pid, note: 'OTLP to a local sink, 100% sampled' });
  if (baseline) targets.push({ name: 'router base', port: baseline.port, pid: baseline.child.pid, note: `the router of ${base}` });
  if (plain) targets.push({ name: 'router -flags', port: plain.port, pid: plain.child.pid, note: 'node without the bin\'s flags' });
  if (alt) targets.push({ name: 'router alt', port: alt.port, pid: alt.child.pid, note: `node ${process.env.BENCH_ALT_FLAGS}` });
  const results = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
  console.log(`wrk -t1 -c${CONNECTIONS} -d${SECONDS}s GET ${PATH}, ${ROUNDS} rounds alternating (first a 1 s warm-up each); load average ${load()}`);
  console.log('CPU: the proxy\'s own utime + stime (/proc, whole process tree) per request completed; the backend\'s beside it');
  for (const t of targets) await runWrk(t.port, 1);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      const m = await measure(t.port, t.pid, backendPid);
      results.get(t.name)!.push(m);
      console.log(`  round ${round} ${t.name.padEnd(13)} ${fmt(m.rps, 0).padStart(8)} req/s  p50 ${fmt(m.p50, 2)} ms  p99 ${fmt(m.p99, 2)} ms  CPU ${fmt(m.proxyUs).padStart(5)} us/req (backend ${fmt(m.backendUs)})  errors ${m.errors}`);
    }
  }
  const summary = (name: string) => {
    const rs = results.get(name)!;
    const med = (f: (m: Measured) => number) => median(rs.map(f));
    return {
      rps: med((r) => r.rps), p50: med((r) => r.p50), p99: med((r) => r.p99), proxyUs: med((r) => r.proxyUs), backendUs: med((r) => r.backendUs),
      errors: rs.reduce((a, r) => a + r.errors, 0), peakMb: Math.max(...rs.map((r) => r.peakMb)),
    };
  };
  console.log(`\nmedian of rounds (peak RSS: the highest of the rounds); load average ${load()}:`);
  console.log(`  ${'target'.padEnd(13)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'CPU us/req'.padStart(10)} ${'backend'.padStart(7)} ${'errors'.padStart(6)} ${'peak RSS'.padStart(9)}`);
  for (const t of targets) {
    const s = summary(t.name);
    const mb = t.pid ? `${fmt(s.peakMb)} MB` : '';
    console.log(`  ${t.name.padEnd(13)} ${fmt(s.rps, 0).padStart(8)} ${fmt(s.p50, 2).padStart(7)} ${fmt(s.p99, 2).padStart(7)} ${fmt(s.proxyUs).padStart(10)} ${fmt(s.backendUs).padStart(7)} ${String(s.errors).padStart(6)} ${mb.padStart(9)}${t.note ? `  ${t.note}` : ''}`);
  }
  const n = summary('nginx');
  const m = summary('minimal');
  console.log(`  minimal/nginx: req/s ${fmt(m.rps / n.rps, 2)}x, CPU per request ${fmt(m.proxyUs / n.proxyUs, 2)}x, p99 ${fmt(m.p99 / n.p99, 2)}x`);
  for (const t of targets.filter((x) => x.name.startsWith('router'))) {
    const r = summary(t.name);
    const bound = t.name === 'router' ? ` (target <= ${CPU_RATIO_TARGET})` : '';
    const rss = t.name === 'router' ? ` (target <= ${RSS_TARGET_MB})` : '';
    console.log(`  ${t.name}: CPU per request ${fmt(r.proxyUs / m.proxyUs, 3)}x minimal${bound}, ${fmt(r.proxyUs / n.proxyUs, 2)}x nginx; req/s ${fmt(r.rps / m.rps, 2)}x minimal, ${fmt(r.rps / n.rps, 2)}x nginx; p99 ${fmt(r.p99 / m.p99, 2)}x minimal; peak RSS ${fmt(r.peakMb)} MB${rss}`);
  }
  const off = summary('router');
  if (baseline) {
    const ratio = off.proxyUs / summary('router base').proxyUs;
    const cpuOf = (name: string) => results.get(name)!.map((r) => r.proxyUs);
    const paired = pairedRatios(cpuOf('router'), cpuOf('router base'));
    console.log(`  tracing off: CPU per request ${fmt(ratio, 3)}x the baseline's (target <= 1.03: ${ratio <= 1.03 ? 'met' : 'MISSED'}); round by round ${fmt(paired.median, 3)}x, from ${fmt(paired.min, 2)}x to ${fmt(paired.max, 2)}x`);
  }
  console.log(`  tracing on (100% sampled, OTLP export): CPU per request ${fmt(summary('router traced').proxyUs, 1)} us, ${fmt(summary('router traced').proxyUs / off.proxyUs, 2)}x off; ${sink.exports()} OTLP exports received`);
  sink.close();
  await Promise.all([stop(traced.child), ...(baseline ? [stop(baseline.child)] : []), stop(nginx.child, 'SIGQUIT'), stop(minimal.child), stop(routed.child), stop(logging.child), stop(workers.child), ...(plain ? [stop(plain.child)] : []), ...(alt ? [stop(alt.child)] : []), stop(backend.child)]);
}

/** Registration of an instance → the first request the router sends it. */
async function registrationLatency(redisUrl: string): Promise<void> {
  await flush(redisUrl);
  const first = await startBackend(redisUrl, 'reg-svc');
  const routed = await router(redisUrl, { accessLog: false });
  const pool = new Pool(`http://127.0.0.1:${routed.port}`, { connections: 4 });
  const firstSeen = new Map<string, number>();
  let running = true;
  const poller = (async () => {
    while (running) {
      try {
        const res = await pool.request({ path: PATH, method: 'GET' });
        const body = (await res.body.json()) as { instance?: string };
        if (body.instance && !firstSeen.has(body.instance)) firstSeen.set(body.instance, Date.now());
      } catch {
        // counted nowhere: this loop only watches for the new instance
      }
    }
  })();
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const next = await startBackend(redisUrl, 'reg-svc');
    const id = next.line.instanceId as string;
    const deadline = Date.now() + 10_000;
    while (!firstSeen.has(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (firstSeen.has(id)) samples.push(firstSeen.get(id)! - (next.line.registeredAt as number));
    await stop(next.child);
  }
  // A service the router has never seen: from its routes being registered to the first 200 on them.
  const fresh: number[] = [];
  for (let i = 0; i < 3; i++) {
    const route = `/v1/fresh${i}/hello`;
    const svc = startBackend(redisUrl, `fresh-svc-${i}`, route);
    let okAt = 0;
    const started = performance.now();
    while (!okAt && performance.now() - started < 10_000) {
      const res = await pool.request({ path: route, method: 'GET' });
      await res.body.dump();
      if (res.statusCode === 200) okAt = Date.now();
    }
    const s = await svc;
    if (okAt) fresh.push(okAt - (s.line.routesAt as number));
    await stop(s.child);
  }
  running = false;
  await poller;
  await pool.close();
  console.log(`\nregistration → first routed request (new instance of a known service, n=${samples.length}): median ${median(samples)} ms, max ${Math.max(...samples)} ms`);
  console.log(`routes registered → first routed request (service new to the router, n=${fresh.length}): median ${median(fresh)} ms, max ${Math.max(...fresh)} ms`);
  await Promise.all([stop(routed.child), stop(first.child)]);
}

/** SIGKILL of one of two instances while 50 connections send GETs through the router. */
async function killUnderLoad(redisUrl: string): Promise<void> {
  await flush(redisUrl);
  const victim = await startBackend(redisUrl, 'kill-svc');
  const survivor = await startBackend(redisUrl, 'kill-svc');
  const routed = await router(redisUrl, { accessLog: false });
  const pool = new Pool(`http://127.0.0.1:${routed.port}`, { connections: CONNECTIONS });
  // Both instances in rotation before the load starts.
  const seen = new Set<string>();
  const warm = Date.now() + 10_000;
  while (seen.size < 2 && Date.now() < warm) {
    const res = await pool.request({ path: PATH, method: 'GET' });
    seen.add(((await res.body.json()) as { instance: string }).instance);
  }
  const servedByVictim: number[] = [];
  const until = Date.now() + 6000;
  const load = loadWithFailures(pool, CONNECTIONS, until, (instance, at) => {
    if (instance === victim.line.instanceId) servedByVictim.push(at);
  });
  await new Promise((r) => setTimeout(r, 2000));
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  const { total, failures } = await load;
  await pool.close();
  const lastFailure = failures.length ? `${Math.max(...failures) - killedAt} ms after the kill` : 'none';
  console.log(`\nSIGKILL of 1 of 2 instances under load (${CONNECTIONS} concurrent, 6 s, kill at 2 s): ${total} requests, ${failures.length} failed (target 0); last failure: ${lastFailure}; victim served ${servedByVictim.length} before dying`);
  await Promise.all([stop(routed.child), stop(survivor.child)]);
}

async function main(): Promise<void> {
  const redisUrl = await redisServer();
  await throughput(redisUrl);
  if (process.env.BENCH_ONLY === 'throughput') return;
  await registrationLatency(redisUrl);
  await killUnderLoad(redisUrl);
}

// Whatever happens, the processes it started go with it (processes.ts kills them at exit).
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
