import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { keys, Hydra } from '../src/index.js';
import { freshDb, startService, waitFor, redisUrl, quietLogger } from './helpers.js';


const DB = 2;
let redis: Awaited<ReturnType<typeof freshDb>>;
before(async () => (redis = await freshDb(DB)));
after(() => redis.close());

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP service instance registered under `name`, answering with `handler`. */
async function httpService(name: string, handler: Handler): Promise<{ hydra: Hydra; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits++;
      handler(req, res, body);
    });
  });
  const hydra = await Hydra.create({ hydra: { serviceName: name, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(DB) } } }, { logger: quietLogger(), env: {} });
  await hydra.listen(server);
  await hydra.registerService();
  return { hydra, server, hits: () => hits };
}

const json = (res: ServerResponse, status: number, data: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(data));
};

test('GET and POST come back in the Hydra envelope, with the JSON body, headers and Authorization passed on', async () => {
  const svc = await httpService('api-svc', (req, res, body) => {
    json(res, req.method === 'POST' ? 201 : 200, { statusCode: 0, result: { method: req.method, url: req.url, body: body ? JSON.parse(body) : null, auth: req.headers.authorization ?? null, custom: req.headers['x-custom'] ?? null } });
  });
  const caller = await startService(DB, 'api-caller');
  try {
    await waitFor('api-svc seen', async () => (await caller.getServicePresence('api-svc')).length === 1);
    const get = await caller.makeAPIRequest({ to: 'api-svc:[get]/v1/things?x=1', body: {}, authorization: 'Bearer t', headers: { 'x-custom': 'yes' } });
    assert.equal(get.statusCode, 200);
    assert.equal(get.statusMessage, 'OK');
    assert.deepEqual(get.result, { method: 'GET', url: '/v1/things?x=1', body: null, auth: 'Bearer t', custom: 'yes' });
    const post = await caller.makeAPIRequest({ to: 'api-svc:[post]/v1/things', body: { a: 1 } });
    assert.equal(post.statusCode, 201);
    assert.equal(post.statusMessage, 'Created');
    assert.deepEqual((post.result as { body: unknown }).body, { a: 1 });
  } finally {
    await Promise.all([caller.close(), svc.hydra.close()]);
    svc.server.close();
  }
});

test('bad requests and unknown services get envelopes with a reason', async () => {
  const caller = await startService(DB, 'api-caller2');
  try {
    const none = await caller.makeAPIRequest({ to: 'ghost-svc:[get]/x', body: {} });
    assert.equal(none.statusCode, 503);
    assert.deepEqual(none.result, { reason: 'Unavailable ghost-svc instances' });
    assert.equal((await caller.makeAPIRequest({ to: 'ghost-svc:/x', body: {} })).statusCode, 400);
    assert.match(String(((await caller.makeAPIRequest({ to: "nocolon", body: {} })).result as { reason: string }).reason), /invalid number of routable segments/);
  } finally {
    await caller.close();
  }
});

test('a path that is not a valid request target is answered 400 naming it, and no instance is tried', async () => {
  const svc = await httpService('space-svc', (_req, res) => json(res, 200, { result: { ok: true } }));
  const caller = await startService(DB, 'api-caller-space');
  try {
    await waitFor('instance seen', async () => (await caller.getServicePresence('space-svc')).length === 1);
    for (const path of ['/v1/a b', '/v1/tab\there', '/v1/caf\u00e9']) {
      const answer = await caller.makeAPIRequest({ to: `space-svc:[get]${path}`, body: {} });
      assert.equal(answer.statusCode, 400, path);
      assert.match(String((answer.result as { reason: string }).reason), /is not a valid HTTP request path/);
      assert.ok(String((answer.result as { reason: string }).reason).includes(JSON.stringify(path)), 'the reason names the path');
    }
    assert.equal(svc.hits(), 0);
    assert.equal((await caller.makeAPIRequest({ to: 'space-svc:[get]/v1/a%20b?q=1&r=%C3%A9', body: {} })).statusCode, 200, 'encoded paths pass');
  } finally {
    await caller.close();
    await svc.hydra.close();
    svc.server.close();
  }
});

test('statuses outside Hydra\'s table keep their names (415, 431), not "Unknown statusCode"', async () => {
  const svc = await httpService('odd-status-svc', (req, res) => {
    res.writeHead(Number(req.url!.slice(1)));
    res.end();
  });
  const caller = await startService(DB, 'api-caller-status');
  try {
    await waitFor('instance seen', async () => (await caller.getServicePresence('odd-status-svc')).length === 1);
    const names: Record<number, string> = { 415: 'Unsupported Media Type', 431: 'Request Header Fields Too Large', 418: "I'm a Teapot" };
    for (const [code, name] of Object.entries(names)) {
      const answer = await caller.makeAPIRequest({ to: `odd-status-svc:[get]/${code}`, body: {} });
      assert.equal(answer.statusCode, Number(code));
      assert.equal(answer.statusMessage, name);
      assert.doesNotMatch(answer.statusDescription, /Unknown statusCode/);
    }
  } finally {
    await caller.close();
    await svc.hydra.close();
    svc.server.close();
  }
});

test('a refused connection moves the call to another instance, whatever the method', async () => {
  const good = await httpService('flaky-svc', (_req, res) => json(res, 200, { result: { ok: true } }));
  const caller = await startService(DB, 'api-caller3');
  // A registered instance whose port refuses connections (its process is gone but presence has not expired yet).
  const deadId = 'e'.repeat(32);
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await redis.hSet(keys.nodes(), deadId, JSON.stringify({ serviceName: 'flaky-svc', instanceID: deadId, ip: '127.0.0.1', port: deadPort, updatedOn: new Date().toISOString() }));
  await redis.setEx(keys.presence('flaky-svc', deadId), 30, deadId);
  try {
    await waitFor('both instances seen', async () => (await caller.getServicePresence('flaky-svc')).length === 2);
    for (let i = 0; i < 4; i++) {
      const post = await caller.makeAPIRequest({ to: 'flaky-svc:[post]/x', body: { i } });
      assert.equal(post.statusCode, 200, `call ${i} succeeded on the live instance`);
    }
    assert.equal(good.hits(), 4);
  } finally {
    await redis.del(keys.presence('flaky-svc', deadId));
    await Promise.all([caller.close(), good.hydra.close()]);
    good.server.close();
  }
});

test('a POST that fails after reaching an instance is not replayed; a GET is retried elsewhere', async () => {
  // Both instances accept the request, then drop the connection without answering.
  const dropper = (req: IncomingMessage) => req.socket.destroy();
  const a = await httpService('dropper', (req) => dropper(req));
  const b = await httpService('dropper', (req) => dropper(req));
  const caller = await startService(DB, 'api-caller4');
  try {
    await waitFor('both seen', async () => (await caller.getServicePresence('dropper')).length === 2);
    const post = await caller.makeAPIRequest({ to: 'dropper:[post]/order', body: { buy: 1 } });
    assert.equal(post.statusCode, 502);
    assert.match(String((post.result as { reason: string }).reason), /not retried \(not idempotent\)/);
    assert.equal(a.hits() + b.hits(), 1, 'the POST reached exactly one instance once');

    const get = await caller.makeAPIRequest({ to: 'dropper:[get]/order', body: {} });
    assert.equal(get.statusCode, 503);
    assert.equal(a.hits() + b.hits(), 3, 'the GET was tried on both instances');
  } finally {
    await Promise.all([caller.close(), a.hydra.close(), b.hydra.close()]);
    a.server.close();
    b.server.close();
  }
});

test('a wait longer than a timer holds (UMF tmo 1e308 s, a request of 1e308 ms) lasts as long as it can, not 1 ms', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const patient = await httpService('patient-svc', (_req, res) => setTimeout(() => json(res, 200, { result: { late: true } }), 200));
  patient.hydra.onMessage((m) => void setTimeout(() => void patient.hydra.sendReplyMessage(m, { body: { late: true } }), 200));
  const caller = await startService(DB, 'patient-caller');
  try {
    await waitFor('seen', async () => (await caller.getServicePresence('patient-svc')).length === 1);
    const res = await caller.makeAPIRequest({ to: 'patient-svc:[get]/x', body: {}, tmo: 1e308 });
    assert.deepEqual([res.statusCode, res.result], [200, { late: true }]);
    const reply = await caller.request({ to: 'patient-svc:/', body: {} }, 1e308);
    assert.equal(reply.body.late, true);
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
    await Promise.all([caller.close(), patient.hydra.close()]);
    patient.server.closeAllConnections();
    patient.server.close();
  }
});

test('a slow POST answers 504 after the timeout', async () => {
  const slow = await httpService('slow-svc', (_req, res) => setTimeout(() => json(res, 200, {}), 2000));
  const caller = await startService(DB, 'api-caller5');
  try {
    await waitFor('seen', async () => (await caller.getServicePresence('slow-svc')).length === 1);
    const res = await caller.makeAPIRequest({ to: 'slow-svc:[post]/x', body: {} }, { timeoutMs: 200 });
    assert.equal(res.statusCode, 504);
  } finally {
    await Promise.all([caller.close(), slow.hydra.close()]);
    slow.server.closeAllConnections();
    slow.server.close();
  }
});
