/**
 * What an outsider can do to the router, and what it refuses: hop-by-hop headers,
 * duplicate Host, the router token on WebSocket upgrades, direct addressing limited to
 * registered routes, client identities that cannot be taken over, bounded memory
 * under client-chosen names and large frames, and upstreams that point back at the
 * router or at Redis. Real processes on Redis database 13.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { randomUUID } from 'node:crypto';
import { Processes, flushDb, http, waitFor, agent, withRedis, redisUrl } from './helpers.js';
import { PerSecondStats } from '../src/stats.js';

const DB = 13;
const TOKEN = 'the-router-token-0123456789';
const WS_LIMITS = { wsMaxPayload: 65_536, wsMaxBuffered: 131_072, wsMessageRate: 20 };
const procs = new Processes();
const dir = mkdtempSync(join(tmpdir(), 'router-security-'));
type Router = Awaited<ReturnType<Processes['router']>>;
let open: Router;
let guarded: Router;
const sockets = new Set<WebSocket>();

function config(name: string, doc: Record<string, unknown>): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

before(async () => {
  await flushDb(DB);
  [open, guarded] = await Promise.all([
    procs.router(DB, { config: config('open', { wsMessageRate: 100_000, wsMaxBackpressure: 65_536 }) }),
    procs.router(DB, { config: config('guarded', { routerToken: TOKEN, directAddressing: false, trustedProxies: ['127.0.0.0/8'], upstreamNetworks: ['127.0.0.1/32'], ...WS_LIMITS }) }),
  ]);
  await procs.backend(DB, 'sec-svc', ['[get]/v1/sec/hop', '[get]/v1/sec/thing', '[post]/v1/sec/thing']);
  await waitFor('sec-svc routes', async () => (await http(`${open.base}/v1/sec/thing`)).status === 200);
});

after(async () => {
  for (const ws of sockets) ws.terminate();
  await procs.killAll();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends raw bytes and resolves with everything the router answered before closing (or 5 s). */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (d) => (got += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
  });
}

type Frame = Record<string, any>;

/**
 * Opens a WebSocket; resolves with the greeting, the socket and every later frame (kept
 * from the start: a frame right behind the greeting must not be missed), or with the HTTP
 * status when the upgrade was refused.
 */
function wsOpen(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ws?: WebSocket; hello?: Frame; frames: Frame[]; body?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    sockets.add(ws);
    const frames: Frame[] = [];
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, frames }));
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.typ === 'connection' && frames.length === 0) resolve({ status: 101, ws, hello: frame, frames });
      else frames.push(frame);
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

const wsUrl = (base: string, query = '') => `${base.replace('http', 'ws')}/${query}`;

test('with routerToken set, a WebSocket upgrade needs the token (query or bearer), compared in full', async () => {
  const sameLength = 'x'.repeat(TOKEN.length);
  for (const [query, headers] of [['', {}], [`?token=${sameLength}`, {}], ['', { authorization: `Bearer ${sameLength}` }]] as const) {
    const refused = await wsOpen(wsUrl(guarded.base, query), headers);
    assert.equal(refused.status, 401, `${query} ${JSON.stringify(headers)}`);
    assert.match(JSON.parse(refused.body!).result.reason, /needs the router token for WebSocket connections/);
  }
  const byQuery = await wsOpen(wsUrl(guarded.base, `?token=${TOKEN}`));
  assert.equal(byQuery.status, 101);
  assert.equal(byQuery.hello!.typ, 'connection');
  const byHeader = await wsOpen(wsUrl(guarded.base), { authorization: `Bearer ${TOKEN}` });
  assert.equal(byHeader.status, 101);
  byQuery.ws!.close();
  byHeader.ws!.close();
  // Without a token configured, anyone may connect (hydra-router's default).
  assert.equal((await wsOpen(wsUrl(open.base))).status, 101);
});

test('headers named in Connection are hop-by-hop and dropped both ways; a second Host header is refused with 400', async () => {
  // Raw bytes: HTTP clients (undici, fetch) will not send a Connection header naming other headers.
  const answer = await rawRequest(open.port, 'GET /v1/sec/hop HTTP/1.1\r\nHost: api.example.test\r\nConnection: close, X-Drop-Me\r\nX-Drop-Me: secret\r\nX-Stay: here\r\n\r\n');
  const [head, body] = answer.split('\r\n\r\n') as [string, string];
  assert.match(head, /^HTTP\/1\.1 200 /);
  const seen = JSON.parse(body).headers as Record<string, string>;
  assert.equal(seen['x-drop-me'], undefined, 'the request header named in Connection did not reach the service');
  assert.equal(seen['x-stay'], 'here');
  assert.doesNotMatch(head, /x-hop-secret/i, 'the response header the service named in Connection did not reach the client');
  assert.match(head, /\r\nx-kept: yes/i);

  const twice = await rawRequest(open.port, 'GET /v1/sec/thing HTTP/1.1\r\nHost: a.example.test\r\nHost: b.example.test\r\nConnection: close\r\n\r\n');
  assert.match(twice, /^HTTP\/1\.1 400 /);
  assert.match(twice, /more than one Host header/);
  const once = await rawRequest(open.port, 'GET /v1/sec/thing HTTP/1.1\r\nHost: a.example.test\r\nConnection: close\r\n\r\n');
  assert.match(once, /^HTTP\/1\.1 200 /);
});

test('client-chosen names do not grow the stats: unknown services share one "*other*" series', async () => {
  const N = 1000;
  const { ws } = await wsOpen(wsUrl(open.base));
  let errors = 0;
  ws!.on('message', (d) => {
    if ((JSON.parse(d.toString()) as Frame).typ === 'error') errors++;
  });
  for (let i = 0; i < N; i++) ws!.send(JSON.stringify({ to: `b${i}:/x`, frm: 'client:/', bdy: {} }));
  await waitFor(`${N} error frames`, () => errors === N, 20_000);
  ws!.close();
  for (let i = 0; i < 50; i++) {
    const res = await http(`${open.base}/v1/router/message`, { method: 'POST', body: JSON.stringify({ to: `m${i}:/x`, frm: 'client:/', fwd: `m${i}:[get]/x`, bdy: {} }) });
    assert.equal(res.status, 503);
  }
  const stats = (await http(`${open.base}/v1/router/stats`)).json().result;
  for (const kind of ['httpStats', 'wsStats', 'errorStats'] as const) {
    const names = Object.keys(stats[kind]).filter((n) => n !== 'sec-svc' && n !== 'hydra-router');
    assert.deepEqual(names, names.length ? ['*other*'] : [], `${kind}: ${names.slice(0, 5).join(', ')}… (${names.length})`);
  }
  assert.equal(stats.totals.ws['*other*'], N);
  assert.equal(stats.totals.http['*other*'], 50);
  assert.ok(stats.totals.errors['*other*'] >= N);
});

test('direct addressing reaches only the methods and paths the service registered, and can be turned off', async () => {
  const ok = await http(`${open.base}/sec-svc/v1/sec/thing?q=1`);
  assert.equal(ok.status, 200);
  assert.equal(ok.json().url, '/v1/sec/thing?q=1');
  assert.equal((await http(`${open.base}/sec-svc/v1/sec/thing`, { method: 'POST', body: '{}' })).status, 200);

  const wrongMethod = await http(`${open.base}/sec-svc/v1/sec/thing`, { method: 'DELETE' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.allow, 'GET, POST');
  for (const method of ['GET', 'DELETE', 'POST']) {
    const hidden = await http(`${open.base}/sec-svc/internal/admin`, { method, body: method === 'POST' ? '{}' : undefined });
    assert.equal(hidden.status, 404, method);
    assert.match(hidden.json().result.reason, /sec-svc registered no route matching .* \/internal\/admin/);
  }

  // directAddressing: false (the token router): only the route table routes.
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal((await http(`${guarded.base}/v1/sec/thing`, { headers: auth })).status, 200);
  const off = await http(`${guarded.base}/sec-svc/v1/sec/thing`, { headers: auth });
  assert.equal(off.status, 404);
  assert.match(off.json().result.reason, /no route matches GET \/sec-svc\/v1\/sec\/thing/);
});

test('HTTP calls named in messages (WebSocket "[method]", /v1/router/message fwd) reach only registered routes, as direct addressing does', async () => {
  const c = await wsOpen(wsUrl(open.base));
  const reply = async (mid: string, to: string) => {
    c.ws!.send(JSON.stringify({ to, frm: `${c.hello!.bdy.id}@client:/`, mid, bdy: {} }));
    await waitFor(`reply to ${mid}`, () => c.frames.some((f) => f.rmid === mid));
    return c.frames.find((f) => f.rmid === mid)!.bdy;
  };
  // A registered route is called (the backend's answer is no envelope: its result is empty).
  assert.deepEqual(await reply('ok', 'sec-svc:[get]/v1/sec/thing?q=1'), {});
  assert.deepEqual(await reply('hidden', 'sec-svc:[get]/internal/admin'), {
    error: true,
    reason: 'sec-svc registered no route matching GET /internal/admin: an HTTP call in a message (WebSocket "[method]" route, /v1/router/message "fwd") reaches only the routes a service registered (see /v1/router/list/routes)',
  });
  assert.deepEqual(await reply('method', 'sec-svc:[delete]/v1/sec/thing'), { error: true, reason: 'DELETE is not a registered method of /v1/sec/thing on sec-svc; registered: GET, POST' });
  c.ws!.close();

  const post = (fwd: string) => http(`${open.base}/v1/router/message`, { method: 'POST', body: JSON.stringify({ to: 'sec-svc:/', frm: 'client:/', fwd, bdy: {} }) });
  assert.equal((await post('sec-svc:[post]/v1/sec/thing')).status, 200);
  const hidden = await post('sec-svc:[delete]/internal/admin');
  assert.equal(hidden.status, 404);
  assert.match(hidden.json().result.reason, /^sec-svc registered no route matching DELETE \/internal\/admin/);
  const wrongMethod = await post('sec-svc:[delete]/v1/sec/thing');
  assert.equal(wrongMethod.status, 405);
  assert.match(wrongMethod.json().result.reason, /registered: GET, POST$/);
});

test('a client id alone resumes nothing: ?id= and reconnect need the secret issued in the greeting', async () => {
  const victim = await wsOpen(wsUrl(open.base));
  const { id, secret } = victim.hello!.bdy as { id: string; secret: string };
  assert.match(secret, /^[0-9a-f]{64}$/);
  let victimClosed = 0;
  victim.ws!.on('close', (code) => (victimClosed = code));

  const byQuery = await wsOpen(wsUrl(open.base, `?id=${id}`));
  assert.notEqual(byQuery.hello!.bdy.id, id, 'the id alone does not take the identity over');
  const seen = byQuery.frames;
  await waitFor('the error frame', () => seen.some((f) => f.typ === 'error'));
  assert.match(seen.find((f) => f.typ === 'error')!.bdy.error, /could not resume .* add \?secret=/);

  const wrong = await wsOpen(wsUrl(open.base, `?id=${id}&secret=${'0'.repeat(64)}`));
  assert.notEqual(wrong.hello!.bdy.id, id);

  const byMessage = await wsOpen(wsUrl(open.base));
  const answers = byMessage.frames;
  byMessage.ws!.send(JSON.stringify({ to: 'hydra-router:/', frm: 'client:/', typ: 'reconnect', bdy: { id } }));
  await waitFor('the refusal', () => answers.some((f) => f.typ === 'error'));
  assert.match(answers.find((f) => f.typ === 'error')!.bdy.error, /reconnect message needs bdy.secret/);
  assert.equal(victimClosed, 0, 'the victim keeps its socket');

  // The owner, with its secret, resumes (and its old socket is closed with 4000).
  const owner = await wsOpen(wsUrl(open.base, `?id=${id}&secret=${secret}`));
  assert.equal(owner.hello!.bdy.id, id);
  await waitFor('the old socket to be closed', () => victimClosed === 4000);
  for (const c of [byQuery, wrong, byMessage, owner]) c.ws!.close();
});

test('the router API cannot write into a client socket unless the router token is set and given', async () => {
  const client = await wsOpen(wsUrl(open.base));
  const id = client.hello!.bdy.id as string;
  const injections = [
    { to: 'sec-svc:/', frm: 'x:/', via: `${open.instanceId}-${id}@hydra-router:/`, bdy: { cmd: 'echo', injected: 1 } },
    { to: 'hydra-router:/', frm: 'x:/', fwd: `${id}@client:/`, bdy: { injected: 2 } },
  ];
  for (const m of injections) {
    for (const path of ['send', 'queue']) {
      const res = await http(`${open.base}/v1/router/${path}`, { method: 'POST', body: JSON.stringify(m) });
      assert.equal(res.status, 403, `${path} ${JSON.stringify(m)}`);
      assert.match(res.json().result.reason, /reaches WebSocket clients; the router API sends those only when routerToken is set/);
    }
  }
  // A plain message to a service still goes.
  assert.equal((await http(`${open.base}/v1/router/send`, { method: 'POST', body: JSON.stringify({ to: 'sec-svc:/', frm: 'x:/', bdy: {} }) })).status, 200);
  client.ws!.close();

  // With the token (the operator), it is allowed: the client gets the message.
  const held = await wsOpen(wsUrl(guarded.base, `?token=${TOKEN}`));
  const frames = held.frames;
  const sent = await http(`${guarded.base}/v1/router/send`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ to: `${guarded.instanceId}@hydra-router:/`, frm: 'ops:/', fwd: `${held.hello!.bdy.id}@client:/`, bdy: { notice: 'from the operator' } }),
  });
  assert.equal(sent.status, 200, sent.text);
  await waitFor('the operator message', () => frames.some((f) => f.bdy?.notice === 'from the operator'));
  held.ws!.close();
});

test("the greeting's ip believes X-Forwarded-For only from trustedProxies", async () => {
  const forwarded = { 'x-forwarded-for': '198.18.7.7, 127.0.0.9' };
  const untrusted = await wsOpen(wsUrl(open.base), forwarded);
  assert.equal(untrusted.hello!.bdy.ip, '127.0.0.1', 'no trusted proxies: the peer address');
  const trusted = await wsOpen(wsUrl(guarded.base, `?token=${TOKEN}`), forwarded);
  assert.equal(trusted.hello!.bdy.ip, '198.18.7.7', 'from a trusted proxy: the right-most untrusted hop');
  untrusted.ws!.close();
  trusted.ws!.close();
});

/**
 * Opens a raw WebSocket (handshake by hand) and sends the start of one text frame that
 * declares `declared` bytes but carries only `sent`: the router must buffer it. `closeCode`
 * resolves with the code of the close frame the router sends (0 if it just hangs up).
 */
async function partialFrame(port: number, declared: number, sent: number): Promise<{ closeCode: Promise<number>; socket: ReturnType<typeof connect> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`GET /?token=${TOKEN} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      socket.once('data', (d) => (/^HTTP\/1\.1 101/.test(d.toString()) ? resolve() : reject(new Error(d.toString()))));
    });
  });
  const closeCode = new Promise<number>((resolve) => {
    let got = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      // Server frames are unmasked; a close frame is 0x88, then its length, then the code.
      const at = got.indexOf(0x88);
      if (at >= 0 && got.length >= at + 4) resolve(got.readUInt16BE(at + 2));
    });
    socket.on('close', () => resolve(0));
    socket.on('error', () => undefined);
  });
  const header = Buffer.from([0x81, 0x80 | 126, declared >> 8, declared & 0xff, 1, 2, 3, 4]);
  socket.write(Buffer.concat([header, Buffer.alloc(sent, 0x61)]));
  return { closeCode, socket };
}

test('WebSocket memory is bounded: over wsMaxPayload closes with 1009, over wsMessageRate with 1008, over wsMaxBuffered in total with 1013', async () => {
  const url = wsUrl(guarded.base, `?token=${TOKEN}`);
  const closeOf = (ws: WebSocket) => new Promise<[number, string]>((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));

  const big = await wsOpen(url);
  const bigClosed = closeOf(big.ws!);
  big.ws!.send(JSON.stringify({ to: 'sec-svc:/', frm: 'client:/', bdy: { pad: 'x'.repeat(WS_LIMITS.wsMaxPayload) } }));
  assert.equal((await bigClosed)[0], 1009);

  const fast = await wsOpen(url);
  const fastClosed = closeOf(fast.ws!);
  for (let i = 0; i < 10 * WS_LIMITS.wsMessageRate; i++) fast.ws!.send(JSON.stringify({ to: 'hydra-router:/', frm: 'client:/', typ: 'ping', bdy: {} }));
  const [code, reason] = await fastClosed;
  assert.equal(code, 1008);
  assert.match(reason, /more than 20 messages a second \(wsMessageRate\)/);

  // Three connections each hold 50 KB of an unfinished 60 KB message (each under
  // wsMaxPayload): together they pass wsMaxBuffered, and the one that does is closed.
  const partial = [];
  for (let i = 0; i < 3; i++) partial.push(await partialFrame(guarded.port, 60_000, 50_000));
  const codes: number[] = [];
  for (const p of partial) void p.closeCode.then((c) => codes.push(c));
  await waitFor('a connection closed with 1013', () => codes.includes(1013));
  for (const p of partial) p.socket.destroy();

  // The router goes on serving WebSocket clients.
  const after = await wsOpen(url);
  after.ws!.send(JSON.stringify({ to: 'hydra-router:/', frm: 'client:/', typ: 'ping', bdy: {} }));
  await waitFor('pong', () => after.frames.some((f) => f.typ === 'pong'));
  after.ws!.close();
});

/** A WebSocket client that does the upgrade by hand, reads its greeting and then stops reading. */
function stalledClient(port: number): Promise<{ id: string; socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    ));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => reject(new Error('no greeting from the router')), 5000);
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const head = got.indexOf('\r\n\r\n');
      if (head < 0) return;
      const frame = got.subarray(head + 4);
      let length = (frame[1] ?? 0) & 0x7f;
      let offset = 2;
      if (length === 126) [length, offset] = [frame.length >= 4 ? frame.readUInt16BE(2) : Infinity, 4];
      if (frame.length < offset + length) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      resolve({ id: (JSON.parse(frame.subarray(offset, offset + length).toString()) as Frame).bdy.id, socket, closed });
    };
    socket.on('data', onData);
  });
}

test('a client that stops reading is closed with 1008 once more than wsMaxBackpressure bytes wait for it', async () => {
  const stalled = await stalledClient(open.port);
  const sender = await wsOpen(wsUrl(open.base));
  const closedLine = open.proc.waitLine<{ msg: string; client: string }>('the backpressure close', (j) => j.client === stalled.id && /^closed a WebSocket client with 1008/.test(j.msg));
  let seen = false;
  void closedLine.then(() => (seen = true), () => undefined);
  // Up to 80 MB: more than the kernel's socket buffers hold, so the router's own queue grows.
  const pad = 'p'.repeat(200_000);
  for (let i = 0; i < 400 && !seen; i++) {
    sender.ws!.send(JSON.stringify({ to: 'hydra-router:/', frm: `${sender.hello!.bdy.id}@client:/`, fwd: `${stalled.id}@client:/`, bdy: { pad } }));
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.match((await closedLine).msg, /not reading: more than 65536 bytes queued to it \(wsMaxBackpressure\)$/);
  // The router let go of the connection: read again, the socket ends.
  stalled.socket.resume();
  await Promise.race([stalled.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the router kept the stalled connection')), 20_000).unref())]);
  // The sender is not affected.
  sender.ws!.send(JSON.stringify({ to: 'hydra-router:/', frm: 'client:/', typ: 'ping', mid: 'after-stall', bdy: {} }));
  await waitFor('pong', () => sender.frames.some((f) => f.typ === 'pong'));
  sender.ws!.close();
});

/** Writes an instance into Redis as a registered service would (what anyone with Redis access can do). */
async function plant(serviceName: string, ip: string, port: number, route: string): Promise<string> {
  const id = randomUUID().replace(/-/g, '');
  const entry = { serviceName, serviceDescription: 'planted', version: '1.0.0', instanceID: id, updatedOn: new Date().toISOString(), processID: 1, ip, port, hostName: 'planted' };
  await withRedis(DB, async (r) => {
    await r.hSet('hydra:service:nodes', id, JSON.stringify(entry));
    await r.sAdd(`hydra:service:${serviceName}:service:routes`, route);
    await r.setEx(`hydra:service:${serviceName}:${id}:presence`, 60, id);
  });
  return id;
}

test('instances planted at the router itself or at Redis are refused as upstreams, upstreamNetworks limits the rest, and a request seen twice is answered 508', async () => {
  const loop = await http(`${open.base}/v1/sec/thing`, { headers: { via: `1.1 proxy.example.test, 1.1 hydra-router-${open.instanceId}` } });
  assert.equal(loop.status, 508);
  assert.match(loop.json().result.reason, /already passed through this router/);
  const forwarded = (await http(`${open.base}/v1/sec/thing`)).json().headers as Record<string, string>;
  assert.equal(forwarded.via, `1.1 hydra-router-${open.instanceId}`, 'the router adds itself to Via');

  const redisPort = Number(new URL(redisUrl(DB)).port);
  const refusedBy = (router: Router, svc: string) => router.proc.waitLine(`${svc} refused`, (j: Record<string, any>) => j.msg === 'instance refused as an upstream' && j.upstreamService === svc);
  const self = refusedBy(open, 'self-svc');
  const redis = refusedBy(open, 'redis-svc');
  const far = refusedBy(guarded, 'far-svc');
  await plant('self-svc', '127.0.0.1', open.port, '[get]/v1/planted/self');
  await plant('redis-svc', 'localhost', redisPort, '[get]/v1/planted/redis');
  await plant('far-svc', '127.0.9.9', 9, '[get]/v1/planted/far');
  assert.match((await self).reason, /own listening address or the Redis server's/);
  assert.match((await redis).reason, /own listening address or the Redis server's/);
  assert.match((await far).reason, /127\.0\.9\.9 is outside upstreamNetworks/);

  // The refusal is logged when the instance is seen; its routes load beside that, so a
  // request sent at once may still meet the table without them (404).
  for (const path of ['/v1/planted/self', '/v1/planted/redis']) {
    await waitFor(`${path} routed`, async () => (await http(`${open.base}${path}`)).status !== 404);
    assert.equal((await http(`${open.base}${path}`)).status, 503, path);
  }
  // HTTP calls named in a message (WebSocket [get], POST /v1/router/message) pass them over too.
  const called = await http(`${open.base}/v1/router/message`, { method: 'POST', body: JSON.stringify({ to: 'redis-svc:/', frm: 'client:/', fwd: 'redis-svc:[get]/v1/planted/redis', bdy: {} }) });
  assert.equal(called.status, 503);
  assert.match(called.text, /refused as an upstream/);
  // Real instances inside the allowed network still answer.
  assert.equal((await http(`${guarded.base}/v1/sec/thing`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
});

test('names like constructor and __proto__ are services like any other in stats, metrics, list/services, list/routes and list/nodes', async () => {
  const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
  // `constructor` is a valid service name: a real one. The others only get in by writing Redis directly.
  const ctor = await procs.backend(DB, 'constructor', ['[get]/v1/ctor/thing']);
  await waitFor('constructor routed', async () => (await http(`${open.base}/v1/ctor/thing`)).status === 200);
  assert.equal((await http(`${open.base}/constructor/v1/ctor/thing`)).status, 200);
  await withRedis(DB, async (r) => {
    for (const name of odd) {
      await r.hSet('hydra:service:nodes', name, JSON.stringify({ serviceName: name, version: '1.0.0', instanceID: name, updatedOn: new Date().toISOString(), processID: 1, ip: '127.0.9.1', port: 1 }));
    }
  });
  const api = async (path: string) => (await http(`${open.base}/v1/router/${path}`)).json().result;

  const stats = await api('stats');
  assert.ok(stats.totals.http.constructor >= 2, JSON.stringify(stats.totals.http));
  assert.equal(stats.httpStats.constructor.length, 3600);
  assert.ok((await api('list/services') as Array<{ serviceName: string; instanceID: string }>).some((s) => s.serviceName === 'constructor' && s.instanceID === ctor.instanceId));
  assert.deepEqual((await api('list/routes') as Array<{ serviceName: string; routes: string[] }>).find((r) => r.serviceName === 'constructor')?.routes, ['/constructor', '/constructor/', '/constructor/:rest', '/v1/ctor/thing']);
  const nodes = await api('list/nodes') as Array<{ serviceName: string; instanceID: string }>;
  for (const name of odd) assert.deepEqual(nodes.filter((n) => n.instanceID === name).map((n) => n.serviceName), [name], name);
  assert.match((await http(`${open.base}/metrics`)).text, /^hydra_router_instances\{service="constructor"\} 1$/m);
  // As router API endpoints they are unknown (a lookup that found Object's own members left
  // GET /v1/router/constructor unanswered and answered __proto__ with a 500).
  for (const name of odd) {
    for (const method of ['GET', 'POST']) {
      const answer = await http(`${open.base}/v1/router/${name}`, { method, body: method === 'POST' ? '{}' : undefined });
      assert.equal(answer.status, 404, `${method} ${name}`);
      assert.match(answer.json().result.reason, /is not a router API endpoint; see version, health, .*otlp\/v1\/traces$/);
    }
  }

  // The stats answers are keyed by name without a prototype: even __proto__, were it a known target, keeps its series.
  const counts = new PerSecondStats(() => true);
  for (const name of odd) counts.log(name);
  for (const answer of [counts.raw(), counts.recent(1), counts.totals()]) assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(answer)) as object).sort(), [...odd].sort());
  assert.equal(JSON.parse(JSON.stringify(counts.totals())).__proto__, 1);
});
