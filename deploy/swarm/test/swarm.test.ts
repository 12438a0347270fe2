/**
 * The article's cluster on a real swarm: two managers and two workers (each a dockerd in
 * its own network namespace), the images built from deploy/docker and pushed to a
 * registry that needs a login, the stack deployed with --with-registry-auth, HAProxy in
 * front of the managers' routers, then, under a steady bounded GET load through the
 * balancer: scaling, a rolling update and its rollback, a killed container, a drained
 * worker. Prints the figures of each step.
 *
 *   sudo npm run test:swarm        (needs docker.io, docker-registry, apache2-utils, busybox-static, haproxy)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { patterns } from '@hydra-ts/core';
import { freePort } from '@hydra-ts/testing';
import { Load, type LoadCounts } from '@hydra-ts/local-cluster';
import { checkPrerequisites } from './prereqs.js';
import { clean, leftovers, prepareDir, startBalancer, startBuilder, startNode, startRedis, startRegistry, makeBridge, Engine, DOCKER_ENV, LAB_DIR, NODES, type NodeName } from './lab.js';
import { run, sleep } from './run.js';

const ROOT = join(__dirname, '..', '..', '..', '..');
const STACK = 'hydra';
const HELLO = `${STACK}_hello-service`;
const MGR_IP = NODES[0].ip;
const MANAGERS = NODES.filter((n) => n.role === 'manager');
/** Each manager's router: port 80, published in host mode on the node. */
const ROUTERS = MANAGERS.map((n) => `http://${n.ip}`);
const OVERLAY_SUBNET = '198.19.160.0/24'; // the configs' serviceIP is 198.19.160.*
const REGISTRY_USER = 'hydra';
const REGISTRY_PASSWORD = randomBytes(12).toString('hex');
const REDIS_PASSWORD = randomBytes(12).toString('hex');
const BASE_IMAGE = 'hydra-node-base:20';
const IMAGES = JSON.parse(readFileSync(join(ROOT, 'deploy/docker/images.json'), 'utf8')) as Record<string, { workspace: string; healthPath?: string }>;
const version = (name: string) => (JSON.parse(readFileSync(join(ROOT, IMAGES[name]!.workspace, 'package.json'), 'utf8')) as { version: string }).version;
const HELLO_V = version('hello-service');
const HELLO_NEXT = '0.0.3-next';

const started = Date.now();
const figures: string[] = [];
let registry = '';
let redisUrl = '';
/** HAProxy in front of the routers: what clients (and the loads) use. */
let balancer = '';
let builder: Engine;
const nodes = {} as Record<NodeName, Engine>;
let redis: ReturnType<typeof createClient>;

function figure(line: string): void {
  figures.push(line);
  console.log(`# figure: ${line}`);
}

function loadLine(c: LoadCounts): string {
  const failures = c.failures.map((f) => f.what).join('; ');
  return `${c.sent} GETs sent, ${c.failed} failed${failures ? ` (${failures})` : ''}, p50 ${c.latency.p50} ms, p99 ${c.latency.p99} ms, max ${c.latency.max} ms`;
}

/** The steady load of every step: 2 loops, 100 ms apart (about 20 GETs/s), 15 s a request, 5 min at most. */
const startLoad = () => new Load({ url: `${balancer}/v1/hello/test`, loops: 2, pauseMs: 100, timeoutMs: 15_000, maxMs: 300_000 });

/** Polls `probe` every `everyMs` until truthy; returns the elapsed ms. */
async function until(what: string, probe: () => Promise<unknown>, timeoutMs: number, everyMs = 200): Promise<number> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    try {
      if (await probe()) return Date.now() - t0;
      last = 'not yet';
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface ViewEntry { serviceName: string; instanceID: string; ip: string; version: string }

/** The instances of `svc` as a router sees them (its in-memory discovery). */
async function routerView(svc: string, router = ROUTERS[0]!): Promise<ViewEntry[]> {
  const res = await fetch(`${router}/v1/router/list/services`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { result: ViewEntry[] };
  return body.result.filter((i) => i.serviceName === svc);
}

/** How many instances of `svc` the router that sees fewest sees. */
async function fewestSeen(svc: string): Promise<number> {
  return Math.min(...(await Promise.all(ROUTERS.map((r) => routerView(svc, r)))).map((v) => v.length));
}

/** Instances of `svc` with a presence key in Redis. */
async function presence(svc: string): Promise<number> {
  return (await redis.keys(patterns.presenceOf(svc))).length;
}

/** Running tasks of the service per node engine (the nodes all share one host name, so engines are asked). */
async function runningOn(engine: Engine, service: string): Promise<number> {
  const out = await engine.docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${service}`, '--filter', 'status=running']);
  return out ? out.split('\n').length : 0;
}

async function updateState(service: string): Promise<string> {
  return nodes.mgr.docker(['service', 'inspect', '-f', '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}', service]);
}

async function helloAnswers(count: number): Promise<string[]> {
  const versions: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${balancer}/v1/hello/test`, { signal: AbortSignal.timeout(5000) });
    versions.push(((await res.json()) as { result: { version: string } }).result.version);
  }
  return versions;
}

/** hydra-cli from its image, as the guide runs it: the configs directory mounted read-only. */
function cli(configs: string, args: string[]): Promise<string> {
  return builder.docker(['run', '--rm', '--network', 'host', '-e', `HYDRA_REDIS_URL=${redisUrl}`, '-v', `${configs}:/configs:ro`, `${registry}/hydra-cli:${version('hydra-cli')}`, ...args]);
}

before(async () => {
  checkPrerequisites();
  if (leftovers()) {
    console.log(`# an earlier run left ${LAB_DIR} or its network behind; removing it first`);
    clean((l) => console.log(`# ${l}`));
  }
  prepareDir();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      clean((l) => console.log(`# ${l}`));
      process.exit(130);
    });
  }

  makeBridge();
  registry = await startRegistry(await freePort(), REGISTRY_USER, REGISTRY_PASSWORD);
  redisUrl = await startRedis(await freePort(), REDIS_PASSWORD);
  redis = createClient({ url: redisUrl });
  await redis.connect();

  let t0 = Date.now();
  builder = await startBuilder(registry);
  const engineMs = Date.now() - t0;
  t0 = Date.now();
  await run('bash', [join(ROOT, 'deploy/docker/local-node-base.sh'), BASE_IMAGE], { env: { ...DOCKER_ENV, DOCKER_HOST: builder.host }, timeoutMs: 300_000 });
  figure(`build engine up in ${secs(engineMs)}; local Node base image (busybox + this machine's node) in ${secs(Date.now() - t0)}`);

  await builder.docker(['login', registry, '-u', REGISTRY_USER, '--password-stdin'], { input: REGISTRY_PASSWORD });
  t0 = Date.now();
  const build = (extra: string[]) => run('node', [join(ROOT, 'deploy/docker/build-images.mjs'), '--registry', registry, '--push', '--node-image', BASE_IMAGE, ...extra, '--', '--network', 'host'], {
    env: { ...DOCKER_ENV, DOCKER_HOST: builder.host }, timeoutMs: 1_200_000,
  });
  console.log(await build([]));
  console.log(await build(['--only', 'hello-service', '--tag', HELLO_NEXT]));
  figure(`images built and pushed in ${secs(Date.now() - t0)}`);

  t0 = Date.now();
  const engines = await Promise.all(NODES.map((n) => startNode(n, registry)));
  NODES.forEach((n, i) => (nodes[n.name] = engines[i]!));
  const mgr = nodes.mgr;
  await mgr.docker(['swarm', 'init', '--advertise-addr', MGR_IP, '--listen-addr', `${MGR_IP}:2377`, '--default-addr-pool', '198.19.0.0/17']);
  const tokens = { manager: await mgr.docker(['swarm', 'join-token', '-q', 'manager']), worker: await mgr.docker(['swarm', 'join-token', '-q', 'worker']) };
  for (const n of NODES.slice(1)) {
    await nodes[n.name].docker(['swarm', 'join', '--token', tokens[n.role], '--advertise-addr', n.ip, '--listen-addr', `${n.ip}:2377`, `${MGR_IP}:2377`]);
  }
  figure(`swarm of ${MANAGERS.length} managers + ${NODES.length - MANAGERS.length} workers up in ${secs(Date.now() - t0)}`);

  // The guide's steps: overlay network, secret, configs in Redis, the stack.
  await mgr.docker(['network', 'create', '--driver', 'overlay', '--subnet', OVERLAY_SUBNET, 'hydra-net']);
  await mgr.docker(['secret', 'create', 'hydra_redis_url', '-'], { input: redisUrl });
  // The configs as the repository has them, plus hello-service's next version for the rolling update.
  const configs = mkdtempSync(join(tmpdir(), 'hydra-swarm-cfg-'));
  chmodSync(configs, 0o755); // the image runs as uid 1000
  cpSync(join(ROOT, 'deploy/swarm/configs'), configs, { recursive: true });
  const nextConfig = JSON.parse(readFileSync(join(configs, 'hello-service.json'), 'utf8')) as { hydra: { serviceVersion: string } };
  nextConfig.hydra.serviceVersion = HELLO_NEXT;
  writeFileSync(join(configs, 'hello-service-next.json'), JSON.stringify(nextConfig));
  for (const svc of ['hydra-router', 'hello-service', 'hpp-service']) await cli(configs, ['cfg', 'push', `${svc}:${version(svc)}`, `/configs/${svc}.json`]);
  await cli(configs, ['cfg', 'push', `hello-service:${HELLO_NEXT}`, '/configs/hello-service-next.json']);
  rmSync(configs, { recursive: true, force: true });

  t0 = Date.now();
  // The visualizer's image cannot be pulled here (no Docker Hub): it is deployed with 0 replicas,
  // and images are not resolved against a registry at deploy time (the workers pull by tag, with the manager's credentials).
  await mgr.docker(['stack', 'deploy', '--with-registry-auth', '--resolve-image', 'never', '-c', join(ROOT, 'deploy/swarm/stack.yml'), STACK], {
    env: { REGISTRY: registry, VISUALIZER_REPLICAS: '0' },
  });
  await until('routers healthy and 5 hello-service and 5 hpp-service instances in every router', async () => {
    const [hello, hpp] = await Promise.all([fewestSeen('hello-service'), fewestSeen('hpp-service')]);
    return hello === 5 && hpp === 5;
  }, 600_000, 500);
  figure(`stack deployed and converged (each of ${ROUTERS.length} routers sees 5 + 5 instances) in ${secs(Date.now() - t0)}`);
  balancer = await startBalancer(await freePort(), MANAGERS);
});

after(async () => {
  await redis?.close().catch(() => {});
  // Every task the routers had: more than one per manager means swarm replaced one (a failed health check, a crash).
  const routerTasks = await nodes.mgr?.docker(['service', 'ps', '--no-trunc', '--format', '{{.Name}} {{.CurrentState}} {{.Error}}', `${STACK}_hydra-router`]).catch((err: Error) => err.message);
  if (routerTasks !== undefined) console.log(`# router tasks:\n${routerTasks.split('\n').map((l) => `#   ${l}`).join('\n')}`);
  const t0 = Date.now();
  clean((l) => console.log(`# ${l}`));
  figure(`clean-up in ${secs(Date.now() - t0)}; whole swarm test ${secs(Date.now() - started)}`);
  console.log(`\n# swarm test figures\n${figures.map((f) => `#   ${f}`).join('\n')}`);
});

test('images: production dependencies only, non-root, a health check on each service, and their sizes', async () => {
  for (const [name, spec] of Object.entries(IMAGES)) {
    const ref = `${registry}/${name}:${version(name)}`;
    const [user, health, size] = (await builder.docker(['image', 'inspect', '-f', '{{.Config.User}}|{{json .Config.Healthcheck}}|{{.Size}}', ref])).split('|');
    assert.equal(user, '1000:1000', `${name} runs as the unprivileged user`);
    if (spec.healthPath) assert.match(health!, /healthcheck\.js/, `${name} has a health check`);
    else assert.equal(health, 'null', `${name} is a one-shot tool: no health check`);
    const modules = (await builder.docker(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', ref, '-c', 'ls /app/node_modules /app/node_modules/@hydra-ts'])).split(/\s+/);
    // @types/* may be there: @hydra-ts/express and @hydra-ts/router declare the type packages
    // their own .d.ts import as dependencies (for TypeScript users of the published packages).
    for (const dev of ['typescript', 'hydra', 'hydra-express', 'playwright-core', '@sparticuz', 'testing']) {
      assert.ok(!modules.includes(dev), `${name} has no dev dependency ${dev}`);
    }
    figure(`image ${name}: ${(Number(size) / 1e6).toFixed(0)} MB (base ${BASE_IMAGE} included)`);
  }
  const base = await builder.docker(['image', 'inspect', '-f', '{{.Size}}', BASE_IMAGE]);
  figure(`base ${BASE_IMAGE}: ${(Number(base) / 1e6).toFixed(0)} MB`);
  const anonymous = await fetch(`http://${registry}/v2/_catalog`);
  assert.equal(anonymous.status, 401, 'the registry refuses anyone without a login');
});

test('placement: a router on each manager, services on the workers only, on overlay addresses', async () => {
  for (const m of MANAGERS) assert.equal(await runningOn(nodes[m.name], `${STACK}_hydra-router`), 1, `a router on ${m.name}`);
  for (const svc of ['hello-service', 'hpp-service']) {
    for (const m of MANAGERS) assert.equal(await runningOn(nodes[m.name], `${STACK}_${svc}`), 0, `no ${svc} on ${m.name}`);
    const onWorkers = (await runningOn(nodes.wk1, `${STACK}_${svc}`)) + (await runningOn(nodes.wk2, `${STACK}_${svc}`));
    assert.equal(onWorkers, 5);
    for (const i of await routerView(svc)) assert.ok(i.ip.startsWith('198.19.160.'), `${svc} ${i.instanceID} registered its overlay address (${i.ip})`);
  }
  const constraints = await nodes.mgr.docker(['service', 'inspect', '-f', '{{json .Spec.TaskTemplate.Placement.Constraints}}', `${STACK}_visualizer`]);
  assert.match(constraints, /node\.role == manager/, 'the visualizer is placed on a manager');
});

test('each router answers, and /v1/hello/test is answered by every hello-service replica through each', async () => {
  const ids = new Set((await routerView('hello-service')).map((i) => i.instanceID));
  for (const router of [...ROUTERS, balancer]) {
    const health = await fetch(`${router}/v1/router/health`, { signal: AbortSignal.timeout(5000) });
    assert.equal(health.status, 200, `${router} is healthy`);
    const seen = new Set<string>();
    for (let i = 0; i < 100 && seen.size < ids.size; i++) {
      const res = await fetch(`${router}/v1/hello/test`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      const msg = ((await res.json()) as { result: { msg: string } }).result.msg;
      seen.add(msg.slice(msg.lastIndexOf(' ') + 1));
    }
    assert.deepEqual([...seen].sort(), [...ids].sort(), `every replica answered through ${router}`);
  }
  figure(`${ROUTERS.length} routers and the balancer healthy; all ${ids.size} hello-service replicas answered through each`);
});

test('a hot-potato game is played across containers', async () => {
  const players = new Set((await routerView('hpp-service')).map((i) => i.instanceID));
  const t0 = Date.now();
  const res = await fetch(`${balancer}/v1/hpp/startgame`, { signal: AbortSignal.timeout(60_000) });
  assert.equal(res.status, 200);
  const game = ((await res.json()) as { result: { gameLog: string[]; outcome: string; loser: string } }).result;
  const receivers = game.gameLog.map((l) => /^\[([0-9a-f]{32})\]: received hot potato/.exec(l)?.[1]).filter((x): x is string => !!x);
  assert.ok(receivers.length >= 1, `the potato was passed: ${game.gameLog.join(' | ')}`);
  for (const r of receivers) assert.ok(players.has(r), `${r} is one of the hpp-service containers`);
  assert.equal(game.outcome, 'lost');
  assert.ok(players.has(game.loser));
  figure(`hot-potato game: ${receivers.length} passes between ${new Set(receivers).size} containers, ${secs(Date.now() - t0)}`);
});

/** Scales hello-service and measures when Redis and every router see the new count. */
async function scaleTo(replicas: number): Promise<void> {
  const load = startLoad();
  const t0 = Date.now();
  await nodes.mgr.docker(['service', 'scale', '-d', `${HELLO}=${replicas}`]);
  let inRedis = 0;
  let inRouter = 0;
  await until(`${replicas} hello-service instances`, async () => {
    const now = Date.now() - t0;
    if (!inRedis && (await presence('hello-service')) === replicas) inRedis = now;
    if (!inRouter && (await fewestSeen('hello-service')) === replicas) inRouter = now;
    return inRedis && inRouter;
  }, 180_000, 100);
  await sleep(1000);
  const stats = await load.stop();
  const lag = Math.max(0, inRouter - inRedis);
  figure(`scale to ${replicas}: in Redis after ${secs(inRedis)}, in every router after ${secs(inRouter)} (router lag ${lag} ms); ${loadLine(stats)}`);
  assert.ok(lag <= 2000, `the routers follow Redis within 2 s (took ${lag} ms)`);
  assert.equal(stats.failed, 0, loadLine(stats));
}

test('docker service scale hello-service=8, then =3: the routers see each change within 2 s, no GET fails', async () => {
  await scaleTo(8);
  await scaleTo(3);
});

async function rollout(what: string, start: () => Promise<unknown>, doneState: string, from: string, to: string): Promise<void> {
  const replicas = (await routerView('hello-service')).length;
  const load = startLoad();
  await start();
  const doneMs = await until(`${what} to complete`, async () => {
    const state = await updateState(HELLO);
    if (state !== doneState && /rollback|paused/.test(state)) throw new Error(`update state ${state}`);
    return state === doneState;
  }, 600_000, 500);
  const convergedMs = await until(`all ${replicas} instances at ${to} in every router`, async () => {
    const views = await Promise.all(ROUTERS.map((r) => routerView('hello-service', r)));
    return views.every((view) => view.length === replicas && view.every((i) => i.version === to));
  }, 60_000, 200);
  await sleep(2000);
  const stats = await load.stop();
  const [old, next] = [stats.versions.get(from), stats.versions.get(to)];
  const overlap = old && next ? old.last - next.first : 0;
  const answers = [...stats.versions].map(([v, c]) => `${v} ×${c.count}`).join(', ');
  figure(`${what} ${from} → ${to} of ${replicas} replicas: swarm done in ${secs(doneMs)}, every router all at ${to} after ${secs(doneMs + convergedMs)}; answers ${answers}, both versions answered for ${secs(Math.max(0, overlap))}; ${loadLine(stats)}`);
  assert.equal(stats.failed, 0, loadLine(stats));
  assert.ok(old && next, 'the answers switched version under load');
  assert.deepEqual(new Set(await helloAnswers(10)), new Set([to]), `after the ${what} every answer is ${to}`);
}

test('rolling update to a new image tag and config version: no GET fails, the answers switch version', async () => {
  await rollout('rolling update', () => nodes.mgr.docker([
    'service', 'update', '-d', '--with-registry-auth', '--image', `${registry}/hello-service:${HELLO_NEXT}`, '--env-add', `HYDRA_SERVICE=hello-service:${HELLO_NEXT}`, HELLO,
  ]), 'completed', HELLO_V, HELLO_NEXT);
});

test('rollback: no GET fails, the answers switch back', async () => {
  await rollout('rollback', () => nodes.mgr.docker(['service', 'rollback', '-d', HELLO]), 'rollback_completed', HELLO_NEXT, HELLO_V);
});

test('a container killed with docker kill is replaced by swarm; no GET fails', async () => {
  const before = new Set((await routerView('hello-service')).map((i) => i.instanceID));
  const victim = (await nodes.wk1.docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${HELLO}`]).then((o) => o || nodes.wk2.docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${HELLO}`]))).split('\n')[0]!;
  const engine = (await nodes.wk1.docker(['ps', '-q'])).includes(victim) ? nodes.wk1 : nodes.wk2;
  const load = startLoad();
  const t0 = Date.now();
  await engine.docker(['kill', victim]);
  let goneMs = 0;
  const replacedMs = await until('a replacement instance in the router', async () => {
    const view = (await routerView('hello-service')).map((i) => i.instanceID);
    if (!goneMs && view.filter((id) => before.has(id)).length === before.size - 1) goneMs = Date.now() - t0;
    return view.length === before.size && view.some((id) => !before.has(id));
  }, 180_000, 100);
  await sleep(1000);
  const stats = await load.stop();
  figure(`docker kill: the router dropped the dead instance after ${secs(goneMs)}, a replacement answered after ${secs(replacedMs)}; ${loadLine(stats)}`);
  assert.equal(stats.failed, 0, loadLine(stats));
});

test('a router killed with docker kill: the balancer sends to the other, swarm replaces it; no GET fails', async () => {
  const [victimNode, victimRouter] = [MANAGERS[1]!, ROUTERS[1]!];
  const engine = nodes[victimNode.name];
  const old = await engine.docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${STACK}_hydra-router`]);
  assert.ok(old, `a router runs on ${victimNode.name}`);
  const replicas = (await routerView('hello-service')).length;
  const load = startLoad();
  await engine.docker(['kill', old]);
  const backMs = await until(`a new router on ${victimNode.name}, healthy and seeing every instance`, async () => {
    const running = await engine.docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${STACK}_hydra-router`, '--filter', 'status=running']);
    if (!running || running === old) return false;
    const health = await fetch(`${victimRouter}/v1/router/health`, { signal: AbortSignal.timeout(2000) });
    return health.status === 200 && (await routerView('hello-service', victimRouter)).length === replicas;
  }, 180_000, 200);
  await sleep(2000); // the balancer's health check takes it back
  const stats = await load.stop();
  figure(`router on ${victimNode.name} killed: a new one healthy and routing after ${secs(backMs)}; ${loadLine(stats)}`);
  assert.equal(stats.failed, 0, loadLine(stats));
});

test('the worker drained: its tasks move to the other worker; no GET fails', async () => {
  const replicas = (await routerView('hello-service')).length;
  const nodeId = await nodes.wk1.docker(['info', '-f', '{{.Swarm.NodeID}}']);
  const load = startLoad();
  await nodes.mgr.docker(['node', 'update', '--availability', 'drain', nodeId]);
  const movedMs = await until('all tasks off the drained worker, and the router at full count', async () => {
    const [left, hello, hpp, view] = await Promise.all([
      nodes.wk1.docker(['ps', '-q']), runningOn(nodes.wk2, HELLO), runningOn(nodes.wk2, `${STACK}_hpp-service`), routerView('hello-service'),
    ]);
    return left === '' && hello === replicas && hpp === 5 && view.length === replicas;
  }, 300_000, 500);
  await sleep(1000);
  const stats = await load.stop();
  figure(`drain of a worker: ${replicas} hello-service and 5 hpp-service tasks on the other worker, router at full count after ${secs(movedMs)}; ${loadLine(stats)}`);
  assert.equal(stats.failed, 0, loadLine(stats));
  await nodes.mgr.docker(['node', 'update', '--availability', 'active', nodeId]);
});
