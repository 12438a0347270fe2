/**
 * Router benchmark (`node bench/dist/router/main.js`): one minimal registered
 * backend, then wrk (50 connections, BENCH_SECONDS each, BENCH_ROUNDS rounds,
 * alternating) straight to the backend, through nginx proxy_pass with upstream
 * keepalive (1 worker), through a minimal Node proxy (minimal-proxy.ts: node:http
 * and one undici Pool, nothing else: what Node's HTTP stack costs on this
 * machine) and through hydra-router (as its bin runs it; with the access log;
 * with "workers": 2; and without the bin's memory flags). Prints req/s, p50,
 * p99, the router's ratios to nginx and to the minimal proxy and the router's
 * peak RSS under load; then the time from an instance's registration to its
 * first routed request, and failed requests when an instance is SIGKILLed
 * under load. Redis database 14, loopback only.
 * Needs Debian's wrk and nginx (apt-get install -y wrk nginx).
 *
 * BENCH_SECONDS, BENCH_ROUNDS: length of a wrk run, number of rounds.
 * BENCH_ONLY=throughput: skip the registration and SIGKILL measurements.
 * BENCH_ALT_FLAGS='<node flags>': one more router target ("router alt") run with
 * these node flags instead of the bin's, to weigh a change of them in the same alternation.
 * BENCH_CPU_PROF=<dir>: the first router runs with `--cpu-prof` and writes its
 * profile (.cpuprofile, for Chrome DevTools) into <dir> when it stops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { connectRedis, closeRedis, defaultLogger } from '@hydra-ts/core';

const DB = 14;
const REDIS_URL = `redis://127.0.0.1:6379/${DB}`;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
const PATH = '/v1/bench/hello';
const ROUTER_BIN = join(__dirname, '..', '..', '..', 'packages', 'router', 'bin', 'hydra-router.js');
const BACKEND = join(__dirname, 'backend.js');
const MINIMAL_PROXY = join(__dirname, 'minimal-proxy.js');
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;

const children = new Set<ChildProcess>();
const work = mkdtempSync(join(tmpdir(), 'bench-router-'));

// --- processes -----------------------------------------------------------------

interface Started {
  child: ChildProcess;
  line: Record<string, any>;
}

/** Spawns `cmd` and resolves with its first stdout JSON line satisfying `ready`. */
function start(cmd: string, args: string[], env: Record<string, string>, ready: (j: Record<string, any>) => boolean): Promise<Started> {
  const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')} not ready in 15 s: ${err.slice(-500)}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()).length > 10_000 && (err = err.slice(-5000)));
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const j = JSON.parse(text) as Record<string, any>;
          if (ready(j)) {
            clearTimeout(timer);
            // From now on output (the router's access log) is drained unread.
            child.stdout!.off('data', onData);
            child.stdout!.resume();
            resolve({ child, line: j });
            return;
          }
        } catch {
          // not JSON: ignore
        }
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${cmd} exited with ${code} before it was ready: ${err.slice(-500)}`)));
  });
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

const backendEnv = (service: string, route = PATH) => ({
  HYDRA_LOG_LEVEL: 'warn',
  HYDRA_REDIS_URL: REDIS_URL,
  HYDRA_SERVICE: JSON.stringify({ serviceName: service, servicePort: 0, serviceIP: '127.0.0.1' }),
  BENCH_ROUTE: route,
});

function startBackend(service: string, route?: string): Promise<Started> {
  return start(process.execPath, [BACKEND], backendEnv(service, route), (j) => j.ready === true);
}

/** The node flags of the bin's shebang (`#!/usr/bin/env -S node <flags>`): the router runs as its bin does. */
function binNodeFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0]!;
  return first.replace(/^#!\S*env\s+(-S\s+)?/, '').split(/\s+/).filter(Boolean).slice(1);
}

let configs = 0;

async function startRouter(settings: Record<string, unknown>, nodeFlags = binNodeFlags(ROUTER_BIN)): Promise<{ child: ChildProcess; port: number }> {
  const config = join(work, `router-${++configs}.json`);
  writeFileSync(config, JSON.stringify(settings));
  const r = await start(process.execPath, [...nodeFlags, ROUTER_BIN, config], {
    HYDRA_LOG_LEVEL: 'info',
    HYDRA_REDIS_URL: REDIS_URL,
    HYDRA_SERVICE: JSON.stringify({ servicePort: 0, serviceIP: '127.0.0.1' }),
  }, (j) => j.msg === 'hydra-router ready');
  return { child: r.child, port: r.line.port as number };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
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
  const child = spawn('/usr/sbin/nginx', ['-p', prefix, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  await waitPort(port);
  return { child, port };
}

// --- measuring -------------------------------------------------------------------

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

function runWrk(port: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', `http://127.0.0.1:${port}${PATH}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      children.delete(child);
      if (code !== 0) return reject(new Error(`wrk failed (${code}): ${out}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const lat = (pct: string) => {
        const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(out);
        return m ? toMs(m[1]!, m[2]!) : NaN;
      };
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
      resolve({ rps, p50: lat('50'), p99: lat('99'), errors });
    });
  });
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // process gone
  }
}

/** `pid` and its children (a cluster primary's workers). */
function tree(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // process gone
  }
  return [pid, ...kids.flatMap(tree)];
}

/** Peak resident memory of `pid` (with its children when `withChildren`) while `during` runs (sampled every 100 ms), MB. */
async function peakRss<T>(pid: number, during: () => Promise<T>, withChildren = false): Promise<{ result: T; peakMb: number }> {
  let peak = 0;
  const sample = () => {
    const kb = (withChildren ? tree(pid) : [pid]).reduce((sum, p) => sum + rssKb(p), 0);
    peak = Math.max(peak, kb);
  };
  const timer = setInterval(sample, 100);
  try {
    const result = await during();
    sample();
    return { result, peakMb: peak / 1024 };
  } finally {
    clearInterval(timer);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 1) => n.toFixed(d);

async function flush(): Promise<void> {
  const redis = await connectRedis({ url: REDIS_URL }, defaultLogger('bench'), 'bench');
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

async function throughput(): Promise<void> {
  const backend = await startBackend('bench-svc');
  const backendPort = backend.line.port as number;
  const profile = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [];
  const router = await startRouter({ accessLog: false }, [...binNodeFlags(ROUTER_BIN), ...profile]);
  const minimal = await start(process.execPath, [MINIMAL_PROXY], { MINIMAL_BACKEND: `http://127.0.0.1:${backendPort}` }, (j) => j.ready === true);
  const logging = await startRouter({ accessLog: true });
  const workers = await startRouter({ accessLog: false, workers: 2 });
  // The bin's memory flags cost CPU (more GC): this one shows the other side of the trade.
  const plain = await startRouter({ accessLog: false }, []);
  const alt = process.env.BENCH_ALT_FLAGS ? await startRouter({ accessLog: false }, process.env.BENCH_ALT_FLAGS.split(/\s+/).filter(Boolean)) : undefined;
  const nginx = await startNginx(backendPort);
  const targets: Array<{ name: string; port: number; pid?: number; tree?: boolean }> = [
    { name: 'direct', port: backendPort },
    { name: 'nginx', port: nginx.port },
    { name: 'minimal', port: minimal.line.port as number, pid: minimal.child.pid },
    { name: 'router', port: router.port, pid: router.child.pid },
    { name: 'router+log', port: logging.port, pid: logging.child.pid },
    { name: 'router x2', port: workers.port, pid: workers.child.pid, tree: true },
    { name: 'router -flags', port: plain.port, pid: plain.child.pid },
  ];
  if (alt) targets.push({ name: 'router alt', port: alt.port, pid: alt.child.pid });
  const results = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
  const rss = new Map<string, number>();
  console.log(`wrk -t1 -c${CONNECTIONS} -d${SECONDS}s GET ${PATH}, ${ROUNDS} rounds alternating (first a 1 s warm-up each)`);
  for (const t of targets) await runWrkShort(t.port);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      const { result, peakMb } = t.pid ? await peakRss(t.pid, () => runWrk(t.port), t.tree) : { result: await runWrk(t.port), peakMb: 0 };
      results.get(t.name)!.push(result);
      if (t.pid) rss.set(t.name, Math.max(rss.get(t.name) ?? 0, peakMb));
      console.log(`  round ${round} ${t.name.padEnd(13)} ${fmt(result.rps, 0).padStart(8)} req/s  p50 ${fmt(result.p50, 2)} ms  p99 ${fmt(result.p99, 2)} ms  errors ${result.errors}`);
    }
  }
  const summary = (name: string) => {
    const rs = results.get(name)!;
    return { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), errors: rs.reduce((a, r) => a + r.errors, 0) };
  };
  console.log('\nmedian of rounds:');
  console.log(`  ${'target'.padEnd(13)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  errors  peak RSS`);
  for (const t of targets) {
    const s = summary(t.name);
    const mb = rss.has(t.name) ? `${fmt(rss.get(t.name)!, 1)} MB` : '';
    console.log(`  ${t.name.padEnd(13)} ${fmt(s.rps, 0).padStart(8)} ${fmt(s.p50, 2).padStart(8)} ${fmt(s.p99, 2).padStart(8)}  ${String(s.errors).padStart(6)}  ${mb}`);
  }
  const n = summary('nginx');
  const m = summary('minimal');
  console.log(`  minimal/nginx: req/s ${fmt(m.rps / n.rps, 2)}x, p99 ${fmt(m.p99 / n.p99, 2)}x; peak RSS under load ${fmt(rss.get('minimal')!, 1)} MB`);
  if (alt) console.log(`  router alt: node ${process.env.BENCH_ALT_FLAGS}`);
  for (const name of ['router', 'router+log', 'router x2', 'router -flags', ...(alt ? ['router alt'] : [])]) {
    const r = summary(name);
    console.log(`  ${name}: req/s ${fmt(r.rps / n.rps, 2)}x nginx (target >= 0.75), ${fmt(r.rps / m.rps, 2)}x minimal; p99 ${fmt(r.p99 / n.p99, 2)}x nginx (target <= 2), ${fmt(r.p99 / m.p99, 2)}x minimal; peak RSS under load ${fmt(rss.get(name)!, 1)} MB${name === 'router x2' ? ' (primary + 2 workers)' : ''} (target < 100)`);
  }
  await Promise.all([stop(nginx.child, 'SIGQUIT'), stop(minimal.child), stop(router.child), stop(logging.child), stop(workers.child), stop(plain.child), ...(alt ? [stop(alt.child)] : []), stop(backend.child)]);
}

function runWrkShort(port: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, '-d1s', `http://127.0.0.1:${port}${PATH}`], { stdio: 'ignore' });
    children.add(child);
    child.on('exit', () => {
      children.delete(child);
      resolve();
    });
  });
}

/** Registration of an instance → the first request the router sends it. */
async function registrationLatency(): Promise<void> {
  await flush();
  const first = await startBackend('reg-svc');
  const router = await startRouter({ accessLog: false });
  const pool = new Pool(`http://127.0.0.1:${router.port}`, { connections: 4 });
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
    const next = await startBackend('reg-svc');
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
    const svc = start(process.execPath, [BACKEND], backendEnv(`fresh-svc-${i}`, route), (j) => j.ready === true);
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
  await Promise.all([stop(router.child), stop(first.child)]);
}

/** SIGKILL of one of two instances while 50 connections send GETs through the router. */
async function killUnderLoad(): Promise<void> {
  await flush();
  const victim = await startBackend('kill-svc');
  const survivor = await startBackend('kill-svc');
  const router = await startRouter({ accessLog: false });
  const pool = new Pool(`http://127.0.0.1:${router.port}`, { connections: CONNECTIONS });
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
  await Promise.all([stop(router.child), stop(survivor.child)]);
}

async function main(): Promise<void> {
  await flush();
  await throughput();
  if (process.env.BENCH_ONLY === 'throughput') return;
  await registrationLatency();
  await killUnderLoad();
}

// Interrupted: the processes it started go with it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
}

main()
  .catch((err: unknown) => {
    console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await Promise.all([...children].map((c) => stop(c, 'SIGKILL')));
    rmSync(work, { recursive: true, force: true });
  });
