import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readPresence, readRoutes, readHealthLog, readNodes, pruneNodes, keys, HydraError } from '../src/index.js';
import { freshDb, startService, waitFor, redisUrl, captureLogger } from './helpers.js';

const DB = 3;
let redis: Awaited<ReturnType<typeof freshDb>>;
before(async () => (redis = await freshDb(DB)));
after(() => redis.close());

test('a new instance is seen without asking Redis, and a closed one is dropped', async () => {
  const watcher = await startService(DB, 'watcher');
  try {
    const ups: string[] = [];
    const downs: string[] = [];
    const reasons: string[] = [];
    watcher.discovery.on('up', (i) => ups.push(i.instanceID));
    watcher.discovery.on('down', (i, reason) => {
      downs.push(i.instanceID);
      reasons.push(reason);
    });
    // A service's view follows the services it calls, from the first ask on.
    assert.deepEqual(await watcher.getServicePresence('disc-svc'), []);
    const svc = await startService(DB, 'disc-svc');
    await waitFor('up event', () => ups.includes(svc.instanceId));
    const [inst] = (await watcher.getServicePresence('disc-svc'));
    assert.equal(inst!.instanceID, svc.instanceId);
    assert.equal(typeof inst!.port, 'number');
    await svc.close();
    await waitFor('down event', () => downs.includes(svc.instanceId));
    assert.deepEqual((await watcher.getServicePresence('disc-svc')), []);
    assert.deepEqual(reasons, ['removed'], 'a graceful close deletes presence: it may still be finishing work');
  } finally {
    await watcher.close();
  }
});

test('an instance whose process dies is dropped when its presence expires', async () => {
  const watcher = await startService(DB, 'watcher2');
  const child = spawn(process.execPath, ['-e', `
    const { Hydra } = require(${JSON.stringify(join(__dirname, '..', 'src', 'index.js'))});
    const { pino } = require('pino');
    Hydra.create({ hydra: { serviceName: 'doomed', serviceIP: '127.0.0.1', redis: { url: ${JSON.stringify(redisUrl(DB))} } } }, { logger: pino({ level: 'silent' }), env: {} })
      .then((h) => h.registerService().then(() => console.log(h.instanceId)));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const id = (await waitFor('child registered', () => out.trim())).trim();
    await waitFor('child seen', async () => (await watcher.getServicePresence('doomed')).length === 1);
    const reasons: string[] = [];
    watcher.discovery.on('down', (i, reason) => {
      if (i.instanceID === id) reasons.push(reason);
    });
    child.kill('SIGKILL');
    await waitFor('expiry noticed', async () => (await watcher.getServicePresence('doomed')).length === 0);
    assert.deepEqual(reasons, ['expired'], 'an expired presence says the process stopped heartbeating');
    assert.equal(await redis.exists(keys.presence('doomed', id)), 0);
  } finally {
    child.kill('SIGKILL');
    await watcher.close();
  }
});

test('service names match exactly: "svc" does not see "svc-extra"', async () => {
  const a = await startService(DB, 'svc');
  const b = await startService(DB, 'svc-extra');
  const c = await startService(DB, 'extra-svc');
  try {
    await waitFor('all seen', async () => (await a.getServicePresence('extra-svc')).length === 1 && (await a.getServicePresence('svc-extra')).length === 1);
    assert.deepEqual((await a.getServicePresence('svc')).map((i) => i.instanceID), [a.instanceId]);
    assert.deepEqual((await readPresence(redis, 'svc')).map((i) => i.instanceID), [a.instanceId]);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test('a glob in a service name is refused, never used as a pattern', async () => {
  await assert.rejects(readPresence(redis, 'sv*'), (e: unknown) => e instanceof HydraError && e.code === 'INVALID_SERVICE_NAME');
  await assert.rejects(readPresence(redis, 'a:b'), (e: unknown) => e instanceof HydraError && e.code === 'INVALID_SERVICE_NAME');
});

test('a Hydra-style entry with the port as a string is read as a number', async () => {
  const id = 'c'.repeat(32);
  await redis.hSet(keys.nodes(), id, JSON.stringify({ serviceName: 'strport', instanceID: id, ip: '127.0.0.1', port: '5099', updatedOn: new Date().toISOString() }));
  await redis.setEx(keys.presence('strport', id), 3, id);
  const [inst] = await readPresence(redis, 'strport');
  assert.equal(inst!.port, 5099);
});

test('a key of the wrong type is skipped with one warning naming it; the rest of the registry still reads', async () => {
  const { logger, lines } = captureLogger();
  const svc = await startService(DB, 'typed-svc', {}, { logger });
  const watcher = await startService(DB, 'typed-watcher');
  try {
    await svc.registerRoutes(['[get]/v1/typed']);
    await svc.log('info', 'a log line');
    assert.equal((await watcher.getServicePresence('typed-svc')).length, 1);
    await redis.set(keys.routes('bogus'), 'x');
    await redis.set(keys.healthLog('typed-svc', 'f'.repeat(32)), 'x');
    const skipped: string[] = [];
    const onSkip = (key: string, problem: string) => skipped.push(`${key} ${problem}`);

    const routes = await readRoutes(redis, undefined, onSkip);
    assert.deepEqual(Object.keys(routes), ['typed-svc'], 'the other services are read, the bad key is left out');
    assert.ok(routes['typed-svc']!.includes('[get]/v1/typed'));
    const logs = await readHealthLog(redis, 'typed-svc', onSkip);
    assert.deepEqual(logs.map((l) => l.instanceId), [svc.instanceId]);
    assert.deepEqual(skipped, [
      'hydra:service:bogus:service:routes is a string, not a set',
      `hydra:service:typed-svc:${'f'.repeat(32)}:health:log is a string, not a list`,
    ]);

    // The nodes hash itself replaced by a string: readers answer empty and say why.
    skipped.length = 0;
    await redis.del(keys.nodes());
    await redis.set(keys.nodes(), 'x');
    assert.deepEqual(await readNodes(redis, undefined, onSkip), []);
    assert.deepEqual(await pruneNodes(redis, 0, Date.now(), onSkip), []);
    assert.deepEqual(await readPresence(redis, 'typed-svc', onSkip), []);
    assert.deepEqual(skipped, Array(3).fill('hydra:service:nodes is a string, not a hash'));
    // The heartbeat says so once (not every second), keeps presence alive, and the live view keeps what it knew.
    // The nodes entry is rewritten every tenth beat: up to 10 s after the join.
    await waitFor('the heartbeat warning', () => lines.some((l) => l.key === 'hydra:service:nodes'), 30_000);
    const presence = keys.presence('typed-svc', svc.instanceId);
    const ttlBefore = await redis.pTTL(presence);
    await waitFor('presence refreshed', async () => (await redis.pTTL(presence)) > ttlBefore);
    await watcher.discovery.resync();
    assert.equal((await watcher.getServicePresence('typed-svc')).length, 1);
    assert.equal(lines.filter((l) => l.key === 'hydra:service:nodes').length, 1);
    assert.match(String(lines.find((l) => l.key === 'hydra:service:nodes')!.msg), /skipped Redis key hydra:service:nodes: it is a string, not a hash/);
  } finally {
    await redis.del(keys.nodes());
    await redis.del(keys.routes('bogus'));
    await svc.close();
    await watcher.close();
  }
});
