/** The core tests' own helper; the rest comes from @hydra-ts/testing. */
import { quietLogger, redisUrl } from '@hydra-ts/testing';
import { Hydra, type HydraOptions } from '../src/index.js';

export { waitFor, freshDb, redisUrl, startRedisServer, captureLogger, quietLogger, freePort } from '@hydra-ts/testing';

/** A registered service on `db`, bound to loopback. */
export async function startService(db: number, serviceName: string, extra: Record<string, unknown> = {}, options: HydraOptions = {}): Promise<Hydra> {
  const hydra = await Hydra.create(
    { hydra: { serviceName, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(db) }, ...extra } },
    { logger: quietLogger(), env: {}, ...options },
  );
  await hydra.registerService();
  return hydra;
}
