/**
 * hello-service [config.json] (`--help`, `--version`)
 * Config: the file given (default: config/config.json beside this package), with
 * HYDRA_REDIS_URL and HYDRA_SERVICE on top, as Hydra reads them.
 */
import { join } from 'node:path';
import { createService } from '@hydra-ts/express';
import { closeOnSignals, closingTelemetry, defaultLogger, errorMessage, readServiceArgs, startTelemetry } from '@hydra-ts/core';
import { helloRoutes } from './app.js';

const VERSION = (require('../../package.json') as { version: string }).version;
const DEFAULT_CONFIG = join(__dirname, '..', '..', 'config', 'config.json');
const USAGE = `usage: hello-service [config.json]
  Starts the hello service. The config file defaults to ${DEFAULT_CONFIG};
  HYDRA_REDIS_URL and HYDRA_SERVICE apply on top, as Hydra reads them, e.g.
  HYDRA_REDIS_URL=redis://127.0.0.1:6379/15 HYDRA_SERVICE='{"serviceIP":"127.0.0.1","servicePort":5001}' hello-service
`;

async function main(): Promise<void> {
  const args = readServiceArgs(process.argv.slice(2), { name: 'hello-service', version: VERSION, usage: USAGE });
  if (!args.start) {
    process.exitCode = args.exitCode;
    return;
  }
  // Nothing is loaded unless OTEL_EXPORTER_OTLP_ENDPOINT is set (OpenTelemetry's environment, docs/tracing.md).
  const telemetry = startTelemetry('hello-service', () => require('@opentelemetry/sdk-node'));
  const logger = defaultLogger('hello-service');
  const configPath = args.configPath ?? DEFAULT_CONFIG;
  const service = await createService(configPath, { logger, routes: helloRoutes() });
  closeOnSignals(closingTelemetry(service, telemetry), logger);
  logger.info({ port: service.port, instanceId: service.hydra.instanceId }, `hello-service listening on ${service.port}`);
}

main().catch((err: unknown) => {
  console.error(`hello-service: ${errorMessage(err)}`);
  process.exit(1);
});
