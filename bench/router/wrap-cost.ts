/**
 * What `wrapResponses` costs (`npm run bench:router-wrap`, issue 10 item 15): two
 * routers (the bin) in front of one bench backend, whose answer is a small JSON object
 * that is not a Hydra envelope (the case that gets wrapped), one with `wrapResponses`
 * off (the default: the answer streams through) and one with it on. Each round sends
 * WRAP_REQUESTS GETs (WRAP_LOOPS at a time) through each router in turn and reads the
 * router's own CPU time (utime + stime from /proc) around it; prints CPU per request
 * of both, per round and the median, and their ratio. Runs its own redis-server.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { BENCH_PATH, cpuSeconds, redisServer, startBackend, startRouter, work } from './processes.js';
import { median } from '../stats.js';

const REQUESTS = Number(process.env.WRAP_REQUESTS ?? 20_000);
const LOOPS = Number(process.env.WRAP_LOOPS ?? 32);
const ROUNDS = Number(process.env.WRAP_ROUNDS ?? 5);
async function drive(pool: Pool, count: number): Promise<void> {
  let sent = 0;
  const loop = async () => {
    while (sent < count) {
      sent++;
      const res = await pool.request({ path: BENCH_PATH, method: 'GET' });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`answer ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: LOOPS }, loop));
}

async function main(): Promise<void> {
  const redisUrl = await redisServer();
  await startBackend(redisUrl, 'wrap-bench');
  const targets = [];
  for (const wrapResponses of [false, true]) {
    const file = join(work, `router-wrap-${wrapResponses}.json`);
    writeFileSync(file, JSON.stringify({ accessLog: false, wrapResponses }));
    const router = await startRouter(redisUrl, file);
    const pool = new Pool(`http://127.0.0.1:${router.port}`, { connections: LOOPS });
    await drive(pool, 2000); // warm-up: the route is known, the JIT has run
    targets.push({ name: wrapResponses ? 'wrapResponses on' : 'wrapResponses off', pid: router.child.pid!, pool, us: [] as number[] });
  }
  console.log(`${REQUESTS} GETs per round (${LOOPS} at a time) through each router, ${ROUNDS} rounds alternating; the answer is a small JSON object, not an envelope`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of targets) {
      const before = cpuSeconds(t.pid);
      await drive(t.pool, REQUESTS);
      const us = ((cpuSeconds(t.pid) - before) / REQUESTS) * 1e6;
      t.us.push(us);
      console.log(`  round ${round} ${t.name.padEnd(18)} ${us.toFixed(1)} us CPU per request`);
    }
  }
  const [off, on] = targets.map((t) => median(t.us)) as [number, number];
  console.log(`median: off ${off.toFixed(1)} us, on ${on.toFixed(1)} us per request; on/off ${(on / off).toFixed(3)}x`);
  await Promise.all(targets.map((t) => t.pool.close()));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`wrap-cost bench: ${(err as Error).message}`);
    process.exit(1);
  },
);
