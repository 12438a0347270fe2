/**
 * A small cluster (2 managers, 2 workers) of real processes on a Redis of its own,
 * on loopback prefixes and ports no other cluster uses, driven through the
 * programmatic API: what `npm start` runs, and what the fault test builds on.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { freePort, startRedisServer, waitFor } from '@hydra-ts/testing';
import { startCluster, haproxyInstalled, Load, type Cluster } from '../src/index.js';
import { alive, presenceKeys, routerSees } from './helpers.js';
import type { SpanRecord, TraceSummary } from '@hydra-ts/router';

const HELLO = 'hello-service';
const HPP = 'hpp-service';
let redis: { stop: () => Promise<void> };
let redisUrl: string;
let cluster: Cluster | undefined;
const events: string[] = [];

before(async () => {
  const port = await freePort();
  redis = await startRedisServer(port);
  redisUrl = `redis://127.0.0.1:${port}/15`;
});

after(async () => {
  await cluster?.stop();
  await redis?.stop();
});

const helloIds = () => cluster!.list(HELLO).map((i) => i.instanceId!).sort();
const front = () => cluster!.balancerUrl ?? cluster!.routerUrls()[0]!;

test('a small cluster comes up: routers on the managers, hello-service on the workers, each host its own address', async () => {
  cluster = await startCluster({
    managers: 2,
    workers: 2,
    services: [HELLO, HPP],
    redisUrl,
    routerPort: await freePort(),
    servicePorts: { [HELLO]: await freePort(), [HPP]: await freePort() },
    managerPrefix: '127.0.41.',
    workerPrefix: '127.0.42.',
    balancerPort: await freePort(),
    controlSocket: false,
    dashboardTraces: true,
    onEvent: (line) => events.push(line),
  });
  cluster.announce();
  const s = cluster.status();
  const where = s.instances.map((i) => `${i.host} ${i.ip} ${i.service}`);
  assert.deepEqual(where, [
    'manager-1 127.0.41.1 hydra-router',
    'manager-2 127.0.41.2 hydra-router',
    'worker-1 127.0.42.1 hello-service',
    'worker-1 127.0.42.1 hpp-service',
    'worker-2 127.0.42.2 hello-service',
    'worker-2 127.0.42.2 hpp-service',
  ]);
  for (const i of s.instances) assert.ok(alive(i.pid), `${i.service} on ${i.host} runs (pid ${i.pid})`);

  // The registry shows the simulated hosts, as hydra-cli nodes and the dashboard read it.
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    const nodes = Object.values(await client.hGetAll('hydra:service:nodes')).map((v) => JSON.parse(v) as { serviceName: string; ip: string; port: number });
    assert.deepEqual(nodes.map((n) => `${n.serviceName}@${n.ip}`).sort(), [
      'hello-service@127.0.42.1', 'hello-service@127.0.42.2', 'hpp-service@127.0.42.1', 'hpp-service@127.0.42.2', 'hydra-router@127.0.41.1', 'hydra-router@127.0.41.2',
    ]);
    assert.deepEqual(await client.hKeys('hydra:service:hello-service:configs'), ['0.0.2'], 'the config was pushed as hello-service:0.0.2');
    assert.deepEqual(await client.hKeys('hydra:service:hpp-service:configs'), ['0.0.1']);
  } finally {
    await client.close();
  }

  for (const router of cluster.routerUrls()) {
    assert.deepEqual(await routerSees(router, HPP), cluster.list(HPP).map((i) => i.instanceId).sort(), `${router} routes to both players`);
    const res = await fetch(`${router}/v1/hello/test`);
    assert.equal(res.status, 200, `through ${router}`);
    assert.equal(((await res.json()) as { result: { version: string } }).result.version, '0.0.2');
  }
  if (haproxyInstalled()) {
    assert.ok(cluster.balancerUrl, 'HAProxy runs when installed');
    const res = await fetch(`${cluster.balancerUrl}/v1/hello/test`);
    assert.equal(res.status, 200, 'through the balancer');
  } else {
    assert.equal(cluster.balancerUrl, undefined);
    assert.ok(cluster.notes.some((n) => /apt-get install haproxy/.test(n)), 'says how to get HAProxy');
  }
});

test("a hot-potato game is one trace on every router's dashboard, with spans from each player", async () => {
  const res = await fetch(`${front()}/v1/hpp/startgame`);
  assert.equal(res.status, 200, await res.text());
  const players = cluster!.list(HPP).map((i) => i.instanceId!).sort();
  for (const router of cluster!.routerUrls()) {
    // The game's spans leave each process within about a second (the cluster sets OTEL_BSP_SCHEDULE_DELAY).
    const game = await waitFor(`${router} to list the game with spans from the router and all ${players.length} players`, async () => {
      const listed = ((await (await fetch(`${router}/v1/router/traces`)).json()) as { result: TraceSummary[] }).result;
      const t = listed.find((x) => x.route === 'GET /v1/hpp/startgame');
      const complete = t && t.services.find((s) => s.service === HPP)?.instances === players.length && t.services.some((s) => s.service === 'hydra-router');
      return complete ? t : undefined;
    }, 20_000);
    assert.equal(game.rootService, 'hydra-router', 'the trace starts at the router that took the request');
    const { spans } = ((await (await fetch(`${router}/v1/router/traces/${game.traceId}`)).json()) as { result: { spans: SpanRecord[] } }).result;
    assert.deepEqual([...new Set(spans.filter((s) => s.service === HPP).map((s) => s.instance))].sort(), players, 'every player took part in the one trace');
    assert.ok(spans.some((s) => s.name === `send ${HPP}`), 'the passes are in it');
  }
});

test('scale up and down: every router sees each change', async () => {
  assert.equal(await cluster!.scale(HELLO, 4), 'hello-service: 4 instances, seen by every router');
  assert.deepEqual(cluster!.list(HELLO).map((i) => i.host.name).sort(), ['worker-1', 'worker-1', 'worker-2', 'worker-2'], 'spread over the workers');
  for (const router of cluster!.routerUrls()) assert.deepEqual(await routerSees(router, HELLO), helloIds());

  await cluster!.scale(HELLO, 2);
  assert.equal(helloIds().length, 2);
  assert.deepEqual(cluster!.list(HELLO).map((i) => i.host.name).sort(), ['worker-1', 'worker-2'], 'one left on each worker');
  for (const router of cluster!.routerUrls()) assert.deepEqual(await routerSees(router, HELLO), helloIds());
  assert.ok(events.some((e) => /^\+ up {4}hello-service 0\.0\.2 on worker-\d/.test(e)), `an "up" line for each new instance (${events.join(' | ')})`);
  assert.ok(events.some((e) => /^- down {2}hello-service 0\.0\.2 on worker-\d/.test(e)), 'a "down" line for each stopped one');

  await assert.rejects(cluster!.scale('no-such-service', 2), /unknown service "no-such-service"/);
  await assert.rejects(cluster!.scale(HELLO, -1), /whole number of instances/);
});

test('rollout: new version taking traffic, old instances drained, no failed request', async (t) => {
  const oldPids = cluster!.list(HELLO).map((i) => i.child.pid);
  const load = new Load({ url: `${front()}/v1/hello/test`, maxMs: 120_000 });
  await waitFor('answers from the old version', () => load.answeredBy('0.0.2') >= 20, 20_000);
  const message = await cluster!.rollout(HELLO);
  // A few more requests after the last old instance left.
  await new Promise((r) => setTimeout(r, 300));
  const result = await load.stop();

  t.diagnostic(`rollout through ${front()}: ${result.sent} requests, ${result.failed} failed`);
  assert.equal(message, 'hello-service rolled from 0.0.2 to 0.0.3 (2 instances)');
  assert.equal(result.failed, 0, `no failed request out of ${result.sent}: ${result.failures.map((f) => f.what).join('; ')}`);
  const [before, after] = [result.versions.get('0.0.2'), result.versions.get('0.0.3')];
  assert.ok(before && after, 'answers came from both versions during the rollout');
  assert.ok(after.last > before.last, 'the last answers come from the new version');
  assert.deepEqual(cluster!.list(HELLO).map((i) => i.version), ['0.0.3', '0.0.3']);
  for (const pid of oldPids) assert.ok(!alive(pid), `old instance ${pid} exited`);
  for (const router of cluster!.routerUrls()) assert.deepEqual(await routerSees(router, HELLO), helloIds());

  // A scale-up after the rollout starts the new version.
  await cluster!.scale(HELLO, 3);
  assert.deepEqual(cluster!.list(HELLO).map((i) => i.version), ['0.0.3', '0.0.3', '0.0.3']);
});

test('kill a host: SIGKILL of its processes; its instances leave every router', async () => {
  const onWorker1 = cluster!.list().filter((i) => i.host.name === 'worker-1');
  assert.ok(onWorker1.length >= 1);
  const gone = onWorker1.map((i) => i.instanceId!);
  const text = await cluster!.kill('worker-1');
  assert.match(text, /^worker-1 \(127\.0\.42\.1\) killed: .*hello-service pid \d+/);
  assert.match(text, /hpp-service pid \d+/);
  for (const i of onWorker1) assert.ok(!alive(i.child.pid), `pid ${i.child.pid} is gone`);
  for (const router of cluster!.routerUrls()) {
    await waitFor(`${router} to drop worker-1's instances`, async () => !(await routerSees(router, HELLO)).some((id) => gone.includes(id)), 10_000);
  }
  const res = await fetch(`${front()}/v1/hello/test`);
  assert.equal(res.status, 200, 'the rest still answers');

  await assert.rejects(cluster!.kill('worker-1'), /already down/);
  await assert.rejects(cluster!.kill('worker-9'), /no host "worker-9"/);
  await cluster!.scale(HELLO, 3);
  assert.deepEqual(cluster!.list(HELLO).map((i) => i.host.name), ['worker-2', 'worker-2', 'worker-2'], 'nothing is placed on a dead host');

  assert.match(await cluster!.restart('worker-1'), /worker-1 \(127\.0\.42\.1\) is back, empty/);
  await cluster!.scale(HELLO, 4);
  assert.deepEqual(cluster!.list(HELLO).map((i) => i.host.name).sort(), ['worker-1', 'worker-2', 'worker-2', 'worker-2'], 'a restarted host takes new instances');
});

test('kill a manager: the other router (and the balancer) still answer; restart brings its router back', async () => {
  await cluster!.kill('manager-2');
  assert.deepEqual(cluster!.routerUrls(), [`http://127.0.41.1:${cluster!.opts.routerPort}`]);
  for (let n = 0; n < 4; n++) {
    const res = await fetch(`${front()}/v1/hello/test`);
    assert.equal(res.status, 200, `request ${n} after the router died`);
  }
  assert.match(await cluster!.restart('manager-2'), /manager-2 \(127\.0\.41\.2\) is back with its router \(pid \d+\)/);
  const router2 = `http://127.0.41.2:${cluster!.opts.routerPort}`;
  await waitFor('the restarted router to see every hello-service instance', async () => (await routerSees(router2, HELLO)).join() === helloIds().join());
  assert.equal((await fetch(`${router2}/v1/hello/test`)).status, 200);
});

test('stop: every process ended by pid, no presence key and no nodes entry left', async () => {
  const pids = [...cluster!.list().map((i) => i.child.pid), ...(cluster!.balancerPid ? [cluster!.balancerPid] : [])];
  assert.ok(pids.length >= 5);
  const dir = cluster!.dir;
  await cluster!.stop();
  for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} is gone`);
  assert.deepEqual(await presenceKeys(redisUrl), []);
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    assert.equal(await client.hLen('hydra:service:nodes'), 0);
  } finally {
    await client.close();
  }
  const { existsSync } = await import('node:fs');
  assert.ok(!existsSync(dir), 'its temp directory is removed');
  cluster = undefined;
});
