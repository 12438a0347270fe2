/** Redis going away, coming back empty, refusing CONFIG, or never answering. Each test runs its own redis-server. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { Hydra, HydraError, keys, deadlineMember, readRoutes } from '../src/index.js';
import { startRedisServer, waitFor, redisUrl, captureLogger, quietLogger, freePort } from './helpers.js';

// Each test's private redis-server gets a free port: fixed ports collided with other runs on the machine.
let PORT = 0;
before(async () => {
  PORT = await freePort();
});

const config = (name: string, port = PORT) => ({ hydra: { serviceName: name, serviceIP: '127.0.0.1', redis: { url: redisUrl(0, port) } } });

test('an unreachable Redis at start is a clear error naming the URL, not a hang or a crash', async () => {
  await assert.rejects(
    Hydra.create(config('nowhere', 1), { logger: quietLogger(), env: {} }),
    (e: unknown) => e instanceof HydraError && e.code === 'REDIS_UNAVAILABLE' && e.message.includes('redis://127.0.0.1:1/0'),
  );
});

test('the password in a Redis URL never appears in errors', async () => {
  await assert.rejects(
    Hydra.create({ hydra: { serviceName: 'pw', redis: { url: 'redis://user:hunter2@127.0.0.1:1/0' } } }, { logger: quietLogger(), env: {} }),
    (e: unknown) => e instanceof Error && !e.message.includes('hunter2') && e.message.includes('***'),
  );
});

test('Redis restarting empty: the service survives, says so, re-registers and messages flow again', async (t) => {
  let redisServer = await startRedisServer(PORT);
  t.after(() => redisServer.stop());
  const { logger, lines } = captureLogger();
  const server = await Hydra.create(config('phoenix'), { logger, env: {} });
  const client = await Hydra.create(config('phoenix-client'), { logger: quietLogger(), env: {} });
  t.after(() => Promise.all([server.close(), client.close()]));
  await server.registerService();
  await server.registerRoutes(['[get]/v1/phoenix']);
  await client.registerService();
  server.onMessage((m) => void server.sendReplyMessage(m, { body: { alive: true } }).catch(() => undefined));
  await waitFor('server seen', async () => (await client.getServicePresence('phoenix')).length === 1);
  assert.equal((await client.request({ to: 'phoenix:/', body: {} })).body.alive, true);

  await redisServer.stop();
  await waitFor('loss logged', () => lines.some((l) => l.msg === 'Redis connection lost; reconnecting'));
  await assert.rejects(client.sendMessage({ to: 'phoenix:/', body: {} }), (e: unknown) => e instanceof HydraError && e.code === 'REDIS_UNAVAILABLE');
  // Not only publish: any command fails at once (no offline queue holding it until Redis returns).
  const stillPending = new Promise((_, reject) => setTimeout(() => reject(new Error('queueMessage still pending 5 s after Redis went away')), 5000).unref());
  await assert.rejects(
    Promise.race([client.queueMessage({ to: 'phoenix:/', body: {} }), stillPending]),
    (e: unknown) => e instanceof HydraError && e.code === 'REDIS_UNAVAILABLE' && /Redis is not connected/.test(e.message),
  );

  redisServer = await startRedisServer(PORT);
  await waitFor('restore logged', () => lines.some((l) => l.msg === 're-registered after Redis reconnect'), 20_000);
  const probe = createClient({ url: redisUrl(0, PORT) });
  await probe.connect();
  try {
    await waitFor('presence back', () => probe.exists(keys.presence('phoenix', server.instanceId)));
    assert.ok(await probe.exists(keys.service('phoenix')));
    assert.ok((await readRoutes(probe as never, 'phoenix'))['phoenix']!.includes('[get]/v1/phoenix'), 'routes restored');
    // hydra-ts's index is back too: routers started now find the service.
    assert.notEqual(await probe.zScore(keys.deadlines(), deadlineMember('phoenix', server.instanceId)), null);
    assert.ok(await probe.sIsMember(keys.instancesOf('phoenix'), server.instanceId));
  } finally {
    await probe.close();
  }
  const reply = await waitFor('request after restart', async () => {
    try {
      return await client.request({ to: 'phoenix:/', body: {} }, 1000);
    } catch {
      return undefined;
    }
  }, 20_000);
  assert.equal(reply.body.alive, true);
});

test('discovery needs no CONFIG (refused by managed Redis services): joins and leaves are still seen', async (t) => {
  const noConfigPort = await freePort();
  const redisServer = await startRedisServer(noConfigPort, ['--rename-command', 'CONFIG', '']);
  t.after(() => redisServer.stop());
  const { logger, lines } = captureLogger();
  const watcher = await Hydra.create(config('poll-watcher', noConfigPort), { logger, env: {} });
  const svc = await Hydra.create(config('poll-svc', noConfigPort), { logger: quietLogger(), env: {} });
  t.after(() => Promise.all([watcher.close(), svc.close()]));
  assert.deepEqual(await watcher.getServicePresence('poll-svc'), []);
  await svc.registerService();
  await waitFor('join seen', async () => (await watcher.getServicePresence('poll-svc')).length === 1);
  await svc.close();
  await waitFor('leave seen', async () => (await watcher.getServicePresence('poll-svc')).length === 0);
  assert.deepEqual(lines.filter((l) => Number(l.level) >= 40).map((l) => l.msg), [], 'nothing to warn about');
});

test('Redis AUTH rides in the URL; a wrong password is a clear error', async (t) => {
  const authPort = await freePort();
  const redisServer = await startRedisServer(authPort, ['--requirepass', 'pa55']);
  t.after(() => redisServer.stop());
  const url = (pw: string) => ({ hydra: { serviceName: 'authed', serviceIP: '127.0.0.1', redis: { url: `redis://:${pw}@127.0.0.1:${authPort}/0` } } });
  const svc = await Hydra.create(url('pa55'), { logger: quietLogger(), env: {} });
  t.after(() => svc.close());
  await svc.registerService();
  await waitFor('registered behind AUTH', async () => (await svc.getServicePresence('authed')).length === 1);
  await assert.rejects(
    Hydra.create(url('wrong'), { logger: quietLogger(), env: {} }),
    (e: unknown) => e instanceof HydraError && e.code === 'REDIS_UNAVAILABLE' && !e.message.includes('wrong'),
  );
});
