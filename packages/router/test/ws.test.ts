/**
 * WebSocket messaging through the router: the connection message, ping/pong,
 * relaying to hydra-ts and Hydra (hydra@1.9.3) services with replies back to
 * the socket, replies reaching a client that moved to another router, messages
 * kept for an absent client (bounded), malformed frames and HMAC enforcement.
 * Real processes on Redis database 10.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createMessage, sign, toShort } from '@hydra-ts/core';
import { Processes, flushDb, waitFor, withRedis, agent } from './helpers.js';

const DB = 10;
const SECRET = 'a-shared-secret-for-signing';
const QUEUE_MAX = 3;
const QUEUE_TTL_S = 3;
const procs = new Processes();
const dir = mkdtempSync(join(tmpdir(), 'router-ws-'));
const sockets = new Set<WebSocket>();
let a = { base: '', instanceId: '' };
let b = { base: '', instanceId: '' };
let signed = { base: '', instanceId: '' };

type Frame = Record<string, any>;

/** A WebSocket client that keeps every frame it receives, for tests to wait on. */
class Client {
  readonly frames: Frame[] = [];
  private readonly waiters = new Set<() => void>();
  readonly ws: WebSocket;
  id = '';
  secret = '';

  constructor(url: string) {
    this.ws = new WebSocket(url);
    sockets.add(this.ws);
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      for (const w of this.waiters) w();
    });
  }

  /** A new client, or (with `resume`) the client that had that id and secret. */
  static async connect(base: string, resume?: { id: string; secret: string }): Promise<Client> {
    const c = new Client(`${base.replace('http', 'ws')}/${resume ? `?id=${resume.id}&secret=${resume.secret}` : ''}`);
    const hello = await c.next((f) => f.typ === 'connection');
    c.id = hello.bdy.id;
    c.secret = hello.bdy.secret;
    return c;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (old or new) matching `pred`, removed from the list. */
  next(pred: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.frames.findIndex(pred);
        if (i < 0) return;
        const [f] = this.frames.splice(i, 1);
        done();
        resolve(f!);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

before(async () => {
  await flushDb(DB);
  const config = join(dir, 'router.json');
  writeFileSync(config, JSON.stringify({ wsQueueMax: QUEUE_MAX, wsQueueTtl: QUEUE_TTL_S }));
  const strict = join(dir, 'signed.json');
  writeFileSync(strict, JSON.stringify({ forceMessageSignature: true, signatureSharedSecret: SECRET }));
  [a, b, signed] = await Promise.all([procs.router(DB, { config }), procs.router(DB, { config }), procs.router(DB, { config: strict })]);
  // WebSocket [get] calls reach only registered routes (as direct addressing does).
  await procs.backend(DB, 'echo-svc', ['[get]/v1/ws/envelope', '[get]/v1/ws/text']);
  for (const r of [a, b, signed]) {
    await waitFor('echo-svc routes loaded', async () => JSON.stringify(await (await fetch(`${r.base}/v1/router/list/routes`)).json()).includes('/v1/ws/text'));
  }
});

after(async () => {
  for (const ws of sockets) ws.terminate();
  await procs.killAll();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits until router `base` has the service's instance in its discovery view (a relay would otherwise find none). */
async function relayReady(client: Client, service: string): Promise<void> {
  await waitFor(`${service} reachable through the router`, async () => {
    client.send({ to: `${service}:/`, frm: 'client:/', bdy: { cmd: 'echo', probe: true } });
    const f = await client.next((x) => x.bdy?.echo?.probe === true || x.typ === 'error', 2000);
    return f.typ !== 'error';
  });
}

test('a client is greeted with its id and answered ping with pong', async () => {
  const c = await Client.connect(a.base);
  assert.match(c.id, /^[0-9a-f]{32}$/);
  c.send({ to: 'hydra-router:/', frm: 'client:/', mid: 'p-1', typ: 'ping', bdy: {} });
  const pong = await c.next((f) => f.typ === 'pong');
  assert.equal(pong.rmid, 'p-1');
  assert.equal(pong.frm, `${a.instanceId}@hydra-router:/`);
  await c.close();
});

test('a message to a service is relayed with via set, and the reply comes back to the socket', async () => {
  const c = await Client.connect(a.base);
  await relayReady(c, 'echo-svc');
  c.send({ to: 'echo-svc:/', frm: 'client:/', mid: 'm-1', bdy: { cmd: 'echo', n: 1 } });
  const reply = await c.next((f) => f.rmid === 'm-1');
  assert.equal(reply.bdy.echo.n, 1);
  assert.equal(reply.to, `${a.instanceId}-${c.id}@hydra-router:/`, 'the service replied to via');
  assert.equal(reply.via, undefined, 'the router strips via before delivery');

  // A `[method]` in `to` makes it an HTTP call; its result comes back as the reply body.
  c.send({ to: 'echo-svc:[get]/v1/ws/envelope', frm: 'client:/', mid: 'm-2', bdy: {} });
  const answer = await c.next((f) => f.rmid === 'm-2');
  assert.equal(answer.bdy.service, 'echo-svc');
  assert.equal(answer.frm, 'echo-svc:[get]/v1/ws/envelope');

  // A path no HTTP request can carry is answered at once, naming it (not 503 after trying every instance).
  c.send({ to: 'echo-svc:[get]/v1/ws/env elope', frm: 'client:/', mid: 'm-3', bdy: {} });
  const refused = await c.next((f) => f.rmid === 'm-3');
  assert.equal(refused.bdy.error, true);
  assert.match(refused.bdy.reason, /path "\/v1\/ws\/env elope" is not a valid HTTP request path/);
  await c.close();
});

test('a Hydra (hydra@1.9.3) service replies to a WebSocket client through the router', async () => {
  const peer = await procs.hydraPeer(DB, 'hydra-service', 'hydra-echo');
  const c = await Client.connect(a.base);
  await relayReady(c, 'hydra-echo');
  c.send({ to: 'hydra-echo:/', frm: 'client:/', mid: 'h-1', bdy: { cmd: 'echo', text: 'from a browser' } });
  const reply = await c.next((f) => f.rmid === 'h-1');
  assert.equal(reply.bdy.echo.text, 'from a browser');
  assert.equal(reply.bdy.by, peer.instanceId);
  await c.close();
});

test('a reply reaches the client on another router after it reconnected there', async () => {
  const c = await Client.connect(a.base);
  await relayReady(c, 'echo-svc');
  c.send({ to: 'echo-svc:/', frm: 'client:/', mid: 'x-1', bdy: { cmd: 'echo', delayMs: 800 } });
  const { id, secret } = c;
  await c.close();
  // Back on router B, presenting its id and secret (hydra-router's reconnect message) before the reply exists.
  const moved = await Client.connect(b.base);
  moved.send({ to: 'hydra-router:/', frm: 'client:/', typ: 'reconnect', bdy: { id, secret } });
  const again = await moved.next((f) => f.typ === 'connection' && f.bdy.id === id);
  assert.equal(again.frm, `${b.instanceId}@hydra-router:/`);
  // The reply goes to router A (named in via), which hands it to router B.
  const reply = await moved.next((f) => f.rmid === 'x-1');
  assert.equal(reply.bdy.echo.delayMs, 800);
  await moved.close();
});

test('replies for an absent client are kept, at most wsQueueMax of them, and delivered when it comes back', async () => {
  const c = await Client.connect(a.base);
  await relayReady(c, 'echo-svc');
  for (let i = 1; i <= 5; i++) c.send({ to: 'echo-svc:/', frm: 'client:/', mid: `k-${i}`, bdy: { cmd: 'echo', i, delayMs: 300 + i * 20 } });
  const { id, secret } = c;
  await c.close();
  const key = `hydra-router:message:queue:${id}`;
  await waitFor('the last reply to be kept', async () => (await withRedis(DB, (r) => r.lRange(key, 0, -1))).some((e) => JSON.parse(e).m.rmid === 'k-5'));
  assert.equal(await withRedis(DB, (r) => r.lLen(key)), QUEUE_MAX);
  const back = await Client.connect(b.base, { id, secret });
  assert.equal(back.id, id, 'connecting with ?id= and ?secret= resumes the identity');
  const got = [await back.next((f) => f.rmid?.startsWith('k-')), await back.next((f) => f.rmid?.startsWith('k-')), await back.next((f) => f.rmid?.startsWith('k-'))];
  assert.deepEqual(got.map((f) => f.rmid), ['k-3', 'k-4', 'k-5'], 'the newest three, oldest first');
  assert.equal(await withRedis(DB, (r) => r.exists(key)), 0, 'handed over, not kept twice');
  await back.close();
});

test('kept messages expire after wsQueueTtl seconds', async () => {
  const c = await Client.connect(a.base);
  await relayReady(c, 'echo-svc');
  c.send({ to: 'echo-svc:/', frm: 'client:/', mid: 't-1', bdy: { cmd: 'echo', delayMs: 200 } });
  const id = c.id;
  await c.close();
  const key = `hydra-router:message:queue:${id}`;
  await waitFor('the reply to be kept', async () => (await withRedis(DB, (r) => r.lLen(key))) === 1);
  const ttl = await withRedis(DB, (r) => r.ttl(key));
  assert.ok(ttl > 0 && ttl <= QUEUE_TTL_S, `ttl ${ttl}`);
  await waitFor('the kept reply to expire', async () => (await withRedis(DB, (r) => r.exists(key))) === 0, (QUEUE_TTL_S + 5) * 1000, 250);
});

test('malformed frames get an error frame naming the problem, and the connection stays usable', async () => {
  const c = await Client.connect(a.base);
  const cases: Array<[unknown, RegExp]> = [
    ['{"to": "echo-svc:/", ', /message is not JSON/],
    [`{"to":"echo-svc:/","frm":"client:/","bdy":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`, /message nests arrays and objects 5002 levels deep/],
    ['[1,2,3]', /UMF message must be a JSON object/],
    [{ to: 'echo-svc:/', frm: 'client:/' }, /UMF field "body" is required/],
    [{ to: 'echo-svc:/', bdy: {} }, /UMF field "from" is required/],
    [{ to: 'no-colon-here', frm: 'client:/', bdy: {} }, /route field has invalid number of routable segments/],
    [{ to: 'nobody-svc:/', frm: 'client:/', bdy: {} }, /Unavailable nobody-svc instances/],
    [{ to: 'hydra-router:/', frm: 'client:/', typ: 'dance', bdy: {} }, /Unrecognized Hydra Router request/],
    [{ to: 'hydra-router:/', frm: 'client:/', typ: 'reconnect', bdy: {} }, /reconnect message needs bdy.id/],
  ];
  for (const [frame, problem] of cases) {
    c.send(frame);
    const err = await c.next((f) => f.typ === 'error');
    assert.match(err.bdy.error, problem, JSON.stringify(frame));
    assert.equal(err.frm, `${a.instanceId}@hydra-router:/`);
  }
  c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.match((await c.next((f) => f.typ === 'error')).bdy.error, /binary frames are not accepted/);
  c.send({ to: 'hydra-router:/', frm: 'client:/', typ: 'ping', bdy: {} });
  await c.next((f) => f.typ === 'pong');
  assert.equal(c.ws.readyState, WebSocket.OPEN);
  await c.close();
});

test('with forceMessageSignature, only frames signed with the shared secret are accepted', async () => {
  const c = await Client.connect(signed.base);
  c.send({ to: 'hydra-router:/', frm: 'client:/', typ: 'ping', bdy: {} });
  assert.match((await c.next((f) => f.typ === 'error')).bdy.error, /Not a signed UMF message/);
  const forged = toShort(sign(createMessage({ to: 'hydra-router:/', from: 'client:/', type: 'ping', body: {} }), 'not-the-secret'));
  c.send(forged);
  assert.match((await c.next((f) => f.typ === 'error')).bdy.error, /Invalid signed UMF message/);
  const good = toShort(sign(createMessage({ to: 'hydra-router:/', from: 'client:/', type: 'ping', body: {} }), SECRET));
  c.send(good);
  const pong = await c.next((f) => f.typ === 'pong');
  assert.equal(pong.rmid, good.mid);
  await c.close();
});

test('the router API answers over the socket as hydra-router does: the result as bdy', async () => {
  const c = await Client.connect(a.base);
  await relayReady(c, 'echo-svc');
  const ask = async (to: string, mid: string) => {
    c.send({ to, frm: `${c.id}@client:/`, mid, bdy: {} });
    return (await c.next((f) => f.rmid === mid)).bdy;
  };
  const services = await ask('hydra-router:[get]/v1/router/list/services', 'api-1') as Array<Record<string, unknown>>;
  assert.ok(Array.isArray(services), JSON.stringify(services));
  assert.ok(services.some((s) => s.serviceName === 'echo-svc' && typeof s.instanceID === 'string'));
  const routes = await ask('hydra-router:[get]/v1/router/list/routes', 'api-2') as Array<{ serviceName: string; routes: string[] }>;
  assert.ok(routes.find((r) => r.serviceName === 'hydra-router')!.routes.includes('/v1/router/list/:thing'));
  const nodes = await ask('hydra-router:[get]/v1/router/list/nodes', 'api-3') as Array<{ instanceID: string }>;
  assert.ok(nodes.some((n) => n.instanceID === a.instanceId));
  assert.match((await ask('hydra-router:[get]/v1/router/version', 'api-4') as { version: string }).version, /^\d+\.\d+\.\d+$/);
  assert.equal((await ask('hydra-router:[get]/v1/router/health', 'api-5') as { instanceID: string }).instanceID, a.instanceId);
  assert.match((await ask('hydra-router:[get]/v1/router/nope', 'api-6') as { error: string }).error, /^Route \/v1\/router\/nope is not routable.* version, health, list\/routes/);
  for (const name of ['constructor', '__proto__', 'toString']) {
    assert.match((await ask(`hydra-router:[get]/v1/router/${name}`, `api-${name}`) as { error: string }).error, /is not routable/, name);
  }
  await c.close();
});

test('a [get] call whose answer is not JSON brings the text itself as bdy', async () => {
  const c = await Client.connect(a.base);
  await relayReady(c, 'echo-svc');
  c.send({ to: 'echo-svc:[get]/v1/ws/text', frm: 'client:/', mid: 'txt-1', bdy: {} });
  const answer = await c.next((f) => f.rmid === 'txt-1');
  assert.match(answer.bdy, /^plain words from [0-9a-f]{32}$/);
  await c.close();
});

test('clients message each other through the router with fwd, on one router and across routers', async () => {
  const sender = await Client.connect(a.base);
  const near = await Client.connect(a.base);
  const far = await Client.connect(b.base);
  sender.send({ to: 'hydra-router:/', frm: `${sender.id}@client:/`, fwd: `${near.id}@client:/`, mid: 'c2c-1', bdy: { hello: 'near' } });
  const got = await near.next((f) => f.mid === 'c2c-1');
  assert.deepEqual(got.bdy, { hello: 'near' });
  assert.equal(got.to, `${near.id}@client:/`);
  assert.equal(got.frm, `${sender.id}@client:/`);
  assert.equal(got.via, `${a.instanceId}@hydra-router:/`);
  sender.send({ to: 'hydra-router:/', frm: `${sender.id}@client:/`, fwd: `${far.id}@client:/`, mid: 'c2c-2', bdy: { hello: 'far' } });
  assert.deepEqual((await far.next((f) => f.mid === 'c2c-2')).bdy, { hello: 'far' });
  // An absent client gets it when it comes back, as a reply would.
  const { id: awayId, secret: awaySecret } = far;
  await far.close();
  sender.send({ to: 'hydra-router:/', frm: `${sender.id}@client:/`, fwd: `${awayId}@client:/`, mid: 'c2c-3', bdy: { hello: 'later' } });
  await waitFor('the message to be kept', async () => (await withRedis(DB, (r) => r.lLen(`hydra-router:message:queue:${awayId}`))) === 1);
  const back = await Client.connect(b.base, { id: awayId, secret: awaySecret });
  assert.deepEqual((await back.next((f) => f.mid === 'c2c-3')).bdy, { hello: 'later' });
  sender.send({ to: 'hydra-router:/', frm: `${sender.id}@client:/`, fwd: 'bob@client:/', bdy: {} });
  assert.match((await sender.next((f) => f.typ === 'error')).bdy.error, /fwd "bob@client:\/" names no client/);
  await Promise.all([sender.close(), near.close(), back.close()]);
});

test('a message to hydra-router:/queue is queued for the service fwd names', async () => {
  const c = await Client.connect(a.base);
  c.send({ to: 'hydra-router:/queue', frm: `${c.id}@client:/`, fwd: 'queue-svc:/jobs', mid: 'q-1', bdy: { job: 7 } });
  const queued = await waitFor('the message in queue-svc\'s queue', async () => {
    const items = await withRedis(DB, (r) => r.lRange('hydra:service:queue-svc:mqrecieved', 0, -1));
    return items.length ? items : undefined;
  });
  const m = JSON.parse(queued[0]!) as Record<string, unknown>;
  assert.equal(m.to, 'queue-svc:/jobs');
  assert.equal(m.mid, 'q-1');
  assert.deepEqual(m.bdy, { job: 7 });
  assert.equal(m.fwd, undefined);
  await c.close();
});
