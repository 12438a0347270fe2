/**
 * Several router processes on one port (node:cluster), for machines where one
 * event loop is the limit. Each worker is a whole router: its own `hydra-router`
 * instance in Redis (its own channel, so WebSocket replies find it), its own
 * pools; the primary only starts, restarts and stops them and touches no Redis.
 *
 * Stopping works whatever state the workers are in: SIGTERM goes to every live
 * worker (starting ones die of it, serving ones drain), no restart is started
 * after a stop, and workers still alive after a grace period are killed.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@hydra-ts/core';

const RESTART_DELAY_MS = 1000;
/** A draining router waits up to 5 s for open requests (router.ts close()); this leaves room for Redis. */
export const STOP_GRACE_MS = 10_000;

/** What a worker sends the primary once it serves. */
export const READY_MESSAGE = 'hydra-router:ready';

export function runPrimary(count: number, logger: Logger): void {
  let stopping = false;
  // Tracked here, not read from cluster.workers: a worker leaves that map only once it has
  // both exited and disconnected, which may come after its 'exit' event.
  const live = new Set<Worker>();
  const ready = new Set<Worker>();
  const restarts = new Set<NodeJS.Timeout>();
  let graceTimer: NodeJS.Timeout | undefined;

  const fork = () => {
    if (!stopping) live.add(cluster.fork());
  };
  const exit = () => {
    clearTimeout(graceTimer);
    process.exit(process.exitCode ?? 0);
  };
  cluster.on('message', (worker, message) => {
    if (message === READY_MESSAGE) ready.add(worker);
  });
  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    const wasReady = ready.delete(worker);
    if (stopping) {
      if (live.size === 0) exit();
      return;
    }
    if (!wasReady) {
      // It never served: the config or Redis is wrong, and every restart would fail the same way.
      logger.error({ pid: worker.process.pid, code }, 'a router worker failed to start; stopping (its error is above)');
      process.exitCode = 1;
      stop();
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'a router worker died; starting another');
    const timer = setTimeout(() => {
      restarts.delete(timer);
      fork();
    }, RESTART_DELAY_MS);
    restarts.add(timer);
  });
  const kill = () => {
    logger.error({ pids: [...live].map((w) => w.process.pid) }, `router workers did not stop within ${STOP_GRACE_MS} ms; killing them`);
    for (const w of live) w.process.kill('SIGKILL');
    process.exitCode = 1;
  };
  const stop = () => {
    if (stopping) {
      // A second signal: no more waiting.
      kill();
      return;
    }
    stopping = true;
    for (const timer of restarts) clearTimeout(timer);
    restarts.clear();
    if (live.size === 0) exit();
    for (const w of live) w.process.kill('SIGTERM');
    graceTimer = setTimeout(kill, STOP_GRACE_MS);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'hydra-router primary started its workers');
}
