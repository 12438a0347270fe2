/**
 * Several router processes on one port (node:cluster), for machines where one
 * event loop is the limit. Each worker is a whole router: its own `hydra-router`
 * instance in Redis (its own channel, so WebSocket replies find it), its own
 * pools; the primary only starts, restarts and stops them and touches no Redis.
 */
import cluster from 'node:cluster';
import type { Logger } from '@hydra-ts/core';

const RESTART_DELAY_MS = 1000;

/** What a worker sends the primary once it serves. */
export const READY_MESSAGE = 'hydra-router:ready';

export function runPrimary(count: number, logger: Logger): void {
  let stopping = false;
  const ready = new Set<number>();
  const fork = () => cluster.fork();
  cluster.on('message', (worker, message) => {
    if (message === READY_MESSAGE) ready.add(worker.id);
  });
  cluster.on('exit', (worker, code, signal) => {
    const wasReady = ready.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (!wasReady) {
      // It never served: the config or Redis is wrong, and every restart would fail the same way.
      logger.error({ pid: worker.process.pid, code }, 'a router worker failed to start; stopping (its error is above)');
      stop();
      process.exitCode = 1;
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'a router worker died; starting another');
    setTimeout(fork, RESTART_DELAY_MS).unref();
  });
  const stop = () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(process.exitCode ?? 0);
    for (const w of workers) w?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'hydra-router primary started its workers');
}
