/**
 * hydra-router: `hydra-router [config.json]`. Configured like any Hydra service:
 * the config file (optional), then HYDRA_REDIS_URL and HYDRA_SERVICE
 * (e.g. '{"servicePort":8000,"serviceIP":"127.0.0.1"}') on top. With
 * `"workers": N` in the config, N router processes share the port.
 *
 * The launcher (bin/hydra-router.js) starts node with flags that trade a little
 * CPU for memory: V8's young generation capped at 4 MB per semi-space (a
 * proxy's garbage is short-lived; the 16 MB default costs ~35 MB resident) and
 * the old generation's limit grown by 50% after each full collection instead
 * of V8's default (up to 2-4x), so it is collected sooner. Measured under
 * 50-connection load (bench/router, same alternation): peak RSS 92 MB instead
 * of 111 MB, at ~10% fewer requests/s. --optimize-for-size (85 MB) was
 * dropped: it cost ~20% of the router's throughput.
 */
import cluster from 'node:cluster';
import { pino } from 'pino';
import { closeOnSignals, errorMessage, type Logger } from '@hydra-ts/core';
import { TurnBatchedStdout } from './log-destination.js';
import { Router, routerConfig } from './router.js';
import { readSettings } from './settings.js';
import { runPrimary, READY_MESSAGE } from './workers.js';

function fail(err: unknown): never {
  process.stderr.write(`hydra-router: cannot start: ${errorMessage(err)}\n`);
  process.exit(1);
}

/** Core's defaultLogger, but writing through a per-turn batch (see log-destination.ts). */
function routerLogger(): Logger {
  const out = new TurnBatchedStdout();
  process.on('exit', out.flush);
  return pino({ name: 'hydra-router', level: process.env.HYDRA_LOG_LEVEL ?? 'info' }, out);
}

async function serve(configPath: string | undefined, logger: Logger): Promise<void> {
  let router: Router;
  try {
    router = await Router.start(configPath, { logger });
  } catch (err) {
    fail(err);
  }
  process.send?.(READY_MESSAGE);
  closeOnSignals(router, router.hydra.logger);
}

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (cluster.isPrimary) {
    let workers: number;
    try {
      workers = readSettings(await routerConfig(configPath)).workers;
    } catch (err) {
      fail(err);
    }
    if (workers > 1) {
      runPrimary(workers, routerLogger());
      return;
    }
  }
  await serve(configPath, routerLogger());
}

void main();
