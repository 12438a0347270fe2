/**
 * The router API (`/v1/router/*`) with hydra-router's shapes, the router token,
 * CORS, Prometheus metrics, several routers on one Redis, interop with a
 * hydra-express@1.9.5 service, and the dashboard in a real Chromium.
 * Real processes on Redis database 9.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Processes, flushDb, http, waitFor, agent, withRedis, TEST_OUTPUT, ROUTER_BIN } from './helpers.js';
import { redisUrl, findChromium } from '@hydra-ts/testing';
import { keys } from '@hydra-ts/core';

const DB = 9;
const TOKEN = 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b';
const CORS = {
  'access-control-allow-origin': 'https://app.example.test',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'accept, authorization, content-type',
};
const procs = new Processes();
const dir = mkdtempSync(join(tmpdir(), 'router-api-'));
let base = '';
let routerId = '';
let secured = '';
let secondId = '';

before(async () => {
  await flushDb(DB);
  const open = join(dir, 'open.json');
  writeFileSync(open, JSON.stringify({ cors: CORS }));
  const locked = join(dir, 'locked.json');
  writeFileSync(locked, JSON.stringify({ routerToken: TOKEN }));
  const [a, b] = await Promise.all([procs.router(DB, { config: open }), procs.router(DB, { config: locked })]);
  base = a.base;
  routerId = a.instanceId;
  secured = b.base;
  secondId = b.instanceId;
  await procs.backend(DB, 'api-svc', ['[get]/v1/api/hello', '[post]/v1/api/count', '[get]/v1/api/envelope']);
  await waitFor('api-svc routed by both routers', async () => (await http(`${base}/v1/api/hello`)).status === 200 && (await http(`${secured}/v1/api/hello`)).status === 200);
});

after(async () => {
  await procs.killAll();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

const envelopeOf = async (url: string, init?: Parameters<typeof http>[1]) => {
  const res = await http(url, init);
  return { status: res.status, headers: res.headers, body: res.json() };
};

test('version, health, list/routes, list/services and list/nodes answer in hydra-router\'s shapes', async () => {
  const version = await envelopeOf(`${base}/v1/router/version`);
  assert.equal(version.status, 200);
  assert.deepEqual(Object.keys(version.body), ['statusCode', 'statusMessage', 'statusDescription', 'result']);
  assert.match(version.body.result.version, /^\d+\.\d+\.\d+$/);

  const health = await envelopeOf(`${base}/v1/router/health`);
  assert.equal(health.status, 200);
  assert.equal(health.body.result.serviceName, 'hydra-router');
  assert.equal(health.body.result.instanceID, routerId);
  assert.equal(typeof health.body.result.memory.rss, 'number');
  assert.equal(health.body.result.redis, 'connected');

  const routes = await envelopeOf(`${base}/v1/router/list/routes`);
  const apiRoutes = (routes.body.result as Array<{ serviceName: string; routes: string[] }>).find((r) => r.serviceName === 'api-svc');
  assert.ok(apiRoutes, JSON.stringify(routes.body));
  for (const path of ['/v1/api/count', '/v1/api/envelope', '/v1/api/hello']) assert.ok(apiRoutes.routes.includes(path), `${path} in ${apiRoutes.routes}`);
  assert.ok(apiRoutes.routes.every((r) => r.startsWith('/')), 'patterns without [method], as hydra-router lists them');
  const own = (routes.body.result as Array<{ serviceName: string; routes: string[] }>).find((r) => r.serviceName === 'hydra-router');
  assert.ok(own?.routes.includes('/v1/router/list/:thing'), 'the router lists its own routes');

  const services = await envelopeOf(`${base}/v1/router/list/services`);
  const instance = (services.body.result as Array<Record<string, any>>).find((s) => s.serviceName === 'api-svc');
  assert.ok(instance, 'each live instance is listed');
  assert.match(instance.instanceID, /^[0-9a-f]{32}$/);
  assert.equal(instance.ip, '127.0.0.1');
  assert.equal(instance.version, '1.2.3');
  assert.equal(typeof instance.uptimeSeconds, 'number', 'merged with its health document');
  assert.ok(Array.isArray(instance.log));

  const nodes = await envelopeOf(`${base}/v1/router/list/nodes`);
  assert.equal(nodes.body.instanceID, routerId);
  assert.equal(typeof nodes.body.hostname, 'string');
  const ids = (nodes.body.result as Array<{ instanceID: string; serviceName: string }>).map((n) => n.instanceID);
  assert.ok(ids.includes(routerId) && ids.includes(secondId), 'both routers are nodes of one cluster');

  const unknown = await envelopeOf(`${base}/v1/router/nothing-here`);
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.result.reason, /not a router API endpoint/);
});

test('stats count requests per service and per second, and errors', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await http(`${base}/v1/api/hello`)).status, 200);
  const stats = (await envelopeOf(`${base}/v1/router/stats`)).body.result;
  const series = stats.httpStats['api-svc'] as number[];
  assert.equal(series.length, 3600, 'one count per second of the last hour');
  assert.ok(series.reduce((a, b) => a + b, 0) >= 6);
  assert.equal(stats.totals.http['api-svc'], series.reduce((a, b) => a + b, 0));
  assert.deepEqual(Object.keys(stats).sort(), ['errorStats', 'httpStats', 'totals', 'wsStats']);
});

test('send, queue and message post UMF through the router; bad UMF is named', async () => {
  const queued = await envelopeOf(`${base}/v1/router/queue`, { method: 'POST', body: JSON.stringify({ to: 'api-svc:/', frm: 'test:/', bdy: { job: 1 } }) });
  assert.equal(queued.status, 200);
  const mid = queued.body.result.mid as string;
  const stored = await withRedis(DB, (c) => c.lRange('hydra:service:api-svc:mqrecieved', 0, -1));
  assert.equal(stored.length, 1);
  assert.equal(JSON.parse(stored[0]!).mid, mid);

  const sent = await envelopeOf(`${base}/v1/router/send`, { method: 'POST', body: JSON.stringify({ to: 'api-svc:/', frm: 'test:/', bdy: { hi: 1 } }) });
  assert.equal(sent.status, 200);
  assert.match(sent.body.result.mid, /^[0-9a-f-]{36}$/);

  const nobody = await envelopeOf(`${base}/v1/router/send`, { method: 'POST', body: JSON.stringify({ to: 'nobody-svc:/', frm: 'test:/', bdy: {} }) });
  assert.equal(nobody.status, 503);
  assert.match(nobody.body.result.reason, /Unavailable nobody-svc instances/);

  const forwarded = await envelopeOf(`${base}/v1/router/message`, { method: 'POST', body: JSON.stringify({ to: 'hydra-router:/', frm: 'test:/', fwd: 'api-svc:[get]/v1/api/envelope', bdy: {} }) });
  assert.equal(forwarded.status, 200);
  assert.equal(forwarded.body.result.service, 'api-svc');

  const notJson = await envelopeOf(`${base}/v1/router/send`, { method: 'POST', body: '{"to": ' });
  assert.equal(notJson.status, 400);
  assert.match(notJson.body.result.reason, /request body is not JSON/);
  const deep = await envelopeOf(`${base}/v1/router/message`, { method: 'POST', body: `{"to":"hydra-router:/","frm":"t:/","fwd":"api-svc:[post]/v1/api/envelope","bdy":${'['.repeat(5000)}${']'.repeat(5000)}}` });
  assert.equal(deep.status, 400);
  assert.match(deep.body.result.reason, /request body nests arrays and objects 5001 levels deep/);
  const noBody = await envelopeOf(`${base}/v1/router/send`, { method: 'POST', body: JSON.stringify({ to: 'api-svc:/', frm: 'test:/' }) });
  assert.equal(noBody.status, 400);
  assert.match(noBody.body.result.reason, /UMF field "body" is required/);
});

test('refresh on one router reloads the route table of every router', async () => {
  await withRedis(DB, (c) => c.sAdd('hydra:service:api-svc:service:routes', '[get]/v1/api/extra'));
  assert.equal((await http(`${secured}/v1/api/extra`)).status, 404, 'not known until a refresh');
  const refreshed = await envelopeOf(`${base}/v1/router/refresh/api-svc`);
  assert.equal(refreshed.status, 200);
  const invalid = await envelopeOf(`${base}/v1/router/refresh/Bad%20Name`);
  assert.equal(invalid.status, 400);
  assert.match(invalid.body.result.reason, /refresh\/<service> "Bad Name" is not a valid service name/);
  await waitFor('the other router to reload', async () => (await http(`${secured}/v1/api/extra`)).status === 200);
  assert.equal((await http(`${base}/v1/api/extra`)).status, 200);
});

test('the router token protects the API (query or bearer), but not the health check or routed traffic', async () => {
  const denied = await envelopeOf(`${secured}/v1/router/list/routes`);
  assert.equal(denied.status, 401);
  assert.match(denied.body.result.reason, /needs the router token/);
  assert.equal((await http(`${secured}/v1/router/list/routes?token=wrong-${TOKEN}`)).status, 401);
  // Wrong tokens of the right length (last character changed, all changed), by query and by Bearer header.
  const sameLength = [`${TOKEN.slice(0, -1)}${TOKEN.endsWith('0') ? '1' : '0'}`, 'x'.repeat(TOKEN.length)];
  for (const wrong of sameLength) {
    assert.equal(wrong.length, TOKEN.length);
    assert.equal((await http(`${secured}/v1/router/list/routes?token=${wrong}`)).status, 401, `query ${wrong}`);
    assert.equal((await http(`${secured}/v1/router/list/routes`, { headers: { authorization: `Bearer ${wrong}` } })).status, 401, `bearer ${wrong}`);
  }
  assert.equal((await http(`${secured}/v1/router/list/routes?token=${TOKEN}`)).status, 200);
  assert.equal((await http(`${secured}/v1/router/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  assert.equal((await http(`${secured}/metrics`)).status, 401);
  assert.equal((await http(`${secured}/`)).status, 401);
  assert.equal((await http(`${secured}/v1/router/health`)).status, 200);
  assert.equal((await http(`${secured}/v1/api/hello`)).status, 200);
});

test('CORS headers from the config on answers, errors and preflights', async () => {
  const pre = await http(`${base}/v1/api/hello`, { method: 'OPTIONS', headers: { origin: 'https://app.example.test', 'access-control-request-method': 'GET' } });
  assert.equal(pre.status, 204);
  for (const [k, v] of Object.entries(CORS)) assert.equal(pre.headers[k], v);
  const proxied = await http(`${base}/v1/api/hello`, { headers: { origin: 'https://app.example.test' } });
  assert.equal(proxied.headers['access-control-allow-origin'], CORS['access-control-allow-origin']);
  const missing = await http(`${base}/v1/nowhere`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['access-control-allow-origin'], CORS['access-control-allow-origin']);
  const api = await http(`${base}/v1/router/version`);
  assert.equal(api.headers['access-control-allow-origin'], CORS['access-control-allow-origin']);
  // The router without CORS config adds none.
  assert.equal((await http(`${secured}/v1/api/hello`)).headers['access-control-allow-origin'], undefined);
});

test('/metrics exposes requests by service and status, latency, upstream errors and instances', async () => {
  for (let i = 0; i < 3; i++) await http(`${base}/v1/api/hello`);
  await http(`${base}/v1/not/routed`);
  const text = (await http(`${base}/metrics`)).text;
  const count = (re: RegExp) => Number(re.exec(text)?.[1]);
  assert.ok(count(/^hydra_router_requests_total\{service="api-svc",method="GET",status="200"\} (\d+)$/m) >= 3, text.slice(0, 2000));
  assert.ok(count(/^hydra_router_requests_total\{service="none",method="GET",status="404"\} (\d+)$/m) >= 1);
  assert.ok(count(/^hydra_router_request_duration_seconds_count\{service="api-svc"\} (\d+)$/m) >= 3);
  assert.match(text, /^hydra_router_request_duration_seconds_bucket\{le="0\.005",service="api-svc"\} \d+$/m);
  assert.equal(count(/^hydra_router_instances\{service="api-svc"\} (\d+)$/m), 1);
  assert.match(text, /^# TYPE hydra_router_upstream_errors_total counter$/m);
  assert.match(text, /^hydra_router_process_resident_memory_bytes \d+/m);
});

test('routes to a hydra-express@1.9.5 service and follows its route registration', async () => {
  assert.equal((await http(`${base}/v1/hx/hello`)).status, 404);
  const peer = await procs.hydraPeer(DB, 'hydra-express-service', 'hx-svc');
  const hello = await waitFor('hydra-express routes through the router', async () => {
    const r = await http(`${base}/v1/hx/hello`);
    return r.status === 200 ? r : undefined;
  });
  const body = hello.json();
  assert.equal(body.statusCode, 200);
  assert.equal(body.result.msg, 'hello from hx-svc');
  assert.equal(body.result.instanceID, peer.instanceId);
  assert.equal(body.result.forwardedFor, '127.0.0.1');
  const echo = await http(`${base}/v1/hx/echo`, { method: 'POST', body: JSON.stringify({ a: [1, 2], b: 'ü' }), headers: { 'content-type': 'application/json' } });
  assert.equal(echo.status, 200);
  assert.deepEqual(echo.json().result.echo, { a: [1, 2], b: 'ü' });
  // Hydra's own direct address, too.
  assert.equal((await http(`${base}/hx-svc/v1/hx/hello`)).json().result.msg, 'hello from hx-svc');
});

test('the dashboard shows instances appear and die, live, in Chromium', async () => {
  const userDataDir = mkdtempSync(join(tmpdir(), 'router-chromium-'));
  const { executablePath, args, env } = await findChromium();
  const browser = await chromium.launchPersistentContext(userDataDir, { executablePath, args, env, headless: true, viewport: { width: 1400, height: 900 } });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('requestfailed', (r) => { if (!r.url().includes('/v1/router/events')) problems.push(`${r.url()} failed`); });
    await page.goto(`${base}/`);
    await page.waitForSelector('section[data-service="api-svc"] tr[data-state="alive"]');
    assert.equal(await page.locator('#conn').textContent(), 'live');

    // A service that starts after the page loaded appears without a reload...
    const dash = await procs.backend(DB, 'dash-svc', ['[get]/v1/dash/hi']);
    const row = page.locator(`tr[data-instance="${dash.instanceId}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'alive');
    assert.match((await row.textContent()) ?? '', /127\.0\.0\.1:\d+.*1\.2\.3/);
    await waitFor('a routed request', async () => (await http(`${base}/v1/dash/hi`)).status === 200);
    await page.waitForFunction(() => /req\/s [1-9]|req\/s 0\.[1-9]/.test(document.querySelector('section[data-service="dash-svc"] .rates')?.textContent ?? ''));
    mkdirSync(TEST_OUTPUT, { recursive: true });
    await page.screenshot({ path: join(TEST_OUTPUT, 'dashboard-alive.png'), fullPage: true });

    // ...and is marked dead when its process dies.
    dash.proc.kill('SIGKILL');
    await page.waitForSelector(`tr[data-instance="${dash.instanceId}"][data-state="dead"]`, { timeout: 10_000 });
    assert.match((await row.textContent()) ?? '', /dead/);
    const shot = join(TEST_OUTPUT, 'dashboard-dead.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
});

test('with "workers": 2, two router processes share one port, each a registered router, and stop together', async () => {
  const config = join(dir, 'workers.json');
  writeFileSync(config, JSON.stringify({ workers: 2 }));
  const primary = await procs.router(DB, { config });
  const second = await primary.proc.waitLine<{ msg?: string; instance?: string }>('the second worker', (j) => j.msg === 'hydra-router ready' && j.instance !== primary.instanceId);
  const workerIds = [primary.instanceId, second.instance!];
  const nodes = (await envelopeOf(`${base}/v1/router/list/nodes`)).body.result as Array<{ instanceID: string; port: number; serviceName: string }>;
  const ports = nodes.filter((n) => workerIds.includes(n.instanceID)).map((n) => n.port);
  assert.deepEqual(ports, [primary.port, primary.port], 'both workers registered on the one port');
  for (let i = 0; i < 20; i++) assert.equal((await http(`${primary.base}/v1/api/hello`)).status, 200);
  primary.proc.kill('SIGTERM');
  assert.equal(await primary.proc.waitExit(), 0);
  const present = await withRedis(DB, async (c) => Promise.all(workerIds.map((id) => c.exists(`hydra:service:hydra-router:${id}:presence`))));
  assert.deepEqual(present, [0, 0], 'each worker removed its presence on the way out');
});

test('a bad config field or an unreachable Redis stops the start with a message naming it', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ balancing: 'random', requestTimeout: 5 }));
  const badConfig = procs.start('router (bad config)', ROUTER_BIN, [bad], { HYDRA_REDIS_URL: redisUrl(DB), HYDRA_SERVICE: '{"servicePort":0}' });
  assert.equal(await badConfig.waitExit(), 1);
  assert.match(badConfig.lines.join('\n'), /cannot start: router config field balancing "random" is not one of round-robin, least-outstanding/);
  // A name every object has is no strategy either (it passed the check and failed at the first request).
  writeFileSync(bad, JSON.stringify({ balancing: 'constructor' }));
  const inherited = procs.start('router (balancing constructor)', ROUTER_BIN, [bad], { HYDRA_REDIS_URL: redisUrl(DB), HYDRA_SERVICE: '{"servicePort":0}' });
  assert.equal(await inherited.waitExit(), 1);
  assert.match(inherited.lines.join('\n'), /cannot start: router config field balancing "constructor" is not one of round-robin, least-outstanding/);

  const noRedis = procs.start('router (no Redis)', ROUTER_BIN, [], { HYDRA_REDIS_URL: 'redis://127.0.0.1:1/0', HYDRA_SERVICE: '{"servicePort":0}' });
  assert.equal(await noRedis.waitExit(15_000), 1);
  assert.match(noRedis.lines.join('\n'), /cannot start: .*Redis at redis:\/\/127\.0\.0\.1:1\/0/);
});

test('the config file named to the bin: a FIFO, a device or an over-large file is refused unread; a syntax error shows an escaped excerpt, no raw bytes', async () => {
  const fifo = join(dir, 'fifo.json');
  execFileSync('mkfifo', [fifo]);
  const zero = join(dir, 'zero.json');
  symlinkSync('/dev/zero', zero);
  const big = join(dir, 'big.json');
  writeFileSync(big, JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }));
  const escapes = join(dir, 'escapes.json');
  writeFileSync(escapes, `{"cors": \x1b]0;owned\x07\x1b[2J${'z'.repeat(5000)}`);
  const cases: Array<[string, string]> = [
    [fifo, `${fifo}: is a FIFO (named pipe), not a regular file`],
    [zero, `${zero}: is a character device, not a regular file`],
    [big, `${big}: is ${statSync(big).size} bytes, more than the 1048576 bytes (MAX_JSON_FILE_BYTES) a JSON file may have`],
    [escapes, `${escapes}:1:10: not valid JSON (line 1, column 10): unexpected text at "\\u001b]0;owned\\u0007\\u001b[2Jzzzzzzzzz"`],
  ];
  for (const [path, message] of cases) {
    const p = procs.start(`router (${path})`, ROUTER_BIN, [path], { HYDRA_REDIS_URL: redisUrl(DB), HYDRA_SERVICE: '{"servicePort":0}' });
    assert.equal(await p.waitExit(), 1, path);
    assert.deepEqual(p.lines, [`hydra-router: cannot start: ${message}`]);
  }
});

/** The first snapshot the dashboard's event stream sends. */
async function firstSnapshot(routerBase: string): Promise<{ services: Array<{ name: string; instances: unknown[] }> }> {
  const abort = new AbortController();
  const res = await fetch(`${routerBase}/v1/router/events`, { signal: abort.signal });
  const reader = res.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before a snapshot: ${text}`);
      text += Buffer.from(value).toString();
      const frame = /^data: (.*)$/m.exec(text);
      if (frame && text.includes('\n\n', frame.index)) return JSON.parse(frame[1]!);
    }
  } finally {
    abort.abort();
  }
}

test('a Redis key of the wrong type is skipped with one warning naming it; routing, list/services, list/nodes and the dashboard keep working', async () => {
  const badRoutes = keys.routes('bogus');
  await withRedis(DB, (c) => c.set(badRoutes, 'x'));
  const fresh = await procs.router(DB);
  let badLog = '';
  try {
    assert.equal((await http(`${fresh.base}/v1/api/hello`)).status, 200, 'a router started after the bad key still has every other route');
    await fresh.proc.waitLine('the warning', (j: Record<string, unknown>) => j.key === badRoutes && /it is a string, not a set/.test(String(j.msg)));
    assert.equal((await envelopeOf(`${fresh.base}/v1/router/refresh`)).status, 200);
    await waitFor('a second reload', async () => (await envelopeOf(`${fresh.base}/v1/router/list/routes`)).status === 200);
    assert.equal(fresh.proc.lines.filter((l) => l.includes(badRoutes)).length, 1, 'one warning, not one per reload');

    const instanceId = ((await envelopeOf(`${fresh.base}/v1/router/list/services`)).body.result as Array<{ serviceName: string; instanceID: string }>).find((s) => s.serviceName === 'api-svc')!.instanceID;
    badLog = keys.healthLog('api-svc', instanceId);
    await withRedis(DB, async (c) => {
      await c.del(badLog);
      await c.set(badLog, 'x');
    });
    const services = await envelopeOf(`${fresh.base}/v1/router/list/services`);
    assert.equal(services.status, 200);
    assert.deepEqual((services.body.result as Array<{ instanceID: string; log: unknown[] }>).find((s) => s.instanceID === instanceId)!.log, []);

    await withRedis(DB, async (c) => {
      await c.del(keys.nodes());
      await c.set(keys.nodes(), 'x');
    });
    const nodes = await envelopeOf(`${fresh.base}/v1/router/list/nodes`);
    assert.equal(nodes.status, 200);
    assert.deepEqual(nodes.body.result, []);
    const snapshot = await firstSnapshot(fresh.base);
    assert.equal(snapshot.services.find((s) => s.name === 'api-svc')?.instances.length, 1, 'the dashboard shows live instances from discovery');
    await fresh.proc.waitLine('the nodes warning', (j: Record<string, unknown>) => j.key === keys.nodes() && /it is a string, not a hash/.test(String(j.msg)));
  } finally {
    // The heartbeats rewrite the nodes hash within a second of its deletion.
    await withRedis(DB, (c) => c.del([badRoutes, keys.nodes(), ...(badLog ? [badLog] : [])]));
    fresh.proc.kill();
    await fresh.proc.waitExit();
  }
});
