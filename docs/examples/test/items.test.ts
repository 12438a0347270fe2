// Testing a service: start it in the test's own process against a real Redis, call it
// as other services do (through the registry), and close everything in `after`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Hydra } from '@hydra-ts/core';
import type { ExpressService } from '@hydra-ts/express';
import { startItems } from '../src/items.js';

// HYDRA_REDIS_URL, when set, replaces the config's hydra.redis (as in every service).
const REDIS_URL = process.env.HYDRA_REDIS_URL ?? 'redis://127.0.0.1:6379/14';

let items: ExpressService;
let caller: Hydra;
before(async () => {
  items = await startItems({
    hydra: { serviceName: 'items', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: REDIS_URL } },
    items: { maxItems: 1 },
  });
  caller = await Hydra.create({ hydra: { serviceName: 'items-test', redis: { url: REDIS_URL } } });
});
after(async () => {
  await caller?.close();
  await items?.close();
});

test('an item posted can be fetched, through the registry', async () => {
  const created = await caller.makeAPIRequest({ to: 'items:[post]/v1/items', body: { name: 'lamp' } });
  assert.equal(created.statusCode, 201);
  const fetched = await caller.makeAPIRequest({ to: 'items:[get]/v1/items/1', body: {} });
  assert.deepEqual(fetched.result, { id: '1', name: 'lamp', servedBy: items.hydra.instanceId });
});

test('items.maxItems from the config is enforced', async () => {
  const refused = await caller.makeAPIRequest({ to: 'items:[post]/v1/items', body: { name: 'chair' } });
  assert.equal(refused.statusCode, 409);
  assert.deepEqual(refused.result, { reason: 'at most 1 items' });
});

test('a bad config section fails the start, naming the field', async () => {
  await assert.rejects(
    startItems({ hydra: { serviceName: 'items', servicePort: 0, redis: { url: REDIS_URL } }, items: { maxItems: 0 } }),
    { code: 'INVALID_CONFIG', message: /items\.maxItems/ },
  );
});
