/**
 * Interop, hydra-ts → Hydra: a hydra-ts service discovers, calls, messages, queues
 * for and writes configs for real hydra-express@1.9.5 / hydra@1.9.3 processes
 * (test/peers/hydra-peer.js) sharing Redis database 7. Assertions about the peer
 * side are what Hydra's own code returned.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createMessage, sign, keys, type UMFMessage } from '@hydra-ts/core';
import { HydraPeer, stopAllPeers, type ShortMessage } from './helpers/hydra-peer.js';
import { freePort } from './helpers/processes.js';
import { startTsService, freshDatabase, closeRedis, waitFor, redisUrl, type TsService } from './helpers/ts-service.js';

const DB = 7;
const URL = redisUrl(DB);

type RedisClient = Awaited<ReturnType<typeof freshDatabase>>;
interface Started {
  instanceID: string;
  serviceName: string;
  config?: { hydra: Record<string, unknown>; [section: string]: unknown };
}

let redis: RedisClient;
let hx: HydraPeer;
let hxId: string;
let hxPort: number;
let extra: HydraPeer;
let extraId: string;
let ts: TsService;

function hydraConfig(serviceName: string, servicePort: number): Record<string, unknown> {
  return { hydra: { serviceName, serviceDescription: `${serviceName} (Hydra)`, serviceType: 'peer', serviceIP: '127.0.0.1', servicePort, redis: { url: URL } } };
}

before(async () => {
  redis = await freshDatabase(DB);
  hxPort = await freePort();
  hx = HydraPeer.start('hx-svc');
  extra = HydraPeer.start('hx-svc-extra');
  const [hxStarted, extraStarted, tsStarted] = await Promise.all([
    hx.call<Started>('initExpress', { config: hydraConfig('hx-svc', hxPort) }),
    extra.call<Started>('init', { config: hydraConfig('hx-svc-extra', 0), register: true }),
    startTsService('ts-caller', DB),
  ]);
  hxId = hxStarted.instanceID;
  extraId = extraStarted.instanceID;
  ts = tsStarted;
  await waitFor('hydra-ts to see both Hydra services', async () => (await ts.hydra.getServicePresence('hx-svc')).length === 1 && (await ts.hydra.getServicePresence('hx-svc-extra')).length === 1);
});

after(async () => {
  await stopAllPeers();
  await ts?.close();
  await closeRedis(redis);
});

test('hydra-ts discovers the hydra-express instance with its address', async () => {
  const [instance] = (await ts.hydra.getServicePresence('hx-svc'));
  assert.equal(instance!.instanceID, hxId);
  assert.equal(instance!.serviceName, 'hx-svc');
  assert.equal(instance!.ip, '127.0.0.1');
  assert.equal(instance!.port, hxPort);
});

test('nodes: Hydra writes a configured port as a string, a random one as a number; hydra-ts reads both as numbers', async () => {
  const rawConfigured = JSON.parse((await redis.hGet(keys.nodes(), hxId))!) as { port: unknown };
  const rawRandom = JSON.parse((await redis.hGet(keys.nodes(), extraId))!) as { port: unknown };
  assert.equal(rawConfigured.port, String(hxPort));
  assert.equal(typeof rawRandom.port, 'number');

  const nodes = await ts.hydra.getServiceNodes('hx-svc');
  assert.deepEqual(nodes.map((n) => [n.instanceID, n.port, n.alive]), [[hxId, hxPort, true]]);
  const [randomNode] = await ts.hydra.getServiceNodes('hx-svc-extra');
  assert.equal(randomNode!.port, rawRandom.port);
});

test('hydra-ts reads the routes hydra-express registered, and the service record', async () => {
  const routes = await ts.hydra.getAllServiceRoutes();
  assert.deepEqual(routes['hx-svc'], ['[get]/hx-svc', '[get]/hx-svc/', '[get]/hx-svc/:rest', '[get]/v1/peer/hello', '[post]/v1/peer/echo']);
  const services = await ts.hydra.getServices();
  const record = services.find((s) => s.serviceName === 'hx-svc');
  assert.equal(record?.type, 'peer');
  assert.ok(!Number.isNaN(Date.parse(record!.registeredOn)));
});

test("hydra-ts reads the Hydra instance's health (written every 5 s, so wait for it)", async () => {
  const [health] = await waitFor('Hydra health key', async () => {
    const h = await ts.hydra.getServiceHealth('hx-svc');
    return h.length ? h : undefined;
  }, 12_000, 200);
  assert.equal(health!.instanceID, hxId);
  assert.equal(health!.serviceName, 'hx-svc');
  assert.equal(typeof (health!.memory as Record<string, unknown>).heapUsed, 'number');
});

test("hydra-ts makeAPIRequest GETs a hydra-express route and gets Hydra's envelope", async () => {
  const res = await ts.hydra.makeAPIRequest({ to: 'hx-svc:[get]/v1/peer/hello', body: {} });
  assert.equal(res.statusCode, 200);
  assert.equal(res.statusMessage, 'OK');
  assert.deepEqual(res.result, { msg: 'hello from hx-svc', instanceID: hxId });
});

test('hydra-ts makeAPIRequest POSTs JSON to a named hydra-express instance', async () => {
  const body = { list: [1, 2], nested: { ok: true }, text: 'ünïcode' };
  const res = await ts.hydra.makeAPIRequest({ to: `${hxId}@hx-svc:[post]/v1/peer/echo`, body });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.result, { echo: body, contentType: 'application/json' });
});

test('hydra-ts makeAPIRequest to a service nobody runs answers 503 with Hydra\'s reason', async () => {
  const res = await ts.hydra.makeAPIRequest({ to: 'nobody-svc:[get]/v1/x', body: {} });
  assert.equal(res.statusCode, 503);
  assert.deepEqual(res.result, { reason: 'Unavailable nobody-svc instances' });
});

test("hydra-ts request() is answered by Hydra's sendReplyMessage, 20 at once, each reply to its own request", async () => {
  await hx.call('autoReply', { enabled: true });
  const replies = await Promise.all(Array.from({ length: 20 }, (_, k) => ts.hydra.request({ to: 'hx-svc:/', body: { cmd: 'echo', k } }, 5000)));
  replies.forEach((reply, k) => {
    assert.deepEqual(reply.body, { echo: { cmd: 'echo', k }, by: hxId });
    assert.equal(reply.from, 'hx-svc:/');
    assert.equal(reply.to, `${ts.hydra.instanceId}@ts-caller:/`);
  });
  assert.equal(new Set(replies.map((r) => r.rmid)).size, 20);
});

test('hydra-ts sendMessage delivers a one-way message to the Hydra service', async () => {
  const sent = await ts.hydra.sendMessage({ to: 'hx-svc:/', type: 'note', body: { note: 'one-way' } });
  const got = await hx.waitForMessage((m) => m.mid === sent.mid);
  assert.deepEqual(got.bdy, { note: 'one-way' });
  assert.equal(got.frm, 'ts-caller:/');
  assert.equal(got.typ, 'note');
  assert.equal(got.ts, sent.timestamp);
});

test('a Hydra sendMessage to hydra-ts is received by our onMessage', async () => {
  const got = new Promise<UMFMessage>((resolve) => {
    const off = ts.hydra.onMessage((m) => {
      if (m.body.from === 'hydra') {
        off();
        resolve(m);
      }
    });
  });
  await hx.call('send', { message: { to: 'ts-caller:/', from: 'hx-svc:/', body: { from: 'hydra' } } });
  const m = await Promise.race([got, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no message within 5 s')), 5000))]);
  assert.equal(m.from, 'hx-svc:/');
  assert.equal(m.version, 'UMF/1.4.6');
});

test('hydra-ts sendBroadcastMessage reaches the Hydra service on its broadcast channel', async () => {
  const sent = await ts.hydra.sendBroadcastMessage({ to: 'hx-svc:/', body: { cast: 'to all hx-svc' } });
  const got = await hx.waitForMessage((m) => m.mid === sent.mid);
  assert.deepEqual(got.bdy, { cast: 'to all hx-svc' });
});

test("a message queued by hydra-ts is taken and completed by Hydra's getQueuedMessage/markQueueMessage", async () => {
  const queued = await ts.hydra.queueMessage({ to: 'hx-svc:/', body: { job: 'a' } });
  const taken = await hx.call<ShortMessage>('take', { svc: 'hx-svc' });
  assert.equal(taken.mid, queued.mid);
  assert.deepEqual(taken.bdy, { job: 'a' });
  assert.equal(taken.frm, 'ts-caller:/');
  await hx.call('mark', { message: taken, completed: true });
  assert.deepEqual(await ts.hydra.queues.lengths('hx-svc'), { waiting: 0, inProgress: 0, incomplete: 0 });
});

test('a hydra-ts-queued message that Hydra marks failed lands in mqincomplete with body.reason', async () => {
  const queued = await ts.hydra.queueMessage({ to: 'hx-svc:/', body: { job: 'b' } });
  const taken = await hx.call<ShortMessage>('take', { svc: 'hx-svc' });
  await hx.call('mark', { message: taken, completed: false, reason: 'disk full' });
  assert.deepEqual(await ts.hydra.queues.lengths('hx-svc'), { waiting: 0, inProgress: 0, incomplete: 1 });
  const [entry] = (await redis.lRange(keys.queueIncomplete('hx-svc'), 0, -1)).map((s) => createMessage(JSON.parse(s)));
  assert.equal(entry!.mid, queued.mid);
  assert.deepEqual(entry!.body, { job: 'b', reason: 'disk full' });
});

test("a config stored by hydra-ts is read by Hydra's getConfig and started from by Hydra's init with HYDRA_SERVICE=<svc>:<version>", async () => {
  const doc = {
    hydra: { serviceName: 'hx-cfg', serviceDescription: 'stored by hydra-ts', serviceType: 'cfg', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL } },
    appSection: { colour: 'blue', sizes: [1, 2, 3] },
  };
  await ts.hydra.putConfig('hx-cfg:2.0.0', doc);
  assert.deepEqual(await hx.call('getConfig', { label: 'hx-cfg:2.0.0' }), doc);

  const cfgPeer = HydraPeer.start('hx-cfg', { HYDRA_SERVICE: 'hx-cfg:2.0.0', HYDRA_REDIS_URL: URL });
  try {
    // Hydra insists on a serviceName in the config it is given, then replaces the whole document with the stored one.
    const started = await cfgPeer.call<Started>('init', { config: { hydra: { serviceName: 'placeholder' } }, register: true });
    assert.equal(started.serviceName, 'hx-cfg');
    assert.deepEqual(started.config!.appSection, doc.appSection);
    assert.equal(started.config!.hydra.serviceDescription, 'stored by hydra-ts');
    await waitFor('hydra-ts to see the Hydra service started from the stored config', async () => (await ts.hydra.getServicePresence('hx-cfg')).length === 1);
    assert.equal((await ts.hydra.getServicePresence('hx-cfg'))[0]!.instanceID, started.instanceID);
  } finally {
    await cfgPeer.stop();
  }
});

test("a message signed by hydra-ts verifies with Hydra's own HMAC computation, also after crossing the wire", async () => {
  const secret = 'shared-s3cret';
  const signed = sign(createMessage({ to: 'hx-svc:/', from: 'ts-caller:/', headers: { h: 1 }, timeout: 3, type: 't', via: 'x@hydra-router:/', body: { a: [1, { b: 2 }] } }), secret);
  const local = await hx.call<{ given: string; computed: string }>('umfResign', { message: signed, secret });
  assert.equal(local.computed, local.given);

  const signer = await startTsService('ts-signer', DB, { umfSecret: secret });
  try {
    await waitFor('the signer to see hx-svc', async () => (await signer.hydra.getServicePresence('hx-svc')).length === 1);
    const sent = await signer.hydra.sendMessage({ to: 'hx-svc:/', body: { signed: 'over the wire' } });
    const received = await hx.waitForMessage((m) => m.mid === sent.mid);
    assert.equal(received.sig, sent.signature);
    const wire = await hx.call<{ given: string; computed: string }>('umfResign', { message: received, secret });
    assert.equal(wire.computed, wire.given);
    const wrong = await hx.call<{ given: string; computed: string }>('umfResign', { message: received, secret: 'not-the-secret' });
    assert.notEqual(wrong.computed, wrong.given);
  } finally {
    await signer.close();
  }
});

test('exact service names: hydra-ts asking for hx-svc never sees hx-svc-extra', async () => {
  assert.deepEqual((await ts.hydra.getServicePresence('hx-svc')).map((i) => i.instanceID), [hxId]);
  assert.deepEqual((await ts.hydra.getServicePresence('hx-svc-extra')).map((i) => i.instanceID), [extraId]);
  assert.deepEqual((await ts.hydra.getServiceNodes('hx-svc')).map((n) => n.instanceID), [hxId]);
  for (const h of await ts.hydra.getServiceHealth('hx-svc')) assert.equal(h.instanceID, hxId);
  const sent = await ts.hydra.sendBroadcastMessage({ to: 'hx-svc:/', body: { only: 'hx-svc' } });
  await hx.waitForMessage((m) => m.mid === sent.mid);
  // The extra service's channels are different: give a stray delivery time to arrive, then check.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(extra.messages.some((m) => m.mid === sent.mid), false);
});
