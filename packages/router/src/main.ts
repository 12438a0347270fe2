/**
 * hydra-router: `hydra-router [config.json]` (`--help`, `--version`). Configured like any Hydra service:
 * the config file (optional), then HYDRA_REDIS_URL and HYDRA_SERVICE
 * (e.g. '{"servicePort":8000,"serviceIP":"127.0.0.1"}') on top. With
 * `"workers": N` in the config, N router processes share the port.
 *
 * The launcher (bin/hydra-router.js) runs node with V8's default heap settings:
 * under bench/router's 50-connection load the router peaks at 110-115 MB (bound:
 * 150 MB). Flags that keep the heap small (a 4 MB young generation, the old one
 * grown by 50% per full collection) hold it at 93 MB for ~4% more CPU per
 * request, and throughput matters more.
 */
import cluster from 'node:cluster';
import { pino } from 'pino';
import { closeOnSignals, closingTelemetry, errorMessage, readServiceArgs, startTelemetry, traceLogFields, type Logger } from '@hydra-ts/core';
import { ROUTER_VERSION } from './api.js';
import { TurnBatchedStdout } from './log-destination.js';
import { Router, routerConfig } from './router.js';
import { readSettings } from './settings.js';
import { runPrimary, READY_MESSAGE } from './workers.js';

const USAGE = `usage: hydra-router [config.json]
  Starts the service-aware API gateway. Configured like any Hydra service: the config
  file (optional), then HYDRA_REDIS_URL (or HYDRA_REDIS_URL_FILE) and HYDRA_SERVICE on top, e.g.
  HYDRA_REDIS_URL=redis://127.0.0.1:6379/15 HYDRA_SERVICE='{"servicePort":8000,"serviceIP":"127.0.0.1"}' hydra-router
  HYDRA_REDIS_URL=redis://127.0.0.1:6379/15 HYDRA_SERVICE=hydra-router:0.1.0 hydra-router   (config stored in Redis)
  With "workers": N in the config, N router processes share the port.
`;

function fail(err: unknown): never {
  process.stderr.write(`hydra-router: cannot start: ${errorMessage(err)}\n`);
  process.exit(1);
}

/** Core's defaultLogger, but writing through a per-turn batch (see log-destination.ts). */
function routerLogger(): Logger {
  const out = new TurnBatchedStdout();
  process.on('exit', out.flush);
  return pino({ name: 'hydra-router', level: process.env.HYDRA_LOG_LEVEL ?? 'info', mixin: traceLogFields }, out);
}

async function serve(configPath: string | undefined, logger: Logger): Promise<void> {
  // Before the router exists, so its first request is traced; nothing is loaded without OTEL_EXPORTER_OTLP_ENDPOINT.
  const telemetry = startTelemetry('hydra-router', () => require('@opentelemetry/sdk-node'));
  let router: Router;
  try {
    router = await Router.start(configPath, { logger });
  } catch (err) {
    await telemetry?.shutdown();
    fail(err);
  }
  process.send?.(READY_MESSAGE);
  closeOnSignals(closingTelemetry(router, telemetry), router.hydra.logger);
}

async function main(): Promise<void> {
  const args = readServiceArgs(process.argv.slice(2), { name: 'hydra-router', version: ROUTER_VERSION, usage: USAGE });
  if (!args.start) {
    process.exitCode = args.exitCode;
    return;
  }
  const { configPath } = args;
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
