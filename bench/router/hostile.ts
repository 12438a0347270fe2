/**
 * The router's memory under hostile clients (`node bench/dist/router/hostile.js`),
 * issue 10 items 1 and 4. Starts the router bin (as it runs in production) on a
 * redis-server of the run's own, then, one attack at a time:
 *
 * - names: a WebSocket client sends messages to NAMES distinct unknown services
 *   (`{"to":"b<i>:/x"}`), and POST /v1/router/message does the same with NAMES/5 names;
 * - frames: FRAMES concurrent connections each send one FRAME_MB MB text frame,
 *   several rounds (the router's default WebSocket limits).
 *
 * For each it prints the router's resident memory before (the baseline, same run),
 * its peak during the attack (sampled from /proc every 20 ms) and after, the ratio
 * peak/baseline, and for names the size of /v1/router/stats and the number of
 * series in it. Every loop is bounded in count and time. Loopback only.
 *
 * NAMES (25000), FRAMES (30), FRAME_MB (9), ROUNDS (3).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { request } from 'undici';
import { redisServer, rssMb, startRouter as startRouterBin, work } from './processes.js';

const NAMES = Number(process.env.NAMES ?? 25_000);
const FRAMES = Number(process.env.FRAMES ?? 30);
const FRAME_MB = Number(process.env.FRAME_MB ?? 9);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DEADLINE_MS = 120_000;

/** Samples the process's RSS while `work` runs; resolves with the peak seen. */
async function peakDuring(pid: number, attack: () => Promise<void>): Promise<number> {
  let peak = rssMb(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
  try {
    await attack();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssMb(pid));
}

let configs = 0;
/** The router bin with `settings` (access log off), on this run's Redis. */
function startRouter(redisUrl: string, settings: Record<string, unknown>): ReturnType<typeof startRouterBin> {
  const config = join(work, `hostile-router-${++configs}.json`);
  writeFileSync(config, JSON.stringify({ accessLog: false, ...settings }));
  return startRouterBin(redisUrl, config);
}

const settle = () => new Promise((r) => setTimeout(r, 2000));

function withDeadline<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: over ${DEADLINE_MS} ms`)), DEADLINE_MS)))]).finally(() => clearTimeout(timer));
}

/** Sends NAMES frames to distinct unknown services on one socket, waiting for each window of answers. */
async function namesOverWs(port: number): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
  let answered = 0;
  let closed = '';
  ws.on('message', () => answered++);
  ws.on('close', (code, reason) => (closed = `${code} ${reason.toString()}`));
  const WINDOW = 200;
  for (let sent = 0; sent < NAMES && !closed; ) {
    const upto = Math.min(NAMES, sent + WINDOW);
    for (; sent < upto; sent++) ws.send(JSON.stringify({ to: `b${sent}:/x`, frm: 'client:/', bdy: {} }));
    const start = Date.now();
    while (answered < sent && !closed && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 5));
  }
  if (closed) console.log(`  (the router closed the socket: ${closed}; ${answered} answered)`);
  ws.close();
}

async function namesOverHttp(port: number): Promise<void> {
  for (let i = 0; i < NAMES / 5; i++) {
    const res = await request(`http://127.0.0.1:${port}/v1/router/message`, { method: 'POST', body: JSON.stringify({ to: `m${i}:/x`, frm: 'client:/', fwd: `m${i}:[get]/x`, bdy: {} }) });
    await res.body.dump();
  }
}

/** FRAMES sockets, each sending one FRAME_MB frame at once; resolves when every socket is done (answered or closed). */
async function bigFrames(port: number): Promise<string[]> {
  const payload = JSON.stringify({ to: 'nobody:/x', frm: 'client:/', bdy: { pad: 'x'.repeat(FRAME_MB * 1024 * 1024) } });
  const outcomes = await Promise.all(Array.from({ length: FRAMES }, () => new Promise<string>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const timer = setTimeout(() => {
      ws.terminate();
      resolve('no answer in 30 s');
    }, 30_000);
    const done = (what: string) => {
      clearTimeout(timer);
      ws.terminate();
      resolve(what);
    };
    ws.once('message', () => {
      ws.send(payload);
      ws.once('message', () => done('answered'));
    });
    ws.on('close', (code) => done(`closed ${code}`));
    ws.on('error', () => undefined);
  })));
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  return [...counts].map(([o, n]) => `${n} ${o}`);
}

async function main(): Promise<void> {
  const redisUrl = await redisServer();
  console.log(`router memory under hostile clients (${redisUrl})`);

  // The names attack measures what names cost, so the message rate limit is lifted for it.
  let router = await startRouter(redisUrl, { wsMessageRate: 100_000 });
  try {
    await settle();
    const base = rssMb(router.child.pid!);
    const peak = await peakDuring(router.child.pid!, () => withDeadline('names', (async () => {
      await namesOverWs(router.port);
      await namesOverHttp(router.port);
    })()));
    const stats = await request(`http://127.0.0.1:${router.port}/v1/router/stats`);
    const text = await stats.body.text();
    const result = (JSON.parse(text) as { result: Record<string, Record<string, unknown>> }).result;
    await settle();
    const after = rssMb(router.child.pid!);
    const series = ['httpStats', 'wsStats', 'errorStats'].map((k) => `${k} ${Object.keys(result[k] ?? {}).length}`).join(', ');
    console.log(`names: ${NAMES} over WebSocket + ${NAMES / 5} over POST /v1/router/message`);
    console.log(`  RSS baseline ${base.toFixed(0)} MB, peak ${peak.toFixed(0)} MB (${(peak / base).toFixed(2)}x), after ${after.toFixed(0)} MB`);
    console.log(`  /v1/router/stats: ${(text.length / 1024).toFixed(0)} KB; series: ${series}`);
  } finally {
    router.child.kill('SIGKILL');
  }

  router = await startRouter(redisUrl, {});
  try {
    await settle();
    const base = rssMb(router.child.pid!);
    let outcomes: string[] = [];
    const peak = await peakDuring(router.child.pid!, () => withDeadline('frames', (async () => {
      for (let r = 0; r < ROUNDS; r++) outcomes = await bigFrames(router.port);
    })()));
    await settle();
    const after = rssMb(router.child.pid!);
    console.log(`frames: ${ROUNDS} rounds of ${FRAMES} concurrent ${FRAME_MB} MB frames; last round: ${outcomes.join(', ')}`);
    console.log(`  RSS baseline ${base.toFixed(0)} MB, peak ${peak.toFixed(0)} MB (${(peak / base).toFixed(2)}x), after ${after.toFixed(0)} MB`);
  } finally {
    router.child.kill('SIGKILL');
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
