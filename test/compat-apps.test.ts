/**
 * Migration by package.json: the apps in test/compat-apps, written for hydra and
 * hydra-express as their READMEs show, run with `hydra` and `hydra-express`
 * resolving to the compat packages, beside a published hydra-express@1.9.5 service
 * (test/peers/hydra-peer.js) on Redis database 7. They discover, call, message and
 * queue for each other both ways; the worker loads its config from Redis
 * (HYDRA_SERVICE); hello-service's own test suite runs in test mode with no Redis.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { keys } from '@hydra-ts/core';
import { HydraPeer, stopAllPeers, type ShortMessage } from './helpers/hydra-peer.js';
import { startProcess, stopAllProcesses, stopProcess, freePort, ROOT } from './helpers/processes.js';
import { freshDatabase, closeRedis, waitFor, redisUrl } from './helpers/ts-service.js';
import type { Started } from '@hydra-ts/testing';

const DB = 7;
const URL = redisUrl(DB);
const APPS = join(ROOT, 'test', 'compat-apps');

type RedisClient = Awaited<ReturnType<typeof freshDatabase>>;
interface Envelope {
  statusCode: number;
  statusMessage: string;
  result: Record<string, any>;
  [field: string]: unknown;
}

let redis: RedisClient;
let workDir: string;
let peer: HydraPeer;
let hello: Started;
let helloReady: { serviceInfo: { servicePort: number }; instanceID: string };
let worker: Started;
let base: string;

/**
 * The app copied into a directory of its own with node_modules/hydra and
 * node_modules/hydra-express being the compat packages, as installing its
 * package.json (`"hydra": "npm:@hydra-ts/hydra@…"`) would lay them out.
 */
function install(app: string, config?: Record<string, unknown>): string {
  const dir = join(workDir, app);
  cpSync(join(APPS, app), dir, { recursive: true });
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'packages', 'hydra-compat'), join(dir, 'node_modules', 'hydra'));
  symlinkSync(join(ROOT, 'packages', 'hydra-express-compat'), join(dir, 'node_modules', 'hydra-express'));
  if (config) {
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config', 'config.json'), JSON.stringify(config, null, 2));
  }
  return dir;
}

/** The app's stdout lines that are JSON events. */
function events(app: Started): Array<Record<string, any>> {
  return app.lines.flatMap((line) => {
    try {
      const e = JSON.parse(line) as Record<string, any>;
      return e && typeof e.event === 'string' ? [e] : [];
    } catch {
      return [];
    }
  });
}

function waitForEvent(app: Started, what: string, match: (e: Record<string, any>) => boolean): Promise<Record<string, any>> {
  return waitFor(() => `${what}; output: ${app.output().slice(-1500)}`, () => events(app).find(match));
}

async function getJson(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // HTML and other text stay text
  }
  return { status: res.status, headers: res.headers, body };
}

const postJson = (path: string, body: unknown) => getJson(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

before(async () => {
  redis = await freshDatabase(DB);
  workDir = mkdtempSync(join(tmpdir(), 'hydra-compat-apps-'));
  // The worker's config lives in Redis, pushed as hydra-cli cfg push would.
  await redis.hSet(keys.configs('worker'), '0.5.0', JSON.stringify({
    hydra: { serviceName: 'worker', serviceDescription: 'works the queue', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL }, plugins: { pong: { delay: 10 } } },
    work: { batch: 3 },
  }));
  const helloDir = install('hello-service', {
    greeting: 'hi there',
    hydra: {
      serviceName: 'hello-service',
      serviceDescription: 'says hello',
      serviceIP: '127.0.0.1',
      servicePort: await freePort(),
      serviceType: 'hello',
      // hydra-express's documented form: a bare host in url, port and db beside it.
      redis: { url: '127.0.0.1', port: new globalThis.URL(URL).port, db: DB },
      plugins: { greeting: { word: 'howdy' } },
    },
  });
  const workerDir = install('worker');
  peer = HydraPeer.start('hydra-express-peer');
  await peer.call('initExpress', { config: { hydra: { serviceName: 'hydra-peer', serviceDescription: 'published hydra-express', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL } } } }, 15_000);
  hello = startProcess([join(helloDir, 'service.js')], {}, helloDir);
  worker = startProcess([join(workerDir, 'worker.js')], { HYDRA_REDIS_URL: URL, HYDRA_SERVICE: 'worker:0.5.0' }, workerDir);
  helloReady = (await waitForEvent(hello, 'hello-service ready', (e) => e.event === 'ready')) as typeof helloReady;
  await waitForEvent(worker, 'worker ready', (e) => e.event === 'ready');
  base = `http://127.0.0.1:${helloReady.serviceInfo.servicePort}`;
});

after(async () => {
  await stopAllPeers();
  await stopAllProcesses();
  await closeRedis(redis);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test('hello-service starts as hydra-express did: config file, version from package.json, plugin with its options', async () => {
  const plugin = events(hello).find((e) => e.event === 'plugin-ready');
  assert.deepEqual(plugin, { event: 'plugin-ready', word: 'howdy', service: 'hello-service' });
  const node = JSON.parse((await redis.hGet(keys.nodes(), helloReady.instanceID))!) as Record<string, unknown>;
  assert.equal(node.serviceName, 'hello-service');
  assert.equal(node.version, '1.2.3');
  assert.equal(Number(node.port), helloReady.serviceInfo.servicePort);
  assert.equal((await getJson('/v1/hello/config')).body.result.greeting, 'hi there', 'getRuntimeConfig() has the app\'s own sections');
});

test('the worker took its whole config from Redis (HYDRA_SERVICE) and ran its hydra/plugin plugin', async () => {
  assert.deepEqual(events(worker).find((e) => e.event === 'config'), { event: 'config', work: { batch: 3 }, serviceIP: '127.0.0.1' });
  assert.deepEqual(events(worker).find((e) => e.event === 'plugin-config')?.opts, { delay: 10 });
  assert.ok(events(worker).some((e) => e.event === 'plugin-ready'));
});

test('hydra-express defaults: envelope answers, security and CORS headers, JSON and form bodies, req.body always set', async () => {
  const hi = await getJson('/v1/hello');
  assert.equal(hi.status, 200);
  assert.deepEqual(hi.body, { statusCode: 200, statusMessage: 'OK', statusDescription: 'Request succeeded without error', result: { greeting: 'hello from hello-service', instanceID: helloReady.instanceID } });
  assert.equal(hi.headers.get('x-hello-middleware'), 'yes', 'registerMiddlewareCallback ran');
  assert.equal(hi.headers.get('x-process-id'), String(hello.child.pid));
  assert.equal(hi.headers.get('x-powered-by'), 'hello-service/1.2.3');
  assert.equal(hi.headers.get('access-control-allow-origin'), '*');
  assert.equal(hi.headers.get('x-content-type-options'), 'nosniff');
  assert.match(hi.headers.get('strict-transport-security') ?? '', /max-age=7776000/);
  assert.deepEqual((await postJson('/v1/hello/echo', { a: [1, 2] })).body.result, { body: { a: [1, 2] } });
  const form = await getJson('/v1/hello/echo', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=hydra&kind=ts' });
  assert.deepEqual(form.body.result, { body: { name: 'hydra', kind: 'ts' } });
  assert.deepEqual((await getJson('/v1/hello/body')).body.result, { defined: true, body: {} });
  const preflight = await fetch(`${base}/v1/hello/echo`, { method: 'OPTIONS', headers: { origin: 'http://example.test', 'access-control-request-method': 'POST' } });
  assert.equal(preflight.status, 204);
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  const badJson = await getJson('/v1/hello/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
  assert.deepEqual([badJson.status, badJson.body], [400, { code: 400 }]);
});

test('the public folder is served, other GETs fall back to its index.html, anything else is {code: 404}', async () => {
  const page = await getJson('/index.html');
  assert.equal(page.status, 200);
  assert.match(String(page.body), /hello-service's web page/);
  const deep = await getJson('/some/client/route');
  assert.equal(deep.status, 200);
  assert.match(String(deep.body), /hello-service's web page/);
  assert.deepEqual(await getJson('/nowhere', { method: 'POST' }).then((r) => [r.status, r.body]), [404, { code: 404 }]);
});

test('Hydra (published hydra-express) sees hello-service and the worker, with hello-service\'s routes', async () => {
  const presence = await peer.call<Array<{ instanceID: string; port: string | number }>>('presence', { svc: 'hello-service' });
  assert.deepEqual(presence.map((p) => p.instanceID), [helloReady.instanceID]);
  assert.equal(Number(presence[0]!.port), helloReady.serviceInfo.servicePort);
  assert.equal((await peer.call<unknown[]>('presence', { svc: 'worker' })).length, 1);
  const routes = await peer.call<Record<string, string[]>>('routes');
  for (const r of ['[get]/v1/hello/', '[post]/v1/hello/echo', '[get]/v1/hello/call/:service', '[get]/hello-service/:rest']) assert.ok(routes['hello-service']?.includes(r), `${r} in ${JSON.stringify(routes['hello-service'])}`);
});

test('HTTP both ways: Hydra calls hello-service, hello-service calls Hydra', async () => {
  const fromHydra = await peer.call<Envelope>('api', { message: { to: 'hello-service:[get]/v1/hello/', from: 'hydra-peer:/', body: {} } });
  assert.equal(fromHydra.statusCode, 200);
  assert.equal(fromHydra.result.greeting, 'hello from hello-service');
  const toHydra = await getJson('/v1/hello/call/hydra-peer?path=/v1/peer/hello');
  const answer = toHydra.body.result.answer as Envelope;
  assert.equal(answer.statusCode, 200);
  assert.match(String(answer.result.msg), /^hello from hydra-peer/);
  const none = (await getJson('/v1/hello/call/absent-service?path=/x')).body.result.answer as Envelope;
  assert.deepEqual([none.statusCode, none.result], [503, { reason: 'Unavailable absent-service instances' }]);
});

test('messages both ways: Hydra pings hello-service and gets its pong; hello-service messages Hydra', async () => {
  const pong = await peer.call<ShortMessage>('request', { message: { to: 'hello-service:/', frm: 'hydra-peer:/', typ: 'ping', bdy: { n: 1 } } });
  assert.equal(pong.typ, 'pong');
  assert.deepEqual(pong.bdy, { pong: { n: 1 }, instanceID: helloReady.instanceID });
  const received = await waitForEvent(hello, 'the ping, as hello-service received it', (e) => e.event === 'message' && e.msg.typ === 'ping');
  assert.equal(received.msg.frm, 'hydra-peer:/', 'short form, as Hydra emitted it');
  const sent = await postJson('/v1/hello/send', { to: 'hydra-peer:/', frm: 'hello-service:/', typ: 'hi', bdy: { from: 'compat' } });
  assert.deepEqual(sent.body.result, { sent: true, answer: null });
  const atHydra = await peer.waitForMessage((m) => m.typ === 'hi');
  assert.deepEqual(atHydra.bdy, { from: 'compat' });
  const nobody = await postJson('/v1/hello/send', { to: 'absent-service:/', frm: 'hello-service:/', bdy: {} });
  assert.equal(nobody.body.result.answer.statusCode, 503, 'resolved, not a crash');
  assert.equal(hello.child.exitCode, null);
});

test('request/reply from hello-service to Hydra: Hydra\'s sendReplyMessage reaches hello-service\'s message listener', async () => {
  await peer.call('autoReply', { enabled: true });
  await postJson('/v1/hello/send', { to: 'hydra-peer:/', frm: 'hello-service:/', typ: 'ask', bdy: { cmd: 'echo', q: 42 } });
  const reply = await waitForEvent(hello, 'Hydra\'s reply', (e) => e.event === 'message' && e.msg.bdy?.echo?.q === 42);
  assert.ok(reply.msg.rmid, 'a reply carries the rmid of the message it answers');
  assert.equal(reply.msg.to, 'hello-service:/');
  const asked = await peer.waitForMessage((m) => m.typ === 'ask');
  assert.equal(reply.msg.rmid, asked.mid);
});

test('messages between two migrated apps: hello-service pings the worker, the pong comes back', async () => {
  await postJson('/v1/hello/send', { to: 'worker:/', frm: 'hello-service:/', typ: 'ping', bdy: { job: 'status' } });
  const pong = await waitForEvent(hello, 'the worker\'s pong', (e) => e.event === 'message' && e.msg.typ === 'pong' && e.msg.bdy.from === 'worker');
  assert.deepEqual(pong.msg.bdy.got, { job: 'status' });
});

test('queues both ways: Hydra queues for hello-service; hello-service queues for the worker and for Hydra', async () => {
  await peer.call('queue', { message: { to: 'hello-service:/', frm: 'hydra-peer:/', bdy: { task: 'from hydra' } } });
  const taken = await getJson('/v1/hello/queue/next');
  // markQueueMessage notes a reason in the message it settles, also when completed, as Hydra did.
  assert.deepEqual(taken.body.result.message.bdy, { task: 'from hydra', reason: 'reason not provided' });
  assert.equal(await redis.lLen(keys.queueInProgress('hello-service')), 0, 'marked done');
  await postJson('/v1/hello/queue', { to: 'worker:/', frm: 'hello-service:/', bdy: { task: 'for the worker' } });
  const job = await waitForEvent(worker, 'the worker took the job', (e) => e.event === 'job');
  assert.deepEqual(job.job.bdy, { task: 'for the worker' });
  await postJson('/v1/hello/queue', { to: 'hydra-peer:/', frm: 'hello-service:/', bdy: { task: 'for hydra' } });
  const atHydra = await peer.call<ShortMessage>('take', { svc: 'hydra-peer' });
  assert.deepEqual(atHydra.bdy, { task: 'for hydra' });
});

test('hello-service finds Hydra\'s instance through getServicePresence (a promise, as in Hydra)', async () => {
  const found = (await getJson('/v1/hello/presence/hydra-peer')).body.result.instances as string[];
  assert.equal(found.length, 1);
  assert.match(found[0]!, /^[0-9a-f]{32}$/);
});

test('SIGTERM: hello-service withdraws its presence and exits 0', async () => {
  const exited = new Promise<number | null>((resolve) => hello.child.once('exit', (code) => resolve(code)));
  await stopProcess(hello.child);
  assert.equal(await exited, 0);
  assert.equal(await redis.exists(keys.presence('hello-service', helloReady.instanceID)), 0);
});

test('hello-service\'s own test suite runs unchanged in test mode, with no Redis at all', async () => {
  const dir = join(workDir, 'hello-offline');
  const dead = await freePort();
  cpSync(join(workDir, 'hello-service'), dir, { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(dir, 'config', 'config.json'), JSON.stringify({ hydra: { serviceName: 'hello-service', serviceDescription: 'says hello', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: `redis://127.0.0.1:${dead}/15` } } }));
  // Without NODE_TEST_CONTEXT the inner runner reports as a top-level one (its own TAP on stdout).
  const { NODE_TEST_CONTEXT: _ours, ...env } = process.env;
  const run = spawnSync(process.execPath, ['--test', 'test/'], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...env, HYDRA_REDIS_URL: '' } });
  assert.equal(run.status, 0, `the app's tests failed:\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /# pass 1/);
});
