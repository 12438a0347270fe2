/**
 * The service against a real Redis: HYDRA_REDIS_URL, else redis://127.0.0.1:6379/0
 * (`apt-get install redis-server`, or `docker run -p 6379:6379 redis`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hydra, defaultLogger } from '@hydra-ts/core';
import { startService, ROUTE } from '../src/app.js';

const REDIS_URL = process.env.HYDRA_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const logger = defaultLogger('test');
logger.level = process.env.HYDRA_LOG_LEVEL ?? 'warn';

const config = (greeting: unknown) => ({
  hydra: { serviceName: '__SERVICE_NAME__', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: REDIS_URL } },
  greeting,
});

test('GET /hello answers the configured greeting', async (t) => {
  const service = await startService(config({ text: 'Hi' }), { logger, env: {} });
  t.after(() => service.close());
  const res = await fetch(`http://127.0.0.1:${service.port}${ROUTE}/hello`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { result: { greeting: string; instanceId: string } };
  assert.deepEqual(body.result, { greeting: 'Hi', instanceId: service.hydra.instanceId });
});

test('a message with a name gets the greeting back', async (t) => {
  const service = await startService(config({ text: 'Hello' }), { logger, env: {} });
  t.after(() => service.close());
  // The caller is a registered service too: replies travel to a registered instance.
  const caller = await Hydra.create({ hydra: { serviceName: '__SERVICE_NAME__-test-caller', redis: { url: REDIS_URL } } }, { logger, env: {} });
  t.after(() => caller.close());
  await caller.registerService();
  const reply = await caller.request({ to: '__SERVICE_NAME__:/', body: { name: 'test' } }, 5000);
  assert.deepEqual(reply.body, { greeting: 'Hello, test' });
});

test('a config without greeting.text is refused naming the field', async () => {
  await assert.rejects(startService(config({}), { logger, env: {} }), /config field greeting\.text must be a non-empty string/);
});
