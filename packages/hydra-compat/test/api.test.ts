/**
 * Hydra's API on a real Redis (database 8), two instances in this process: what
 * each call returns (shape, promise or not, errors resolved as envelopes), as
 * Hydra's README and documentation describe it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createClient } from 'redis';
import { keys, verify, createMessage as coreMessage } from '@hydra-ts/core';
import { redisUrl, sharedRedisPort, quietLogger, waitFor } from '@hydra-ts/testing';
import { Hydra } from '../src/hydra.js';
import HydraPlugin = require('../src/plugin.js');

const DB = 8;
const redis = createClient({ url: redisUrl(DB) });
const config = (serviceName: string, extra: Record<string, unknown> = {}) => ({
  hydra: { serviceName, serviceDescription: `${serviceName} test`, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(DB) }, ...extra },
});

let alpha: Hydra;
let beta: Hydra;
let web: Server;
const alphaMessages: Array<Record<string, any>> = [];

before(async () => {
  await redis.connect();
  await redis.flushDb();
  alpha = new Hydra({ logger: quietLogger() });
  beta = new Hydra({ logger: quietLogger() });
  alpha.on('message', (m: Record<string, any>) => alphaMessages.push(m));
  await alpha.init(config('alpha-svc'));
  await alpha.registerService();
  await beta.init(config('beta-svc', { servicePort: 0 }));
  await beta.registerService();
  // beta answers HTTP on the port Hydra chose for it at init, as a hydra-integration app does.
  web = createServer((req, res) => {
    if (req.url === '/v1/beta/text') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('plain words');
    } else if (req.url === '/v1/beta/binary') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.from([0xff, 0x00, 0xfe, 0x80]));
    } else if (req.url === '/v1/beta/slow') {
      setTimeout(() => res.end('{}'), 3000);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ statusCode: 200, result: { path: req.url, method: req.method } }));
    }
  });
  await new Promise<void>((resolve) => web.listen(beta.config!.servicePort, '127.0.0.1', resolve));
});

after(async () => {
  web?.closeAllConnections();
  web?.close();
  await Promise.allSettled([alpha?.shutdown(), beta?.shutdown()]);
  await redis.close();
});

test('init resolves with the whole config, servicePort chosen and serviceIP resolved; a second init rejects', async () => {
  const again = await alpha.init(config('alpha-svc')).then(
    () => 'resolved',
    (err: Error) => err.message,
  );
  assert.equal(again, 'Hydra.init() already invoked');
  assert.equal(typeof alpha.config!.servicePort, 'number');
  assert.ok(alpha.config!.servicePort > 0);
  assert.equal(alpha.config!.serviceIP, '127.0.0.1');
  assert.match(alpha.getInstanceID(), /^[0-9a-f]{32}$/);
  assert.equal(alpha.getServiceName(), 'alpha-svc');
  assert.equal((await alpha.ready()).hydra.serviceName, 'alpha-svc');
});

test('before init: getServiceName throws, ready and registerService reject, getInstanceID says "not set"', async () => {
  const fresh = new Hydra({ logger: quietLogger() });
  assert.throws(() => fresh.getServiceName(), /init\(\) not called/);
  await assert.rejects(fresh.ready(), /You must call hydra.init\(\)/);
  await assert.rejects(fresh.registerService(), /init\(\) not called/);
  assert.equal(fresh.getInstanceID(), 'not set');
});

test('getServicePresence returns a promise of nodes entries with updatedOnTS; hasServicePresence a promise of a boolean', async () => {
  const presence = alpha.getServicePresence('beta-svc');
  assert.ok(presence instanceof Promise);
  const found = await presence;
  assert.equal(found.length, 1);
  assert.equal(found[0]!.instanceID, beta.getInstanceID());
  assert.equal(found[0]!.ip, '127.0.0.1');
  assert.equal(Number(found[0]!.port), beta.config!.servicePort);
  assert.equal(typeof found[0]!.updatedOnTS, 'number');
  assert.equal(await alpha.hasServicePresence('beta-svc'), true);
  assert.equal(await alpha.hasServicePresence('nobody-svc'), false);
  // Exact names: Hydra's unanchored glob matched "beta-svc" for "svc"; ours does not.
  assert.deepEqual(await alpha.getServicePresence('svc'), []);
  assert.equal((await alpha.getServicePresence()).length, 1, 'default: its own service');
});

test('getServices, getServiceNodes and findService read the registry', async () => {
  const services = await alpha.getServices();
  assert.deepEqual(services.map((s) => s.serviceName).sort(), ['alpha-svc', 'beta-svc']);
  const nodes = await alpha.getServiceNodes();
  const betaNode = nodes.find((n) => n.instanceID === beta.getInstanceID())!;
  assert.equal(betaNode.serviceName, 'beta-svc');
  assert.equal(typeof betaNode.elapsed, 'number');
  assert.equal((await alpha.findService('beta-svc')).serviceName, 'beta-svc');
  await assert.rejects(alpha.findService('nobody-svc'), /Can't find nobody-svc service/);
});

test('sendMessage resolves undefined once sent; the receiver gets the short form; a reply comes back with rmid', async () => {
  const handled = new Promise<Record<string, any>>((resolve) => {
    beta.once('message', (m: Record<string, any>) => {
      void beta.sendReplyMessage(m, beta.createUMFMessage({ typ: 'pong', bdy: { got: m.bdy } }));
      resolve(m);
    });
  });
  const ping = alpha.createUMFMessage({ to: 'beta-svc:/', from: `${alpha.getInstanceID()}@alpha-svc:/`, typ: 'ping', body: { n: 1 } });
  assert.equal(await alpha.sendMessage(ping), undefined);
  const got = await handled;
  assert.deepEqual(Object.keys(got).sort(), ['bdy', 'frm', 'mid', 'to', 'ts', 'typ', 'ver']);
  assert.equal(got.typ, 'ping');
  assert.deepEqual(got.bdy, { n: 1 });
  const reply = await waitFor('the pong', () => alphaMessages.find((m) => m.rmid === ping.mid));
  assert.equal(reply.typ, 'pong');
  assert.equal(reply.to, `${alpha.getInstanceID()}@alpha-svc:/`);
  assert.equal(reply.frm, 'beta-svc:/');
  assert.deepEqual(reply.bdy, { got: { n: 1 } });
  assert.notEqual(reply.mid, ping.mid);
});

test('sendMessage to a service with no instance resolves a 503 envelope (never rejects) and emits log and metric', async () => {
  const logs: Array<Record<string, unknown>> = [];
  const metrics: string[] = [];
  const onLog = (e: Record<string, unknown>) => logs.push(e);
  const onMetric = (m: string) => metrics.push(m);
  alpha.on('log', onLog);
  alpha.on('metric', onMetric);
  try {
    const answer = await alpha.sendMessage({ to: 'nobody-svc:/', from: 'alpha-svc:/', body: {} });
    assert.equal(answer?.statusCode, 503);
    assert.deepEqual(answer?.result, { reason: 'Unavailable nobody-svc instances' });
    assert.equal(logs[0]?.type, 'error');
    assert.equal(logs[0]?.msg, 'Unavailable nobody-svc instances');
    assert.deepEqual(metrics, ['service:unavailable|nobody-svc']);
    const named = await alpha.sendMessage({ to: `${'0'.repeat(32)}@beta-svc:/`, from: 'alpha-svc:/', body: {} });
    assert.equal(named?.statusCode, 503);
    assert.match(String((named?.result as { reason: string }).reason), /Unavailable beta-svc instance named 0{32}/);
    const bad = await alpha.sendMessage({ to: 'no-colon', from: 'alpha-svc:/', body: {} });
    assert.equal(bad?.statusCode, 400);
    assert.match(String((bad?.result as { reason: string }).reason), /route field has invalid number of routable segments/);
  } finally {
    alpha.off('log', onLog);
    alpha.off('metric', onMetric);
  }
});

test('sendBroadcastMessage reaches the service; to hydra-router with no router it resolves quietly', async () => {
  const got = new Promise<Record<string, any>>((resolve) => beta.once('message', resolve));
  assert.equal(await alpha.sendBroadcastMessage({ to: 'beta-svc:/', from: 'alpha-svc:/', typ: 'news', body: { all: true } }), undefined);
  assert.equal((await got).typ, 'news');
  assert.equal(await alpha.sendBroadcastMessage({ to: 'hydra-router:/refresh', from: 'alpha-svc:/', body: {} }), undefined);
  assert.equal((await alpha.sendBroadcastMessage({ to: 'nobody-svc:/', from: 'alpha-svc:/', body: {} }))?.statusCode, 503);
});

test('makeAPIRequest: JSON answers merged into the envelope, text as payLoad, no instance 503, timeout in seconds', async () => {
  const json = await alpha.makeAPIRequest({ to: 'beta-svc:[post]/v1/beta/echo', from: 'alpha-svc:/', body: { a: 1 } });
  assert.equal(json.statusCode, 200);
  assert.equal(json.statusMessage, 'OK');
  assert.deepEqual(json.result, { path: '/v1/beta/echo', method: 'POST' });
  const text = await alpha.makeAPIRequest({ to: 'beta-svc:[get]/v1/beta/text', from: 'alpha-svc:/', body: {} });
  assert.equal(text.statusCode, 200);
  assert.deepEqual(text.result, {});
  assert.ok(Buffer.isBuffer(text.payLoad));
  assert.equal((text.payLoad as Buffer).toString(), 'plain words');
  const binary = await alpha.makeAPIRequest({ to: 'beta-svc:[get]/v1/beta/binary', from: 'alpha-svc:/', body: {} });
  assert.deepEqual([...(binary.payLoad as Buffer)], [0xff, 0x00, 0xfe, 0x80], 'the exact bytes');
  const none = await alpha.makeAPIRequest({ to: 'nobody-svc:[get]/x', from: 'alpha-svc:/', body: {} });
  assert.equal(none.statusCode, 503);
  assert.deepEqual(none.result, { reason: 'Unavailable nobody-svc instances' });
  const noMethod = await alpha.makeAPIRequest({ to: 'beta-svc:/v1/beta/echo', from: 'alpha-svc:/', body: {} });
  assert.equal(noMethod.statusCode, 400);
  const started = Date.now();
  const slow = await alpha.makeAPIRequest({ to: 'beta-svc:[get]/v1/beta/slow', from: 'alpha-svc:/', body: {} }, { timeout: 1 });
  assert.ok(slow.statusCode >= 500, `timed out: ${JSON.stringify(slow)}`);
  assert.ok(Date.now() - started < 2900, 'gave up after the 1 s timeout, before the 3 s answer');
});

test('queueMessage / getQueuedMessage / markQueueMessage: short form out, incomplete kept with its reason', async () => {
  const job = { to: 'beta-svc:/', from: 'alpha-svc:/', body: { job: 'one' } };
  assert.equal(await alpha.queueMessage(job), job, 'resolves with the message it was given');
  assert.equal((await alpha.queueMessage({ to: 'beta-svc:/', body: {} }) as { statusCode: number }).statusCode, 400, 'no from: 400 as in Hydra');
  await alpha.queueMessage({ to: 'beta-svc:/', from: 'alpha-svc:/', body: { job: 'two' } });
  const first = (await beta.getQueuedMessage('beta-svc'))!;
  assert.deepEqual(first.bdy, { job: 'one' }, 'oldest first');
  assert.equal(first.frm, 'alpha-svc:/');
  assert.equal(await redis.lLen(keys.queueInProgress('beta-svc')), 1);
  const done = await beta.markQueueMessage(first, true);
  assert.equal(done, first);
  const second = (await beta.getQueuedMessage())!;
  const incomplete = await beta.markQueueMessage(second, false, 'could not do it');
  assert.equal(incomplete, 1);
  assert.equal(await redis.lLen(keys.queueInProgress('beta-svc')), 0);
  const parked = JSON.parse((await redis.lIndex(keys.queueIncomplete('beta-svc'), 0))!) as { bdy: Record<string, unknown> };
  assert.deepEqual(parked.bdy, { job: 'two', reason: 'could not do it' });
  assert.equal(await beta.getQueuedMessage(), null);
});

test('putConfig / getConfig / listConfig on hydra:service:<svc>:configs', async () => {
  const doc = { hydra: { serviceName: 'gamma-svc', servicePort: 7000 }, feature: { on: true } };
  assert.equal(await alpha.putConfig('gamma-svc:1.0.0', doc), undefined);
  assert.deepEqual(await alpha.getConfig('gamma-svc:1.0.0'), doc);
  assert.equal(await alpha.getConfig('gamma-svc:9.9.9'), null);
  assert.deepEqual(await alpha.listConfig('gamma-svc'), ['gamma-svc:1.0.0']);
  assert.deepEqual(JSON.parse((await redis.hGet(keys.configs('gamma-svc'), '1.0.0'))!), doc);
  await assert.rejects(alpha.getConfig('no-version'), /form <service>:<version>/);
});

test('registerRoutes, getAllServiceRoutes and matchRoute (route-parser syntax, method prefix literal)', async () => {
  await beta.registerRoutes(['[get]/v1/beta/items/:id', '[post]/v1/beta/items']);
  const routes = await alpha.getAllServiceRoutes();
  assert.deepEqual(routes['beta-svc'], ['[get]/beta-svc', '[get]/beta-svc/', '[get]/beta-svc/:rest', '[get]/v1/beta/items/:id', '[post]/v1/beta/items'].sort());
  assert.equal(beta.matchRoute('[get]/v1/beta/items/42'), true);
  assert.equal(beta.matchRoute('[post]/v1/beta/items'), true);
  assert.equal(beta.matchRoute('[delete]/v1/beta/items/42'), false);
  assert.equal(beta.matchRoute('[get]/v1/beta/items/42/more'), false);
  assert.equal(beta.matchRoute('[get]/beta-svc/anything'), true);
});

test('health: getHealth is a sample now, getServiceHealthLog has sendToHealthLog entries, getServiceHealthAll per service', async () => {
  const health = alpha.getHealth();
  assert.equal(health.serviceName, 'alpha-svc');
  assert.equal(health.instanceID, alpha.getInstanceID());
  assert.equal(typeof (health.memory as { rss: number }).rss, 'number');
  const logs: Array<Record<string, unknown>> = [];
  alpha.once('log', (e: Record<string, unknown>) => logs.push(e));
  alpha.sendToHealthLog('info', 'alpha says hello');
  alpha.sendToHealthLog('info', 'not emitted', true);
  assert.equal(logs.length, 1);
  assert.deepEqual(Object.keys(logs[0]!).sort(), ['msg', 'processID', 'serviceName', 'ts', 'type']);
  const log = await waitFor('both entries in the health log', async () => {
    const entries = await alpha.getServiceHealthLog();
    return entries.some((e) => e.msg === 'not emitted') ? entries : undefined;
  });
  assert.equal(log[0]!.msg, 'not emitted', 'newest first');
  assert.equal(log[1]!.msg, 'alpha says hello');
  const all = await alpha.getServiceHealthAll();
  assert.equal(all.length, 2);
  for (const entry of all) assert.deepEqual(Object.keys(entry).sort(), ['health', 'log', 'presence']);
  assert.ok(all.some((e) => (e.presence[0] as { instanceID?: string } | undefined)?.instanceID === beta.getInstanceID()));
  const notService = new Hydra({ logger: quietLogger() });
  assert.throws(() => notService.getServiceHealthLog(), /isn't an instance/);
});

test('createUMFMessage: fields by name, toShort, validate, signMessage verifiable by core', () => {
  const m = alpha.createUMFMessage({ to: 'beta-svc:/', frm: 'alpha-svc:/', bdy: { x: 1 } });
  assert.match(m.mid, /^[0-9a-f-]{36}$/);
  assert.equal(m.from, 'alpha-svc:/');
  assert.equal(m.validate(), true);
  assert.equal(alpha.createUMFMessage({ to: 'x:/' }).validate(), false);
  m.signMessage('sha256', 's3cret');
  assert.equal(verify(coreMessage(m.toJSON()), 's3cret'), true);
  m.type = 'custom';
  assert.equal(m.toShort().typ, 'custom');
  assert.deepEqual(Object.keys(m.toShort()), ['to', 'frm', 'mid', 'sig', 'ts', 'typ', 'ver', 'bdy']);
  const helper = alpha.getUMFMessageHelper();
  assert.deepEqual(helper.parseRoute('abc@beta-svc:[GET]/v1/x'), { instance: 'abc', subID: '', serviceName: 'beta-svc', httpMethod: 'get', apiRoute: '/v1/x', error: '' });
  assert.match(helper.parseRoute('nocolon').error, /route field has invalid number of routable segments/);
});

test('plugins: setHydra at use(), setConfig with the hydra branch before connecting, onServiceReady before init resolves', async () => {
  const calls: string[] = [];
  class Recorder extends HydraPlugin {
    constructor() {
      super('recorder');
    }
    override setConfig(hydraConfig: Record<string, any>) {
      super.setConfig(hydraConfig);
      calls.push(`setConfig ${hydraConfig.serviceName} ${JSON.stringify(this.opts)}`);
      return undefined;
    }
    override async onServiceReady() {
      calls.push(`ready ${this.hydra!.getInstanceID()}`);
    }
  }
  const h = new Hydra({ logger: quietLogger() });
  const plugin = new Recorder();
  assert.deepEqual(await h.use(plugin), ['recorder']);
  assert.equal(plugin.hydra, h);
  try {
    await h.init(config('plugged-svc', { plugins: { recorder: { level: 3 } } }));
    assert.deepEqual(calls, ['setConfig plugged-svc {"level":3}', `ready ${h.getInstanceID()}`]);
  } finally {
    await h.shutdown();
  }
  const failing = new Hydra({ logger: quietLogger() });
  await failing.use({ name: 'bad', onServiceReady: () => Promise.reject(new Error('plugin says no')) });
  await assert.rejects(failing.init(config('failing-svc')), /plugin says no/);
  assert.equal(failing.getInstanceID(), 'not set', 'a failed init leaves nothing running');
});

test('every Redis config form Hydra accepted reaches the same database', async () => {
  const port = sharedRedisPort();
  const forms: Array<[string, Record<string, unknown>]> = [
    ['url with db beside it', { url: `redis://127.0.0.1:${port}/0`, db: DB }],
    ['bare host in url (hydra-express docs)', { url: '127.0.0.1', port, db: DB }],
    ['host, port, db', { host: '127.0.0.1', port, db: DB }],
    ['url with the db in it and node_redis options', { url: redisUrl(DB), retry_strategy: 'ignored', connect_timeout: 100 }],
    ['client options in options', { url: `redis://127.0.0.1:${port}`, options: { db: DB } }],
  ];
  for (const [label, form] of forms) {
    const h = new Hydra({ logger: quietLogger() });
    await h.init({ hydra: { serviceName: 'form-svc', serviceIP: '127.0.0.1', servicePort: 0, redis: form } });
    try {
      await h.registerService();
      assert.equal(await redis.exists(keys.presence('form-svc', h.getInstanceID())), 1, label);
    } finally {
      await h.shutdown();
    }
  }
  const refused = new Hydra({ logger: quietLogger() });
  await assert.rejects(refused.init({ hydra: { serviceName: 'form-svc', redis: { url: redisUrl(DB), prefix: 'x:' } } }), /hydra\.redis\.prefix is not supported/);
  await assert.rejects(refused.init({ hydra: { serviceName: 'form-svc', redis: { host: '127.0.0.1', db: 'fifteen' } } }), /hydra\.redis\.db must be an integer/);
});

test('the hydra branch alone is accepted (Hydra\'s plugin guide passes config.hydra); shutdown allows a new init', async () => {
  const h = new Hydra({ logger: quietLogger() });
  const branch = { serviceName: 'branch-svc', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(DB) } };
  await h.init(branch);
  assert.ok(branch.servicePort > 0, 'the chosen port is written back into the caller\'s config, as Hydra did');
  const first = h.getInstanceID();
  await h.shutdown();
  assert.equal(h.getInstanceID(), 'not set');
  await h.init(branch);
  assert.notEqual(h.getInstanceID(), first);
  await h.shutdown();
});

test('getClonedRedisClient gives a working client on the same database', async () => {
  const client = alpha.getClonedRedisClient();
  try {
    await client.set('compat:cloned', 'yes');
    assert.equal(await redis.get('compat:cloned'), 'yes');
  } finally {
    await client.close();
  }
});

test('a service name with capitals registers lower-cased, as Hydra did', async () => {
  const h = new Hydra({ logger: quietLogger() });
  await h.init(config('Mixed-Case-Svc'));
  try {
    await h.registerService();
    assert.equal(h.getServiceName(), 'mixed-case-svc');
    assert.equal(await redis.exists(keys.presence('mixed-case-svc', h.getInstanceID())), 1);
    assert.equal((await alpha.getServicePresence('Mixed-Case-Svc')).length, 1, 'lookups are case-insensitive too');
  } finally {
    await h.shutdown();
  }
});
