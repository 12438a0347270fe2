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
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { connectRedis, closeRedis, keys, PRESENCE_TTL_S } from '@hydra-ts/core';
import { BENCH_PATH as PATH, quiet, redisServer, startBackend, startRouter, stopProcess } from './processes.js';

const LOOPS = Number(process.env.HANG_LOOPS ?? 16);
const SECONDS = Number(process.env.HANG_SECONDS ?? 12);
const HANG_AT_MS = Number(process.env.HANG_AT_MS ?? 3000);
/** Hard bound on requests, whatever the machine's speed. */
const MAX_REQUESTS = 500_000;

interface Sample {
  sentAt: number;
  ms: number;
  status: number;
}

const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]! : 0);
const fmt = (n: number) => n.toFixed(0);

async function main(): Promise<void> {
  const redisUrl = await redisServer();
  await startBackend(redisUrl, 'hang-svc');
  const b = await startBackend(redisUrl, 'hang-svc');
  const router = await startRouter(redisUrl);
  const pool = new Pool(`http://127.0.0.1:${router.port}`, { connections: LOOPS });
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
  stopProcess(b.child);
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
  line('sent before the SIGSTOP', phase(0, hangAt));
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
