/**
 * hpp-service [config.json] (`--help`, `--version`)
 * Config: the file given (default: config/config.json beside this package), with
 * HYDRA_REDIS_URL and HYDRA_SERVICE on top, as Hydra reads them.
 */
import { join } from 'node:path';
import { closeOnSignals, closingTelemetry, defaultLogger, errorMessage, readServiceArgs, startTelemetry } from '@hydra-ts/core';
import { createHppService } from './app.js';
import { DEFAULT_SETTINGS } from './settings.js';

const VERSION = (require('../../package.json') as { version: string }).version;
const DEFAULT_CONFIG = join(__dirname, '..', '..', 'config', 'config.json');
const USAGE = `usage: hpp-service [config.json]
  Starts a hot-potato player; GET /v1/hpp/startgame on any player starts a game.
  The config file defaults to ${DEFAULT_CONFIG};
  HYDRA_REDIS_URL and HYDRA_SERVICE apply on top, as Hydra reads them, e.g.
  HYDRA_REDIS_URL=redis://127.0.0.1:6379/15 HYDRA_SERVICE='{"serviceIP":"127.0.0.1","servicePort":0}' hpp-service
  HYDRA_REDIS_URL=redis://127.0.0.1:6379/15 HYDRA_SERVICE=hpp-service:0.0.1 hpp-service   (config stored in Redis)
  Game settings, config section "hpp" (defaults): ${JSON.stringify(DEFAULT_SETTINGS)}
`;

async function main(): Promise<void> {
  const args = readServiceArgs(process.argv.slice(2), { name: 'hpp-service', version: VERSION, usage: USAGE });
  if (!args.start) {
    process.exitCode = args.exitCode;
    return;
  }
  // Nothing is loaded unless OTEL_EXPORTER_OTLP_ENDPOINT is set (OpenTelemetry's environment, docs/tracing.md).
  const telemetry = startTelemetry('hpp-service', () => require('@opentelemetry/sdk-node'));
  const logger = defaultLogger('hpp-service');
  const hpp = await createHppService(args.configPath ?? DEFAULT_CONFIG, logger);
  closeOnSignals(closingTelemetry(hpp, telemetry), logger);
  const { port, hydra } = hpp.service;
  logger.info({ port, instanceId: hydra.instanceId }, `hpp-service listening on ${port}`);
}

main().catch((err: unknown) => {
  console.error(`hpp-service: ${errorMessage(err)}`);
  process.exit(1);
});
