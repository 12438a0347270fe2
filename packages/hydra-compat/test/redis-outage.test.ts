/**
 * Redis going away under a migrated service, on a redis-server of this test's own:
 * Hydra crashed on the unhandled ECONNREFUSED; here the API keeps its promises
 * (sends resolve a 503 envelope, nothing rejects unhandled) and the instance is
 * registered again once Redis is back.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { keys } from '@hydra-ts/core';
import { freePort, quietLogger, startRedisServer, waitFor } from '@hydra-ts/testing';
import { Hydra } from '../src/hydra.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);

let server: { stop: () => Promise<void> } | undefined;
const hydra = new Hydra({ logger: quietLogger() });

after(async () => {
  process.off('unhandledRejection', onUnhandled);
  await hydra.shutdown();
  await server?.stop();
});

test('sends resolve a 503 envelope while Redis is down, and the instance registers again when it is back', async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}/0`;
  server = await startRedisServer(port);
  await hydra.init({ hydra: { serviceName: 'outage-svc', serviceIP: '127.0.0.1', servicePort: 0, redis: { url } } });
  await hydra.registerService();
  const self = { to: 'outage-svc:/', from: 'outage-svc:/', body: { n: 1 } };
  assert.equal(await hydra.sendMessage(self), undefined);

  await server.stop();
  server = undefined;
  const answer = await waitFor('a send to be refused while Redis is down', async () => {
    const a = await hydra.sendMessage(self);
    return a?.statusCode === 503 ? a : undefined;
  });
  assert.match(String((answer.result as { reason: string }).reason), /Redis is not connected/);
  const api = await hydra.makeAPIRequest({ to: 'outage-svc:[get]/x', from: 'outage-svc:/', body: {} });
  assert.ok(api.statusCode >= 500, 'makeAPIRequest answers an envelope too');

  server = await startRedisServer(port);
  const redis = createClient({ url });
  await redis.connect();
  try {
    await waitFor('the instance to register again', async () => (await redis.exists(keys.presence('outage-svc', hydra.getInstanceID()))) === 1, 15_000);
    await waitFor('sends to work again', async () => (await hydra.sendMessage(self)) === undefined, 15_000);
  } finally {
    await redis.close();
  }
  assert.deepEqual(unhandled, [], 'no promise rejected unhandled');
});
