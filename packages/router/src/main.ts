#!/usr/bin/env node
/**
 * hydra-router: `hydra-router [config.json]`. Configured like any Hydra service:
 * the config file (optional), then HYDRA_REDIS_URL and HYDRA_SERVICE
 * (e.g. '{"servicePort":8000,"serviceIP":"127.0.0.1"}') on top.
 */
import { errorMessage } from '@hydra-ts/core';
import { Router } from './router.js';

async function main(): Promise<void> {
  const configPath = process.argv[2];
  let router: Router;
  try {
    router = await Router.start(configPath);
  } catch (err) {
    process.stderr.write(`hydra-router: cannot start: ${errorMessage(err)}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    router.hydra.logger.info({ signal }, 'stopping');
    router.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`hydra-router: unclean stop: ${errorMessage(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
