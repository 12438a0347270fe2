import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from 'express';
import { createClient } from 'redis';
import { pino } from 'pino';
import { keys } from '@hydra-ts/core';
import { redisUrl, captureLogger } from '@hydra-ts/testing';
import { createService, hydraOf, sendOk, type ExpressService } from '../src/index.js';

const DB = 5;
const REDIS_URL = redisUrl(DB);
const redis = createClient({ url: REDIS_URL });
before(async () => {
  await redis.connect();
  await redis.flushDb();
});
after(() => redis.close());

function things(): Router {
  const r = Router();
  r.get('/', (_req, res) => sendOk(res, { result: { list: [] } }));
  r.route('/:id').get((req, res) => sendOk(res, { result: { id: req.params.id } })).put((req, res) => sendOk(res, { result: req.body }));
  r.post('/', (req, res) => sendOk(res, { result: req.body }));
  r.get('/whoami/now', (req, res) => sendOk(res, { result: { instanceId: hydraOf(req).instanceId } }));
  r.get('/boom/now', () => {
    throw new Error('handler exploded');
  });
  r.get('/slow/:ms', (req, res) => void setTimeout(() => sendOk(res, { result: { slept: Number(req.params.ms) } }), Number(req.params.ms)));
  return r;
}

async function start(extra: Record<string, unknown> = {}): Promise<ExpressService> {
  return createService(
    { hydra: { serviceName: 'things-svc', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: REDIS_URL } }, ...extra },
    { routes: { '/v1/things': things() }, logger: pino({ level: 'silent' }), env: {} },
  );
}

const url = (svc: ExpressService, path: string) => `http://127.0.0.1:${svc.port}${path}`;

test('routes are published with their HTTP methods and mount paths', async () => {
  const svc = await start();
  try {
    const routes = (await redis.sMembers(keys.routes('things-svc'))).sort();
    assert.deepEqual(routes, [
      '[get]/things-svc', '[get]/things-svc/', '[get]/things-svc/:rest',
      '[get]/v1/things', '[get]/v1/things/:id', '[get]/v1/things/boom/now', '[get]/v1/things/slow/:ms', '[get]/v1/things/whoami/now',
      '[post]/v1/things', '[put]/v1/things/:id',
    ].sort());
    const res = await fetch(url(svc, '/v1/things/42'));
    assert.deepEqual(await res.json(), { statusCode: 200, statusMessage: 'OK', statusDescription: 'Request succeeded without error', result: { id: '42' } });
    const who = (await (await fetch(url(svc, '/v1/things/whoami/now'))).json()) as { result: { instanceId: string } };
    assert.equal(who.result.instanceId, svc.hydra.instanceId, 'hydraOf(req) is the service\'s Hydra');
  } finally {
    await svc.close();
  }
});

test('GET /health answers for container health checks and is not published as a route', async () => {
  const svc = await start();
  try {
    const res = await fetch(url(svc, '/health'));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { result: { serviceName: string; instanceID: string; redis: string } };
    assert.equal(body.result.serviceName, 'things-svc');
    assert.equal(body.result.instanceID, svc.hydra.instanceId);
    assert.equal(body.result.redis, 'connected');
    const routes = await redis.sMembers(keys.routes('things-svc'));
    assert.ok(!routes.some((r) => r.includes('health')), `no health route published: ${routes.join(' ')}`);
  } finally {
    await svc.close();
  }
});

test('bad input gets an envelope naming the problem, and the service keeps serving', async () => {
  const svc = await start({ bodyParser: { json: { limit: '1kb' } } });
  try {
    const notFound = await fetch(url(svc, '/v1/nothing'));
    assert.equal(notFound.status, 404);
    assert.match((await notFound.json()).result.reason, /no route for GET \/v1\/nothing/);

    const badJson = await fetch(url(svc, '/v1/things'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    assert.equal(badJson.status, 400);
    assert.match((await badJson.json()).result.reason, /not valid JSON/);

    const big = await fetch(url(svc, '/v1/things'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(2048) }) });
    assert.equal(big.status, 413);
    assert.match((await big.json()).result.reason, /exceeds the 1024 byte limit/);

    const boom = await fetch(url(svc, '/v1/things/boom/now'));
    assert.equal(boom.status, 500);
    assert.equal((await boom.json()).result.reason, 'internal error');

    const ok = await fetch(url(svc, '/v1/things'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.deepEqual((await ok.json()).result, { a: 1 });
  } finally {
    await svc.close();
  }
});

test('a body nested thousands deep (under the size limit) is answered 400, not 500 and a stack overflow', async () => {
  const { logger, lines } = captureLogger();
  const svc = await createService(
    { hydra: { serviceName: 'things-svc', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: REDIS_URL } } },
    { routes: { '/v1/things': things() }, logger, env: {} },
  );
  try {
    const body = `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    assert.ok(body.length < 100 * 1024);
    const deep = await fetch(url(svc, '/v1/things'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(deep.status, 400);
    const answer = await deep.json();
    assert.equal(answer.statusMessage, 'Bad Request');
    assert.match(answer.result.reason, /request body nests arrays and objects 5001 levels deep; the limit is 128/);
    assert.equal(lines.filter((l) => l.level === 50).length, 0, 'nothing logged as an error');

    // A charset body-parser cannot decode: 415 with its name, not "415" / "Unknown statusCode".
    const charset = await fetch(url(svc, '/v1/things'), { method: 'POST', headers: { 'content-type': 'application/json; charset=klingon' }, body: '{}' });
    assert.equal(charset.status, 415);
    const unsupported = await charset.json();
    assert.equal(unsupported.statusMessage, 'Unsupported Media Type');
    assert.doesNotMatch(unsupported.statusDescription, /Unknown statusCode/);

    const ok = await fetch(url(svc, '/v1/things'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[[1]]}' });
    assert.deepEqual((await ok.json()).result, { a: [[1]] });
  } finally {
    await svc.close();
  }
});

test('without bodyParser config, the JSON body limit is 100 kB: a 200 kB body is answered 413', async () => {
  const svc = await start();
  try {
    const big = await fetch(url(svc, '/v1/things'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(200 * 1024) }) });
    assert.equal(big.status, 413);
    assert.match((await big.json()).result.reason, /exceeds the 102400 byte limit/);
    const small = await fetch(url(svc, '/v1/things'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(90 * 1024) }) });
    assert.equal(small.status, 200);
  } finally {
    await svc.close();
  }
});

test('close(): presence goes first, the request in flight still completes, then the port is released', async () => {
  const svc = await start();
  const presence = keys.presence('things-svc', svc.hydra.instanceId);
  assert.equal(await redis.exists(presence), 1);
  const inFlight = fetch(url(svc, '/v1/things/slow/600'));
  await new Promise((r) => setTimeout(r, 100));
  const closing = svc.close();
  // Presence is removed while the slow request is still being served.
  for (let i = 0; i < 100 && (await redis.exists(presence)); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await redis.exists(presence), 0);
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).result, { slept: 600 });
  await closing;
  await assert.rejects(fetch(url(svc, '/v1/things')), 'the port no longer accepts connections');
});
