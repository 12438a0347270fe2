/**
 * The registry as routers see it (core's registry.ts, discovery.ts): joins and leaves
 * announced, a steady cluster silent, a SIGKILLed instance (hydra-ts or a published
 * Hydra peer, which never announces anything) gone once its presence expires, and a
 * FLUSHDB healed by the heartbeats. Real processes on a redis-server of this file's own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { channels, readServices, readRoutes, type RedisClient } from '@hydra-ts/core';
import { Processes, http, waitFor, agent } from './helpers.js';

const DB = 0;
const procs = new Processes();
let redisUrl = '';
let observer: ReturnType<typeof createClient>;
let listener: ReturnType<typeof createClient>;
let announcements: Array<Record<string, any>> = [];

before(async () => {
  const redis = await procs.redisServer();
  redisUrl = redis.url(DB);
  observer = createClient({ url: redisUrl });
  await observer.connect();
  listener = observer.duplicate();
  await listener.connect();
  await listener.subscribe(channels.changes(), (text) => void announcements.push(JSON.parse(text) as Record<string, any>));
});

after(async () => {
  await Promise.all([observer?.close(), listener?.close()]);
  await procs.killAll();
  await agent.close();
});

const backend = (svc: string, routes: string[]) => procs.backend(DB, svc, routes, { HYDRA_REDIS_URL: redisUrl });
const router = () => procs.router(DB, { redis: redisUrl });

test('joins and leaves are announced once each; a steady cluster announces nothing', async () => {
  const { base } = await router();
  const a = await backend('steady-a', ['[get]/v1/steady/a']);
  const b = await backend('steady-b', ['[get]/v1/steady/b']);
  await waitFor('both routed', async () => (await http(`${base}/v1/steady/a`)).status === 200 && (await http(`${base}/v1/steady/b`)).status === 200, 30_000);
  const ups = announcements.filter((c) => c.op === 'up').map((c) => c.node.instanceID);
  assert.ok(ups.includes(a.instanceId) && ups.includes(b.instanceId));
  // Heartbeats renew presence without telling anyone: 3 s (3 beats each) with nothing announced.
  announcements = [];
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(announcements, []);

  b.proc.kill('SIGKILL');
  await waitFor('the SIGKILLed instance announced gone', () => announcements.some((c) => c.op === 'down' && c.id === b.instanceId), 15_000);
  assert.deepEqual(announcements, [{ op: 'down', service: 'steady-b', id: b.instanceId, reason: 'expired' }]);
  await waitFor('its route unavailable', async () => (await http(`${base}/v1/steady/b`)).status === 503, 15_000);
  assert.equal((await http(`${base}/v1/steady/a`)).status, 200);
});

test('a Hydra peer (which never announces) is found by the router and dropped when SIGKILLed', async () => {
  const { base } = await router();
  const peer = await procs.hydraPeer(DB, 'hydra-express-service', 'hx-scale', redisUrl);
  await waitFor('the Hydra peer routed', async () => (await http(`${base}/v1/hx/hello`)).status === 200, 30_000);
  assert.ok(announcements.some((c) => c.op === 'up' && c.node.instanceID === peer.instanceId), 'adopted into the index and announced');
  peer.proc.kill('SIGKILL');
  await waitFor('the Hydra peer announced gone', () => announcements.some((c) => c.op === 'down' && c.id === peer.instanceId && c.reason === 'expired'), 15_000);
  await waitFor('its route unavailable', async () => (await http(`${base}/v1/hx/hello`)).status === 503, 15_000);
});

test('after a FLUSHDB a service is whole again: listed, and routed by the old router and by one started afterwards', async () => {
  const { base: before } = await router();
  const svc = await backend('flushed', ['[get]/v1/flushed/who']);
  await waitFor('routed', async () => (await http(`${before}/v1/flushed/who`)).status === 200, 30_000);
  await observer.flushDb();
  const redis = observer as unknown as RedisClient;
  await waitFor('the service record back', async () => (await readServices(redis)).some((s) => s.serviceName === 'flushed'), 15_000);
  await waitFor('the routes back', async () => (await readRoutes(redis, 'flushed'))['flushed']?.includes('[get]/v1/flushed/who'), 15_000);
  const { base: after } = await router();
  for (const base of [before, after]) {
    const r = await waitFor(`routed by ${base}`, async () => {
      const answer = await http(`${base}/v1/flushed/who`);
      return answer.status === 200 ? answer : undefined;
    }, 15_000);
    assert.equal(r.json().instance, svc.instanceId);
  }
});
