// The service's program: config from the environment (HYDRA_REDIS_URL, HYDRA_SERVICE),
// a graceful stop on SIGTERM and SIGINT.
import { closeOnSignals } from '@hydra-ts/core';
import { startItems } from './items.js';

const service = await startItems({
  hydra: { serviceName: 'items', serviceVersion: '1.0.0', serviceIP: '127.0.0.1', servicePort: 0 },
  items: { maxItems: 100 },
});
closeOnSignals(service, service.hydra.logger);
console.log(`items ${service.hydra.instanceId} listening on ${service.port}`);
