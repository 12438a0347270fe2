/**
 * A hung instance under load (`node bench/dist/router/hung-instance.js`, issue 10 item 8):
 * two instances of a service behind hydra-router (the bin, default requestTimeout 30 s),
 * a bounded GET load through the router, and SIGSTOP of one instance after HANG_AT_MS.
 * Prints when the stopped instance's presence expired (as seen in Redis), every
 * client's longest wait, the waits by phase, and how many GETs failed. The claim to
 * check: no GET fails and no client waits longer than the presence expiry (counted
 * from the SIGSTOP) + 1 s, where before the router made them wait requestTimeout and
 * answered 504.
 *
 * Runs its own redis-server (loopback, a free port, nothing on disk) so it touches no
 * shared database. The stopped process is always continued and killed at the end.
 *
 * HANG_LOOPS (16), HANG_SECONDS (12), HANG_AT_MS (3000): load shape.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { pino } from 'pino';
import { connectRedis, closeRedis, keys, PRESENCE_TTL_S } from '@hydra-ts/core';

const LOOPS = Number(process.env.HANG_LOOPS ?? 16);
const SECONDS = Number(process.env.HANG_SECONDS ?? 12);
const HANG_AT_MS = Number(process.env.HANG_AT_MS ?? 3000);
/** Hard bound on requests, whatever the machine's speed. */
const MAX_REQUESTS = 500_000;
const PATH = '/v1/bench/hello';
const ROUTER_BIN = join(__dirname, '..', '..', '..', 'packages', 'router', 'bin', 'hydra-router.js');
const BACKEND = join(__dirname, 'backend.js');

const quiet = pino({ level: 'silent' });
const children = new Set<ChildProcess>();
const work = mkdtempSync(join(tmpdir(), 'bench-hang-'));
let stopped: ChildProcess | undefined;

/** Whatever happens, nothing is left stopped or running. */
function cleanup(): void {
  if (stopped?.pid && stopped.exitCode === null) {
    try {
      process.kill(stopped.pid, 'SIGCONT');
    } catch {
      // already gone
    }
  }
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => process.exit(1));

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

/** Spawns a process and resolves with its first stdout JSON line satisfying `ready`. */
function start(args: string[], env: Record<string, string>, ready: (j: Record<string, any>) => boolean): Promise<{ child: ChildProcess; line: Record<string, any> }> {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} not ready in 60 s: ${err.slice(-500)}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-5000)));
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
            child.stdout!.off('data', onData);
            child.stdout!.resume();
            resolve({ child, line: j });
            return;
          }
        } catch {
          // not JSON
        }
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${err.slice(-500)}`)));
  });
}

async function redisServer(): Promise<string> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work], { stdio: 'ignore' });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const url = `redis://127.0.0.1:${port}/0`;
  for (let i = 0; i < 100; i++) {
    try {
      const c = await connectRedis({ url }, quiet, 'probe');
      await closeRedis(c);
      return url;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('redis-server did not start');
}

interface Sample {
  sentAt: number;
  ms: number;
  status: number;
}

const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]! : 0);
const fmt = (n: number) => n.toFixed(0);

async function main(): Promise<void> {
  const redisUrl = await redisServer();
  const backendEnv = { HYDRA_LOG_LEVEL: 'warn', HYDRA_REDIS_URL: redisUrl, HYDRA_SERVICE: JSON.stringify({ serviceName: 'hang-svc', servicePort: 0, serviceIP: '127.0.0.1' }), BENCH_ROUTE: PATH };
  await start([BACKEND], backendEnv, (j) => j.ready === true);
  const b = await start([BACKEND], backendEnv, (j) => j.ready === true);
  const flags = readFileSync(ROUTER_BIN, 'utf8').split('\n', 1)[0]!.replace(/^#!\S*env\s+(-S\s+)?/, '').split(/\s+/).filter(Boolean).slice(1);
  const router = await start([...flags, ROUTER_BIN], {
    HYDRA_LOG_LEVEL: 'info', HYDRA_REDIS_URL: redisUrl, HYDRA_SERVICE: JSON.stringify({ servicePort: 0, serviceIP: '127.0.0.1' }),
  }, (j) => j.msg === 'hydra-router ready');
  const pool = new Pool(`http://127.0.0.1:${router.line.port}`, { connections: LOOPS });
  const redis = await connectRedis({ url: redisUrl }, quiet, 'bench');
  const victimId = b.line.instanceId as string;

  // Both instances in the router's rotation before the clock starts.
  const seen = new Set<string>();
  for (let i = 0; i < 200 && seen.size < 2; i++) {
    const res = await pool.request({ path: PATH, method: 'GET' });
    seen.add(((await res.body.json()) as { instance: string }).instance);
  }
  if (seen.size < 2) throw new Error('the router did not route to both instances');

  const samples: Sample[] = [];
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  const loop = async () => {
    while (performance.now() < until && samples.length < MAX_REQUESTS) {
      const sentAt = performance.now();
      let status = 0;
      try {
        const res = await pool.request({ path: PATH, method: 'GET' });
        await res.body.dump();
        status = res.statusCode;
      } catch {
        status = -1;
      }
      samples.push({ sentAt: sentAt - t0, ms: performance.now() - sentAt, status });
    }
  };
  const load = Promise.all(Array.from({ length: LOOPS }, loop));

  await new Promise((r) => setTimeout(r, HANG_AT_MS));
  const hangAt = performance.now() - t0;
  stopped = b.child;
  process.kill(b.child.pid!, 'SIGSTOP');
  let expiredAt = NaN;
  while (performance.now() < until) {
    if (!(await redis.exists(keys.presence('hang-svc', victimId)))) {
      expiredAt = performance.now() - t0;
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await load;
  await closeRedis(redis);
  await pool.close();

  const expiry = expiredAt - hangAt;
  const bound = expiry + 1000;
  const waits = samples.map((s) => s.ms);
  const failed = samples.filter((s) => s.status !== 200);
  const phase = (from: number, to: number) => samples.filter((s) => s.sentAt >= from && s.sentAt < to).map((s) => s.ms);
  const line = (name: string, xs: number[]) =>
    console.log(`  ${name.padEnd(34)} ${String(xs.length).padStart(7)} GETs  p50 ${fmt(pct(xs, 50)).padStart(5)} ms  p99 ${fmt(pct(xs, 99)).padStart(5)} ms  max ${fmt(Math.max(0, ...xs)).padStart(5)} ms`);
  console.log(`hung instance under load: ${LOOPS} GET loops for ${SECONDS} s through hydra-router (requestTimeout 30 s), 2 instances, SIGSTOP of one at ${fmt(hangAt)} ms`);
  console.log(`  presence TTL ${PRESENCE_TTL_S} s; the stopped instance's presence was gone ${fmt(expiry)} ms after the SIGSTOP`);
  line('before the SIGSTOP', phase(0, hangAt));
  line('sent while it hung, before expiry', phase(hangAt, expiredAt));
  line('sent after its presence expired', phase(expiredAt, Infinity));
  line('all', waits);
  const over = samples.filter((s) => s.ms > bound).length;
  console.log(`  failed GETs: ${failed.length} of ${samples.length}${failed.length ? ` (statuses ${[...new Set(failed.map((f) => f.status))].join(', ')})` : ''}`);
  console.log(`  longest wait ${fmt(Math.max(...waits))} ms; bound (presence expiry after the SIGSTOP + 1 s) ${fmt(bound)} ms; GETs over the bound: ${over}`);
  console.log(`  baseline without the hand-back: the requests the hung instance held waited requestTimeout (30000 ms) and ended 504`);
  console.log(failed.length === 0 && over === 0 ? '  OK: no GET failed, no client waited longer than the bound' : '  NOT MET');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`hung-instance bench: ${(err as Error).message}`);
    process.exit(1);
  },
);
