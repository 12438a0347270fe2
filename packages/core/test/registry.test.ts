import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keys, channels, pruneNodes, readNodes, readServices, readRoutes, readHealth, readHealthLog, type Hydra } from '../src/index.js';
import { freshDb, startService, waitFor } from './helpers.js';

const DB = 2;
let redis: Awaited<ReturnType<typeof freshDb>>;
before(async () => (redis = await freshDb(DB)));
after(() => redis.close());

test('registration writes the keys of docs/wire.md: service, nodes, presence, health', async () => {
  const svc = await startService(DB, 'reg-svc', { serviceType: 'demo', serviceDescription: 'registers', serviceVersion: '1.2.3' });
  try {
    const id = svc.instanceId;
    assert.match(id, /^[0-9a-f]{32}$/);
    const service = JSON.parse((await redis.get(keys.service('reg-svc')))!);
    assert.equal(service.serviceName, 'reg-svc');
    assert.equal(service.type, 'demo');
    assert.ok(!Number.isNaN(Date.parse(service.registeredOn)));

    const node = JSON.parse((await redis.hGet(keys.nodes(), id))!);
    assert.deepEqual(Object.keys(node).sort(), ['hostName', 'instanceID', 'ip', 'port', 'processID', 'serviceDescription', 'serviceName', 'updatedOn', 'version'].sort());
    assert.equal(node.ip, '127.0.0.1');
    assert.equal(node.version, '1.2.3');
    assert.equal(node.processID, process.pid);

    assert.equal(await redis.get(keys.presence('reg-svc', id)), id);
    const ttl = await redis.ttl(keys.presence('reg-svc', id));
    assert.ok(ttl > 0 && ttl <= 3, `presence TTL ${ttl} is within 3 s`);

    const health = JSON.parse((await redis.get(keys.health('reg-svc', id)))!);
    for (const field of ['updatedOn', 'serviceName', 'instanceID', 'hostName', 'sampledOn', 'processID', 'architecture', 'platform', 'nodeVersion', 'memory', 'uptimeSeconds']) assert.ok(field in health, field);
    assert.deepEqual(Object.keys(health.memory).sort(), ['arrayBuffers', 'external', 'heapTotal', 'heapUsed', 'rss']);
  } finally {
    await svc.close();
  }
});

test('health stays present for as long as the instance lives (Hydra lost it 40% of the time)', async () => {
  const svc = await startService(DB, 'health-svc');
  try {
    const deadline = Date.now() + 5000;
    let samples = 0;
    while (Date.now() < deadline) {
      assert.ok(await redis.exists(keys.health('health-svc', svc.instanceId)), `health key present at sample ${samples}`);
      samples++;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await readHealth(redis, 'health-svc')).length, 1);
  } finally {
    await svc.close();
  }
});

test('routes are stored with Hydra\'s self routes and routers are told to refresh', async () => {
  const svc = await startService(DB, 'routes-svc');
  const listener = redis.duplicate();
  await listener.connect();
  const heard: string[] = [];
  await listener.subscribe(channels.service('hydra-router'), (m) => void heard.push(m));
  try {
    await svc.registerRoutes(['[get]/v1/x/:id', '[post]/v1/x']);
    assert.deepEqual((await readRoutes(redis, 'routes-svc'))['routes-svc'], ['[get]/routes-svc', '[get]/routes-svc/', '[get]/routes-svc/:rest', '[get]/v1/x/:id', '[post]/v1/x'].sort());
    const refresh = JSON.parse(await waitFor('refresh broadcast', () => heard[0]));
    assert.equal(refresh.to, 'hydra-router:/refresh');
    assert.equal(refresh.frm, 'routes-svc:/');
    assert.deepEqual(refresh.bdy, { action: 'refresh', serviceName: 'routes-svc' });

    await svc.registerRoutes(['[get]/v2/only']);
    assert.ok(!(await readRoutes(redis, 'routes-svc'))['routes-svc']!.includes('[get]/v1/x/:id'), 'registering replaces old routes');
    assert.ok((await readServices(redis)).some((s) => s.serviceName === 'routes-svc'));
  } finally {
    await listener.close();
    await svc.close();
  }
});

test('the health log keeps the newest 64 entries with a week-long TTL', async () => {
  const svc: Hydra = await startService(DB, 'log-svc');
  try {
    for (let i = 0; i < 70; i++) await svc.log('info', `entry ${i}`);
    const [log] = await readHealthLog(redis, 'log-svc');
    assert.equal(log!.instanceId, svc.instanceId);
    assert.equal(log!.entries.length, 64);
    assert.equal(log!.entries[0]!.msg, 'entry 69');
    assert.deepEqual(Object.keys(log!.entries[0]!).sort(), ['msg', 'processID', 'serviceName', 'ts', 'type']);
    const ttl = await redis.ttl(keys.healthLog('log-svc', svc.instanceId));
    assert.ok(ttl > 604000 && ttl <= 604800);
  } finally {
    await svc.close();
  }
});

test('close() removes presence at once; the nodes entry stays until pruned', async () => {
  const svc = await startService(DB, 'close-svc');
  const id = svc.instanceId;
  await svc.close();
  assert.equal(await redis.exists(keys.presence('close-svc', id)), 0);
  assert.equal(await redis.exists(keys.health('close-svc', id)), 0);
  const nodes = await readNodes(redis, 'close-svc');
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0]!.alive, false);
});

test('pruning removes long-dead nodes entries but never a live one', async () => {
  // Started first: its own heartbeat prunes too (once a minute), which would race the assertions.
  const live = await startService(DB, 'live-svc');
  const old = new Date(Date.now() - 7200_000).toISOString();
  const deadId = 'a'.repeat(32);
  await redis.hSet(keys.nodes(), deadId, JSON.stringify({ serviceName: 'gone', instanceID: deadId, updatedOn: old, ip: '127.0.0.1', port: 1 }));
  await redis.hSet(keys.nodes(), 'b'.repeat(32), 'not json');
  try {
    // An old timestamp with presence: alive after all, so kept.
    await redis.hSet(keys.nodes(), live.instanceId, JSON.stringify({ ...JSON.parse((await redis.hGet(keys.nodes(), live.instanceId))!), updatedOn: old }));
    const removed = await pruneNodes(redis, 3600);
    assert.deepEqual(removed.sort(), [deadId, 'b'.repeat(32)]);
    assert.ok(await redis.hExists(keys.nodes(), live.instanceId));
  } finally {
    await live.close();
  }
});

test('a prune pages through a large nodes hash: every long-dead entry goes, every entry with presence stays', async () => {
  const old = new Date(Date.now() - 7200_000).toISOString();
  const id = (prefix: string, i: number) => `${prefix}${i.toString(16).padStart(31, '0')}`;
  const dead = Array.from({ length: 450 }, (_, i) => id('d', i));
  const present = Array.from({ length: 120 }, (_, i) => id('e', i));
  const entry = (svc: string, instanceID: string) => JSON.stringify({ serviceName: svc, instanceID, updatedOn: old, ip: '127.0.0.1', port: 1 });
  await redis.hSet(keys.nodes(), Object.fromEntries([...dead.map((d) => [d, entry('paged-dead', d)]), ...present.map((p) => [p, entry('paged-live', p)])]));
  for (const p of present) await redis.setEx(keys.presence('paged-live', p), 60, p);
  try {
    const removed = await pruneNodes(redis, 3600);
    // (An earlier test's closed instance may go too: only this test's entries are judged.)
    assert.deepEqual(removed.filter((r) => dead.includes(r)).sort(), dead, 'each dead entry removed once, over several pages');
    assert.ok(!removed.some((r) => present.includes(r)));
    const left = await redis.hKeys(keys.nodes());
    for (const p of present) assert.ok(left.includes(p), p);
    // By id, not by the 'd' prefix: another test's live instance id may start with d too.
    assert.ok(!dead.some((d) => left.includes(d)), 'no dead entry is left');
  } finally {
    await redis.hDel(keys.nodes(), present);
    await redis.del(present.map((p) => keys.presence('paged-live', p)));
  }
});
