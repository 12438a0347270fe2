/**
 * services, nodes, routes, health, healthlog against a live cluster in Redis
 * database 12: two instances of a hydra-ts service, one service on the
 * published hydra@1.9.3, and dead entries as Hydra leaves them behind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { RedisClient } from '@hydra-ts/core';
import { writeFileSync } from 'node:fs';
import { cli, cliJson, closeRedis, openTestRedis, redisUrl, tempHome, startChild, stopAllChildren, stopProcess, waitFor, CLI_ROOT, type Child } from './helpers.js';

const DB = 12;
const URL = redisUrl(DB);
const FIXTURE = join(CLI_ROOT, 'dist', 'test', 'fixtures', 'service.js');
const DEAD_ID = 'dead0000000000000000000000000001';
const RECENTLY_DEAD_ID = 'dead0000000000000000000000000002';
const GONE_ID = 'dead0000000000000000000000000003';

let redis: RedisClient;
let home: { home: string; remove(): void };
const alpha: Array<{ instanceId: string; port: number }> = [];
let legacy: { instanceID: string; port: number };

const run = (args: string[]) => cli(args, { home: home.home, env: { HYDRA_REDIS_URL: URL } });
const runJson = <T>(args: string[]) => cliJson<T>(args, { home: home.home, env: { HYDRA_REDIS_URL: URL } });

interface NodeJson {
  serviceName: string;
  instanceID: string;
  port: number;
  ip: string;
  elapsed: number;
  alive: boolean;
}

async function ready(child: Child, what: string): Promise<string> {
  return waitFor(what, () => child.lines.find((l) => l.startsWith('READY ')), 15000).catch((err: Error) => {
    throw new Error(`${err.message}: ${child.output()}`);
  });
}

function deadEntry(id: string, serviceName: string, secondsAgo: number): string {
  return JSON.stringify({
    serviceName,
    serviceDescription: 'gone',
    version: '0.0.1',
    instanceID: id,
    updatedOn: new Date(Date.now() - secondsAgo * 1000).toISOString(),
    processID: 1,
    ip: '127.0.0.1',
    port: '4999', // Hydra writes a configured port as a string
    hostName: 'old-host',
  });
}

before(async () => {
  redis = await openTestRedis(DB);
  home = tempHome();
  for (let i = 0; i < 2; i++) {
    const child = startChild([FIXTURE, 'alpha-service'], { HYDRA_REDIS_URL: URL });
    alpha.push(JSON.parse((await ready(child, 'alpha-service')).slice(6)) as { instanceId: string; port: number });
  }
  const script = `
    const hydra = require('hydra');
    hydra.init({ hydra: { serviceName: 'legacy-svc', serviceType: 'legacy', serviceDescription: 'hydra 1.9.3', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: process.env.HYDRA_REDIS_URL } } })
      .then(() => hydra.registerService())
      .then((reg) => hydra.registerRoutes(['[get]/v1/legacy/ping']).then(() => console.log('READY ' + JSON.stringify({ instanceID: hydra.getInstanceID(), port: reg.servicePort }))))
      .catch((err) => { console.log('FAILED ' + err.message); process.exit(1); });
    process.on('SIGTERM', () => hydra.shutdown().then(() => process.exit(0)));`;
  const hydraChild = startChild(['-e', script], { HYDRA_REDIS_URL: URL });
  legacy = JSON.parse((await ready(hydraChild, 'hydra@1.9.3 service')).slice(6)) as { instanceID: string; port: number };

  await redis.hSet('hydra:service:nodes', DEAD_ID, deadEntry(DEAD_ID, 'alpha-service', 7200));
  await redis.hSet('hydra:service:nodes', RECENTLY_DEAD_ID, deadEntry(RECENTLY_DEAD_ID, 'alpha-service', 30));
  await redis.set('hydra:service:gone-service:service', JSON.stringify({ serviceName: 'gone-service', type: 'gone', registeredOn: '2020-01-01T00:00:00.000Z' }));
  await redis.hSet('hydra:service:nodes', GONE_ID, deadEntry(GONE_ID, 'gone-service', 90000));
});

after(async () => {
  await stopAllChildren();
  await closeRedis(redis);
  home.remove();
});

test('services lists every registered service with its live instance count', async () => {
  const services = await runJson<Array<{ serviceName: string; type: string; registeredOn: string; instances: number }>>(['services']);
  assert.deepEqual(
    services.map((s) => [s.serviceName, s.type, s.instances]),
    [
      ['alpha-service', 'fixture', 2],
      ['gone-service', 'gone', 0],
      ['legacy-svc', 'legacy', 1],
    ],
  );
  assert.ok(services.every((s) => !Number.isNaN(Date.parse(s.registeredOn))));
  assert.deepEqual((await runJson<Array<{ serviceName: string }>>(['services', 'legacy-svc'])).map((s) => s.serviceName), ['legacy-svc']);
});

test('nodes shows every instance, hydra-ts and Hydra alike, with age and liveness', async () => {
  const nodes = await runJson<NodeJson[]>(['nodes']);
  const byId = new Map(nodes.map((n) => [n.instanceID, n]));
  for (const a of alpha) assert.deepEqual([byId.get(a.instanceId)?.alive, byId.get(a.instanceId)?.port], [true, a.port]);
  assert.deepEqual([byId.get(legacy.instanceID)?.serviceName, byId.get(legacy.instanceID)?.alive, byId.get(legacy.instanceID)?.port], ['legacy-svc', true, legacy.port]);
  const dead = byId.get(DEAD_ID)!;
  assert.equal(dead.alive, false);
  assert.equal(dead.port, 4999, 'a port Hydra stored as a string is read as a number');
  assert.ok(dead.elapsed >= 7200 && dead.elapsed < 7300, `elapsed ${dead.elapsed}`);
  assert.equal(nodes.length, 6);

  const onlyAlpha = await runJson<NodeJson[]>(['nodes', 'alpha-service']);
  assert.deepEqual(onlyAlpha.map((n) => n.instanceID).sort(), [...alpha.map((a) => a.instanceId), DEAD_ID, RECENTLY_DEAD_ID].sort());
  assert.deepEqual(onlyAlpha.map((n) => n.alive), [true, true, false, false], 'live instances first');
});

test('the nodes table marks dead instances and shows how long ago each was seen', async () => {
  const r = await run(['nodes', '--table']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^SERVICE\s+INSTANCE\s+VERSION\s+ADDRESS\s+PID\s+HOST\s+LAST SEEN\s+STATUS$/);
  assert.match(lines.find((l) => l.includes(DEAD_ID))!, /127\.0\.0\.1:4999\s+1\s+old-host\s+2h 0m ago\s+DEAD$/);
  assert.match(lines.find((l) => l.includes(GONE_ID))!, /1d 1h ago\s+DEAD$/);
  for (const a of alpha) assert.match(lines.find((l) => l.includes(a.instanceId))!, new RegExp(`127\\.0\\.0\\.1:${a.port}\\s.*\\d+s ago\\s+up$`));
});

test('routes shows what each service published, or one service', async () => {
  const routes = await runJson<Record<string, string[]>>(['routes']);
  assert.deepEqual(Object.keys(routes), ['alpha-service', 'legacy-svc']);
  assert.deepEqual(routes['alpha-service'], ['[get]/alpha-service', '[get]/alpha-service/', '[get]/alpha-service/:rest', '[get]/v1/hello', '[post]/v1/echo']);
  assert.ok(routes['legacy-svc']!.includes('[get]/v1/legacy/ping'));
  assert.deepEqual(await runJson<Record<string, string[]>>(['routes', 'legacy-svc']), { 'legacy-svc': routes['legacy-svc'] });
  const table = await run(['routes', 'alpha-service', '--table']);
  assert.match(table.stdout, /^alpha-service\s+POST\s+\/v1\/echo$/m);
});

test('health shows the reports of live instances; the table marks the dead', async () => {
  // Hydra's own health key lives 3 s and is refreshed every 5 s, so it is polled for.
  const health = await waitFor('health of every live instance', async () => {
    const h = await runJson<Array<Array<{ serviceName: string; instanceID: string; memory: { rss: number } }>>>(['health']);
    const ids = h.flat().map((d) => d.instanceID);
    return [...alpha.map((a) => a.instanceId), legacy.instanceID].every((id) => ids.includes(id)) ? h : undefined;
  }, 60_000); // each try starts a CLI process, which takes seconds on a busy machine
  assert.deepEqual(health.map((s) => s[0]!.serviceName), ['alpha-service', 'legacy-svc']);
  assert.ok(health.flat().every((d) => d.memory.rss > 0));

  const alphaOnly = await runJson<Array<Array<{ instanceID: string }>>>(['health', 'alpha-service']);
  assert.equal(alphaOnly.length, 1);
  assert.deepEqual(alphaOnly[0]!.map((d) => d.instanceID).sort(), alpha.map((a) => a.instanceId).sort());

  const table = await run(['health', 'alpha-service', '--table']);
  assert.match(table.stdout, new RegExp(`${DEAD_ID}.*DEAD$`, 'm'));
  for (const a of alpha) assert.match(table.stdout, new RegExp(`${a.instanceId}\\s+\\d+\\s+\\S+\\s+[\\d.]+ MB\\s+[\\d.]+ MB\\s+\\S+.*\\s+up$`, 'm'));
});

test('healthlog shows the log of every instance, not only the first', async () => {
  const logs = await runJson<Array<{ instanceId: string; entries: Array<{ type: string; msg: string }> }>>(['healthlog', 'alpha-service']);
  assert.deepEqual(logs.map((l) => l.instanceId).sort(), alpha.map((a) => a.instanceId).sort());
  for (const l of logs) assert.ok(l.entries.some((e) => e.type === 'info' && /^started on port \d+$/.test(e.msg)));
  const text = await run(['healthlog', 'alpha-service', '--table']);
  for (const a of alpha) assert.match(text.stdout, new RegExp(`^${a.instanceId} info \\| \\S+ PID:\\d+: started on port ${a.port}$`, 'm'));
  assert.equal((await run(['healthlog', 'nobody', '--table'])).stdout, '(no health log for nobody)\n');
});

test('a service name that cannot be one is refused', async () => {
  for (const cmd of ['nodes', 'routes', 'health', 'healthlog', 'services']) {
    const r = await run([cmd, 'Bad*Name']);
    assert.equal(r.code, 1, cmd);
    assert.match(r.stderr, /service "Bad\*Name" is not a valid service name/);
  }
});

test('nodes --prune removes long-dead entries only', async () => {
  const r = await run(['nodes', '--prune', '--older-than', '3600', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /pruned 2 dead entries not seen for 1h 0m or more/);
  const ids = (JSON.parse(r.stdout) as NodeJson[]).map((n) => n.instanceID);
  assert.ok(!ids.includes(DEAD_ID) && !ids.includes(GONE_ID));
  assert.ok(ids.includes(RECENTLY_DEAD_ID), 'an entry dead for 30 s is kept');
  for (const id of [...alpha.map((a) => a.instanceId), legacy.instanceID]) assert.ok(ids.includes(id));
  assert.equal(await redis.hExists('hydra:service:nodes', DEAD_ID), 0);
  const bad = await run(['nodes', '--prune', '--older-than', 'soon']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--older-than "soon" must be a whole number of seconds/);
});

test('a Redis key of the wrong type is named on stderr and left out; every command still answers', async () => {
  const badRoutes = 'hydra:service:bogus:service:routes';
  const badLog = `hydra:service:alpha-service:${alpha[0]!.instanceId}:health:log`;
  await redis.set(badRoutes, 'x');
  await redis.del(badLog);
  await redis.set(badLog, 'x');
  try {
    const routes = await run(['routes', '--json']);
    assert.equal(routes.code, 0, routes.stderr);
    assert.deepEqual(Object.keys(JSON.parse(routes.stdout) as object), ['alpha-service', 'legacy-svc']);
    assert.equal(routes.stderr, `warning: skipped Redis key ${badRoutes}: it is a string, not a set\n`);

    const log = await run(['healthlog', 'alpha-service', '--json']);
    assert.equal(log.code, 0, log.stderr);
    assert.ok(!(JSON.parse(log.stdout) as Array<{ instanceId: string }>).some((l) => l.instanceId === alpha[0]!.instanceId));
    assert.equal(log.stderr, `warning: skipped Redis key ${badLog}: it is a string, not a list\n`);

    await redis.del('hydra:service:nodes');
    await redis.set('hydra:service:nodes', 'x');
    const nodesWarning = 'warning: skipped Redis key hydra:service:nodes: it is a string, not a hash\n';
    for (const args of [['nodes'], ['services'], ['health'], ['nodes', '--prune'], ['refresh', 'node', 'list']]) {
      const r = await run([...args, '--json']);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes(nodesWarning), `${args.join(' ')}: ${r.stderr}`);
    }
    assert.deepEqual((await runJson<Array<{ serviceName: string }>>(['services'])).map((s) => s.serviceName).sort(), ['alpha-service', 'gone-service', 'legacy-svc'], 'services still listed');
  } finally {
    // Each live instance rewrites its nodes entry within a second.
    await redis.del([badRoutes, badLog, 'hydra:service:nodes']);
  }
});

test('redis info prints the server\'s INFO as hydra-cli does, or one section as JSON', async () => {
  const text = await run(['redis', 'info', '--table']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^# Server\nredis_version:\d+\.\d+\.\d+$/m);
  assert.match(text.stdout, /^# Keyspace$/m);
  const keyspace = await runJson<Record<string, Record<string, string>>>(['redis', 'info', 'keyspace']);
  // This file's database holds the services registered above.
  assert.match(keyspace.keyspace![`db${DB}`]!, /^keys=\d+,expires=\d+/);
  assert.equal(keyspace.server, undefined, 'only the section asked for');
  const bad = await run(['redis', 'info', 'memory; flushall']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /is not an INFO section name/);
  const none = await run(['redis']);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /redis needs a subcommand/);
});

test('names like __proto__, constructor, toString and hasOwnProperty are shown like any other, from a live service and from planted nodes entries', async () => {
  const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
  // `constructor` is a valid service name: a real one. The others only get in by writing Redis
  // directly, as instance ids (hash fields) and service names, with fields that are not text.
  const child = startChild([FIXTURE, 'constructor'], { HYDRA_REDIS_URL: URL });
  const live = JSON.parse((await ready(child, 'the constructor service')).slice(6)) as { instanceId: string };
  for (const name of odd) await redis.hSet('hydra:service:nodes', name, JSON.stringify({ ...(JSON.parse(deadEntry(name, name, 7200)) as object), version: 42, hostName: { a: 1 } }));
  try {
    const nodes = await runJson<NodeJson[]>(['nodes']);
    for (const name of odd) assert.deepEqual(nodes.filter((n) => n.instanceID === name).map((n) => [n.serviceName, n.alive]), [[name, false]], name);
    assert.ok(nodes.some((n) => n.instanceID === live.instanceId && n.serviceName === 'constructor' && n.alive));
    const table = await run(['nodes', '--table']);
    assert.equal(table.code, 0, table.stderr);
    for (const name of odd) assert.match(table.stdout, new RegExp(`^${name}\\s+${name}\\s+42\\s+127\\.0\\.0\\.1:4999\\s+1\\s+\\{"a":1\\}\\s+2h 0m ago\\s+DEAD$`, 'm'), name);
    for (const args of [['health'], ['services'], ['routes'], ['nodes', 'constructor'], ['health', 'constructor']]) {
      const r = await run([...args, '--table']);
      assert.deepEqual([r.code, r.stderr], [0, ''], args.join(' '));
    }
    const services = await runJson<Array<{ serviceName: string; instances: number }>>(['services', 'constructor']);
    assert.deepEqual(services.map((s) => [s.serviceName, s.instances]), [['constructor', 1]]);
    const routes = Object.entries(await runJson<Record<string, string[]>>(['routes', 'constructor']));
    assert.deepEqual(routes.map(([name, list]) => [name, list.includes('[get]/v1/hello')]), [['constructor', true]]);
    const config = join(home.home, 'constructor.json');
    writeFileSync(config, JSON.stringify({ hydra: { serviceName: 'constructor' } }));
    assert.equal((await run(['cfg', 'push', 'constructor:1.0.0', config])).code, 0);
    assert.deepEqual(await runJson<string[]>(['cfg', 'list', 'constructor']), ['constructor:1.0.0']);
    assert.deepEqual(await runJson<unknown>(['cfg', 'pull', 'constructor:1.0.0']), { hydra: { serviceName: 'constructor' } });

    // Every planted entry is seen by the prune as well (a field named __proto__ was invisible to it).
    const pruned = await run(['nodes', '--prune', '--older-than', '3600', '--json']);
    assert.equal(pruned.code, 0, pruned.stderr);
    for (const name of odd) assert.equal(await redis.hExists('hydra:service:nodes', name), 0, name);
  } finally {
    await stopProcess(child.child);
    await redis.del(['hydra:service:constructor:service', 'hydra:service:constructor:service:routes', 'hydra:service:constructor:configs']);
    await redis.hDel('hydra:service:nodes', [...odd, live.instanceId]);
  }
});
