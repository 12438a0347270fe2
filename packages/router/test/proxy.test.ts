/**
 * The router as an HTTP gateway, end to end: the compiled `hydra-router` bin and
 * backend services as real processes on Redis database 8.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Processes, flushDb, http, waitFor, agent } from './helpers.js';
import { redisUrl } from '@hydra-ts/testing';

const HELLO_SERVICE = join(__dirname, '..', '..', '..', '..', 'examples', 'hello-service', 'dist', 'src', 'main.js');

const DB = 8;
const procs = new Processes();
const dir = mkdtempSync(join(tmpdir(), 'router-proxy-'));
let base = '';
let leastBase = '';

before(async () => {
  await flushDb(DB);
  const config = join(dir, 'router.json');
  writeFileSync(config, JSON.stringify({ requestTimeout: 1, bodyLimit: 1024 * 1024 }));
  const least = join(dir, 'least.json');
  writeFileSync(least, JSON.stringify({ balancing: 'least-outstanding', requestTimeout: 10 }));
  [base, leastBase] = (await Promise.all([procs.router(DB, { config }), procs.router(DB, { config: least })])).map((r) => r.base);
});

after(async () => {
  await procs.killAll();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

async function whoServes(url: string, init?: Parameters<typeof http>[1]): Promise<string> {
  const res = await http(url, init);
  assert.equal(res.status, 200, `${url}: ${res.text}`);
  return res.json<{ service: string }>().service;
}

test('matching honours the method and prefers the most specific pattern, whatever the registration order', async () => {
  // Registered least specific first: a first-match table (hydra-router's) would send everything to shop-wild.
  await procs.backend(DB, 'shop-wild', ['[get]/v1/shop/*']);
  await procs.backend(DB, 'shop-param', ['[get]/v1/shop/items/:id']);
  const special = await procs.backend(DB, 'shop-special', ['[get]/v1/shop/items/special']);
  await procs.backend(DB, 'shop-post', ['[post]/v1/shop/items/:id']);
  await waitFor('routes of all four services', async () => (await http(`${base}/v1/shop/items/42`, { method: 'POST' })).status === 200 && (await http(`${base}/v1/shop/items/special`)).json().service === 'shop-special');

  assert.equal(await whoServes(`${base}/v1/shop/items/special`), 'shop-special');
  assert.equal(await whoServes(`${base}/v1/shop/items/42`), 'shop-param');
  assert.equal(await whoServes(`${base}/v1/shop/items/42/`), 'shop-param', 'a trailing slash names the same resource');
  assert.equal(await whoServes(`${base}/v1/shop/anything/else/deep`), 'shop-wild');
  assert.equal(await whoServes(`${base}/v1/shop/items/42`, { method: 'POST', body: '{}' }), 'shop-post');

  const del = await http(`${base}/v1/shop/items/42`, { method: 'DELETE' });
  assert.equal(del.status, 405);
  assert.equal(del.headers.allow, 'GET, POST');
  assert.match(del.json().result.reason, /DELETE is not a registered method/);

  // A route whose service has no live instance stops matching: the next most specific live one takes over.
  special.proc.kill('SIGTERM');
  await special.proc.waitExit();
  await waitFor('shop-special to leave the table', async () => (await http(`${base}/v1/shop/items/special`)).json().service === 'shop-param');
});

test('direct addressing: /<service>/rest goes to the service as /rest, query kept', async () => {
  await procs.backend(DB, 'direct-svc', ['[get]/hello/world', '[get]/']);
  const res = await waitFor('direct-svc to be live', async () => {
    const r = await http(`${base}/direct-svc/hello/world?x=1&y=2`);
    return r.status === 200 ? r : undefined;
  });
  const seen = res.json();
  assert.equal(seen.service, 'direct-svc');
  assert.equal(seen.url, '/hello/world?x=1&y=2');
  assert.equal((await http(`${base}/direct-svc`)).json().url, '/');
  assert.equal((await http(`${base}/direct-svc?a=b`)).json().url, '/?a=b');
});

test('unknown paths get 404 and dead services 503, in the Hydra envelope with a reason', async () => {
  const missing = await http(`${base}/no/such/thing`);
  assert.equal(missing.status, 404);
  const env = missing.json();
  assert.equal(env.statusCode, 404);
  assert.equal(env.statusMessage, 'Not Found');
  assert.match(env.result.reason, /no route matches GET \/no\/such\/thing/);

  const gone = await procs.backend(DB, 'gone-svc', ['[get]/v1/gone/thing']);
  await waitFor('gone-svc route', async () => (await http(`${base}/v1/gone/thing`)).status === 200);
  gone.proc.kill('SIGTERM');
  await gone.proc.waitExit();
  const res = await waitFor('gone-svc to be seen dead', async () => {
    const r = await http(`${base}/v1/gone/thing`);
    return r.status === 503 ? r : undefined;
  });
  assert.match(res.json().result.reason, /^Unavailable gone-svc instances: .*no live instance/);
  assert.equal(res.json().statusMessage, 'Service Unavailable');
});

test('routes registered after the router started are picked up from the refresh broadcast', async () => {
  assert.equal((await http(`${base}/v1/late/hello`)).status, 404);
  await procs.backend(DB, 'late-svc', ['[get]/v1/late/hello']);
  assert.equal(await waitFor('late route', async () => (await http(`${base}/v1/late/hello`)).status === 200 && 'ok'), 'ok');
});

test('forwarding headers and the request id: the client id is reused, otherwise one is made; both sides see it', async () => {
  await procs.backend(DB, 'hdr-svc', ['[get]/v1/hdr']);
  await waitFor('hdr route', async () => (await http(`${base}/v1/hdr`)).status === 200);
  const given = await http(`${base}/v1/hdr`, { headers: { 'x-request-id': 'req-123', 'x-forwarded-for': '127.1.2.3', host: 'api.example.test' } });
  const seen = given.json().headers;
  assert.equal(given.headers['x-request-id'], 'req-123');
  assert.equal(seen['x-request-id'], 'req-123');
  assert.equal(seen['x-forwarded-for'], '127.1.2.3, 127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'api.example.test');

  const made = await http(`${base}/v1/hdr`);
  const id = made.headers['x-request-id'];
  assert.match(String(id), /^[0-9a-f-]{36}$/);
  assert.equal(made.json().headers['x-request-id'], id);
  assert.equal(made.json().headers['x-forwarded-for'], '127.0.0.1');
});

test('bodies stream both ways, any content type, and bodies over the limit get 413', async () => {
  await procs.backend(DB, 'stream-svc', ['[post]/v1/stream/echo', '[get]/v1/stream/big', '[post]/v1/stream/count', '[get]/v1/stream/posts']);
  await waitFor('stream routes', async () => (await http(`${base}/v1/stream/posts`)).status === 200);

  // 900 KB in 64 KB chunks without a content-length (chunked), binary.
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
  async function* body(n: number) {
    for (let i = 0; i < n; i++) yield chunk;
  }
  const sent = createHash('sha256');
  for (let i = 0; i < 14; i++) sent.update(chunk);
  const echo = await fetch(`${base}/v1/stream/echo`, { method: 'POST', body: body(14) as unknown as BodyInit, headers: { 'content-type': 'application/x-test-binary' }, duplex: 'half' } as RequestInit);
  assert.equal(echo.status, 200);
  assert.equal(echo.headers.get('content-type'), 'application/x-test-binary');
  const back = Buffer.from(await echo.arrayBuffer());
  assert.equal(back.length, 14 * chunk.length);
  assert.equal(createHash('sha256').update(back).digest('hex'), sent.digest('hex'));

  // A 16 MB response (not limited: the limit is on what clients send).
  const big = await fetch(`${base}/v1/stream/big?chunks=256`);
  assert.equal(big.status, 200);
  assert.equal((await big.arrayBuffer()).byteLength, 256 * 64 * 1024);

  // Declared too large: refused before anything reaches the service.
  const declared = await http(`${base}/v1/stream/count`, { method: 'POST', body: Buffer.alloc(1024 * 1024 + 1) });
  assert.equal(declared.status, 413);
  assert.match(declared.json().result.reason, /larger than the router's limit of 1048576 bytes/);

  // Chunked and too large: cut when the limit is passed.
  const chunked = await fetch(`${base}/v1/stream/count`, { method: 'POST', body: body(20) as unknown as BodyInit, duplex: 'half' } as RequestInit);
  assert.equal(chunked.status, 413);
  assert.equal(((await chunked.json()) as { statusCode: number }).statusCode, 413);
  assert.equal((await http(`${base}/v1/stream/posts`)).json().posts, 0, 'no oversized body was completed at the service');
});

test('round robin spreads requests evenly; least-outstanding avoids a busy instance', async () => {
  const a = await procs.backend(DB, 'rr-svc', ['[get]/v1/rr/who', '[get]/v1/rr/slow']);
  const b = await procs.backend(DB, 'rr-svc', ['[get]/v1/rr/who', '[get]/v1/rr/slow']);
  const both = new Set([a.instanceId, b.instanceId]);
  await waitFor('both rr instances in both routers', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      seen.add((await http(`${base}/v1/rr/who`)).json().instance);
      seen.add((await http(`${leastBase}/v1/rr/who`)).json().instance);
    }
    return seen.size === 2;
  });
  const counts = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    const id = (await http(`${base}/v1/rr/who`)).json().instance as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  assert.deepEqual([...counts.values()], [10, 10]);

  // One slow request pins an instance; least-outstanding sends everything else to the other.
  const slow = http(`${leastBase}/v1/rr/slow?ms=3000`);
  await waitFor('the slow request to reach an instance', async () => {
    const counts = await Promise.all([a, b].map(async (x) => (await http(`http://127.0.0.1:${x.port}/in-flight`)).json().slowInFlight as number));
    return counts[0]! + counts[1]! === 1;
  });
  const during = new Set<string>();
  for (let i = 0; i < 10; i++) during.add((await http(`${leastBase}/v1/rr/who`)).json().instance);
  const pinned = (await slow).json().instance as string;
  assert.ok(both.has(pinned));
  assert.deepEqual([...during], [[...both].find((id) => id !== pinned)]);
});

test('an instance killed under GET load causes no client-visible error', async () => {
  const routes = ['[get]/v1/kill/who'];
  const victim = await procs.backend(DB, 'kill-svc', routes);
  const survivor = await procs.backend(DB, 'kill-svc', routes);
  await waitFor('both kill-svc instances', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await http(`${base}/v1/kill/who`)).json().instance);
    return seen.size === 2;
  });
  const statuses = new Map<number, number>();
  const served = new Map<string, number>();
  let sent = 0;
  const MAX = 4000;
  const until = Date.now() + 4000;
  const loop = async () => {
    while (Date.now() < until && sent < MAX) {
      sent++;
      const r = await http(`${base}/v1/kill/who`);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 200) {
        const id = r.json().instance as string;
        served.set(id, (served.get(id) ?? 0) + 1);
      }
    }
  };
  const loops = Array.from({ length: 16 }, loop);
  await new Promise((r) => setTimeout(r, 500));
  victim.proc.kill('SIGKILL');
  await Promise.all(loops);
  assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
  assert.ok((served.get(victim.instanceId) ?? 0) > 0, 'the victim served before it died');
  assert.ok((served.get(survivor.instanceId) ?? 0) > 0);
  // After its presence expired, the dead instance is not even tried.
  await waitFor('victim gone from discovery', async () => {
    const nodes = (await http(`${base}/v1/router/list/services`)).json().result as Array<{ instanceID: string }>;
    return !nodes.some((n) => n.instanceID === victim.instanceId);
  });
});

test('a POST whose instance died after reading it is answered 502 and never replayed', async () => {
  const routes = ['[post]/v1/hang/hang-post', '[get]/v1/hang/posts', '[post]/v1/hang/count'];
  await procs.backend(DB, 'hang-svc', routes);
  await procs.backend(DB, 'hang-svc', routes);
  await waitFor('hang-svc routes', async () => (await http(`${base}/v1/hang/posts`)).status === 200);
  const res = await http(`${base}/v1/hang/hang-post`, { method: 'POST', body: '{"pay":1}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 502);
  assert.match(res.json().result.reason, /POST to hang-svc instance [0-9a-f]{32} failed .* not retried: POST is not idempotent/);
  // The other instance never saw it: a GET (retried past the dead one if needed) reads its count.
  const survivorCount = await http(`${base}/v1/hang/posts`);
  assert.equal(survivorCount.status, 200);
  assert.equal(survivorCount.json().posts, 0);
});

test('a POST without a body is not idempotent either: its instance died after reading it, so 502, never replayed', async () => {
  // The replay rule looks at the method, not at the body: an empty POST may still have done its work.
  const routes = ['[post]/v1/empty/hang-post', '[get]/v1/empty/posts'];
  await procs.backend(DB, 'empty-post-svc', routes);
  await procs.backend(DB, 'empty-post-svc', routes);
  await waitFor('empty-post-svc routes', async () => (await http(`${base}/v1/empty/posts`)).status === 200);
  const res = await http(`${base}/v1/empty/hang-post`, { method: 'POST' });
  assert.equal(res.status, 502, JSON.stringify(res.json()));
  assert.match(res.json().result.reason, /POST to empty-post-svc instance [0-9a-f]{32} failed .* not retried: POST is not idempotent/);
  const survivorCount = await http(`${base}/v1/empty/posts`);
  assert.equal(survivorCount.status, 200);
  assert.equal(survivorCount.json().posts, 0, 'the surviving instance never got the POST');
});

test('a POST refused at connect time is safe to send elsewhere and is', async () => {
  const routes = ['[post]/v1/refuse/count', '[get]/v1/refuse/posts'];
  const dead = await procs.backend(DB, 'refuse-svc', routes);
  const alive = await procs.backend(DB, 'refuse-svc', routes);
  await waitFor('both refuse-svc instances', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await http(`${base}/v1/refuse/posts`)).json().instance);
    return seen.size === 2;
  });
  dead.proc.kill('SIGKILL');
  await dead.proc.waitExit();
  // Its presence lingers up to 3 s: the router still picks it, is refused, and moves on.
  for (let i = 0; i < 6; i++) {
    const r = await http(`${base}/v1/refuse/count`, { method: 'POST', body: '{}' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json().instance, alive.instanceId);
  }
  assert.equal((await http(`${base}/v1/refuse/posts`)).json().posts, 6);
});

test('an instance too slow to answer gets 504 with the timeout named', async () => {
  await procs.backend(DB, 'slow-svc', ['[get]/v1/slowpoke/slow']);
  await waitFor('slow route', async () => (await http(`${base}/v1/slowpoke/slow?ms=1`)).status === 200);
  const res = await http(`${base}/v1/slowpoke/slow?ms=5000`);
  assert.equal(res.status, 504);
  assert.equal(res.json().statusMessage, 'Gateway Timeout');
  assert.match(res.json().result.reason, /sent no response within 1000 ms \(config field requestTimeout/);
});

test('in front of the hello-service example: its routes answer through the router', async () => {
  const proc = procs.start('hello-service', HELLO_SERVICE, [], {
    HYDRA_REDIS_URL: redisUrl(DB),
    HYDRA_SERVICE: JSON.stringify({ serviceIP: '127.0.0.1', servicePort: 0 }),
  });
  const ready = await proc.waitLine<{ msg?: string; instanceId?: string }>('hello-service listening', (j) => /hello-service listening/.test(j.msg ?? ''));
  const hello = await waitFor('hello-service routes', async () => {
    const r = await http(`${base}/v1/hello/test`);
    return r.status === 200 ? r : undefined;
  });
  assert.equal(hello.json().result.msg, `hello from hello-service - ${ready.instanceId}`);
  const posted = await http(`${base}/v1/hello/post`, { method: 'POST', body: JSON.stringify({ x: 1 }), headers: { 'content-type': 'application/json' } });
  assert.equal(posted.status, 200);
  assert.deepEqual(posted.json().result, { x: 1 });
});

test('routing goes on while Redis is away, and the router registers again when it is back', async () => {
  const redis = await procs.redisServer();
  const url = redis.url(DB);
  const own = await procs.router(DB, { redis: url });
  const svc = await procs.backend(DB, 'calm-svc', ['[get]/v1/calm/who'], { HYDRA_REDIS_URL: url });
  await waitFor('calm-svc routed', async () => (await http(`${own.base}/v1/calm/who`)).status === 200);

  redis.proc.kill('SIGKILL');
  await redis.proc.waitExit();
  // Nothing on the request path needs Redis: the table and the instances are in memory.
  for (let i = 0; i < 20; i++) {
    const r = await http(`${own.base}/v1/calm/who`);
    assert.equal(r.status, 200, `${r.text}\n${svc.proc.lines.slice(-5).join('\n')}\n${own.proc.lines.slice(-5).join('\n')}`);
    assert.equal(r.json().instance, svc.instanceId);
  }
  assert.equal((await http(`${own.base}/v1/router/health`)).json().result.redis, 'disconnected');
  assert.equal(own.proc.exited, false);

  // Back empty (no persistence): router and service write their keys again.
  await procs.redisServer(redis.port);
  await waitFor('the router to register again', async () =>
    (await http(`${own.base}/v1/router/list/nodes`)).json().result?.some((n: { instanceID: string }) => n.instanceID === own.instanceId),
  15_000);
  // The restarted Redis is empty until the service's next heartbeat: it may be unknown for a moment.
  await waitFor('calm-svc routed again', async () => (await http(`${own.base}/v1/calm/who`)).status === 200, 15_000);
  assert.equal((await http(`${own.base}/v1/router/health`)).json().result.redis, 'connected');
});

test('with wrapResponses, a JSON answer that is not an envelope is wrapped into one, as hydra-router does; envelopes and text pass as they are', async () => {
  const config = join(dir, 'wrap.json');
  writeFileSync(config, JSON.stringify({ wrapResponses: true }));
  const wrapping = await procs.router(DB, { config });
  const svc = await procs.backend(DB, 'wrap-svc', ['[get]/v1/wrap/plain', '[get]/v1/wrap/envelope', '[get]/v1/wrap/text']);
  const plain = await waitFor('wrap-svc routed', async () => {
    const r = await http(`${wrapping.base}/v1/wrap/plain`);
    return r.status === 200 ? r : undefined;
  });
  const body = plain.json();
  assert.deepEqual(Object.keys(body).slice(0, 4), ['statusCode', 'statusMessage', 'statusDescription', 'result']);
  assert.equal(body.statusCode, 200);
  assert.equal(body.statusMessage, 'OK');
  assert.deepEqual(body.result, {});
  assert.equal(body.instance, svc.instanceId, "the answer's own fields laid over the envelope");
  assert.equal(Number(plain.headers['content-length']), Buffer.byteLength(plain.text));

  const direct = async (path: string) => (await http(`http://127.0.0.1:${svc.port}${path}`)).text;
  const envelope = await http(`${wrapping.base}/v1/wrap/envelope`);
  assert.equal(envelope.text, await direct('/v1/wrap/envelope'), 'an envelope streams untouched');
  const text = await http(`${wrapping.base}/v1/wrap/text`);
  assert.equal(text.text, await direct('/v1/wrap/text'));
  assert.equal(text.headers['content-type'], 'text/plain; charset=utf-8');
  // Off by default: the answer passes as the service sent it.
  await waitFor('wrap-svc routed by the default router', async () => (await http(`${base}/v1/wrap/plain`)).status === 200);
  assert.equal((await http(`${base}/v1/wrap/plain`)).json().statusCode, undefined);
});
