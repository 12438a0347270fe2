/**
 * `__SERVICE_NAME__ [config.json]` (`--help`, `--version`): starts the service with
 * config/config.json unless another file is given; HYDRA_REDIS_URL and HYDRA_SERVICE
 * apply on top, as Hydra reads them. SIGTERM or Ctrl-C: presence withdrawn, requests
 * in flight finished, then exit.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { closeOnSignals, defaultLogger, errorMessage, readServiceArgs } from '@hydra-ts/core';
import { startService } from './app.js';

const DEFAULT_CONFIG = fileURLToPath(new URL('../../config/config.json', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const USAGE = `usage: __SERVICE_NAME__ [config.json]
  Starts __SERVICE_NAME__. The config file defaults to ${DEFAULT_CONFIG};
  HYDRA_REDIS_URL and HYDRA_SERVICE apply on top, e.g.
  HYDRA_REDIS_URL=redis://127.0.0.1:6379/0 HYDRA_SERVICE='{"servicePort":3001}' npm start
  HYDRA_REDIS_URL=redis://127.0.0.1:6379/0 HYDRA_SERVICE=__SERVICE_NAME__:0.1.0 npm start   (config stored in Redis)
`;

const args = readServiceArgs(process.argv.slice(2), { name: '__SERVICE_NAME__', version, usage: USAGE });
if (!args.start) process.exit(args.exitCode);

const logger = defaultLogger('__SERVICE_NAME__');
try {
  const service = await startService(args.configPath ?? DEFAULT_CONFIG, { logger });
  closeOnSignals(service, logger);
  logger.info({ port: service.port, instanceId: service.hydra.instanceId }, `__SERVICE_NAME__ listening on ${service.port}`);
} catch (err) {
  console.error(`__SERVICE_NAME__: ${errorMessage(err)}`);
  process.exit(1);
}
