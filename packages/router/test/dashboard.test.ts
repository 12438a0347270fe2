/**
 * The dashboard's hosts view in a real Chromium: real service processes on
 * loopback addresses that stand for hosts (127.0.2.1-3), a host killed, a new
 * version rolled out; names planted in Redis shown as text. Real processes on
 * Redis database 15.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { keys } from '@hydra-ts/core';
import { findChromium } from '@hydra-ts/testing';
import { Processes, flushDb, withRedis, agent, http, TEST_OUTPUT, type Proc } from './helpers.js';

const DB = 15;
const procs = new Processes();
const userDataDir = mkdtempSync(join(tmpdir(), 'router-dashboard-chromium-'));
let base: string;
let browser: BrowserContext;
let page: Page;
const problems: string[] = [];

before(async () => {
  await flushDb(DB);
  const started = await procs.router(DB);
  base = started.base;
  const launch = await findChromium();
  browser = await chromium.launchPersistentContext(userDataDir, { executablePath: launch.executablePath, args: launch.args, env: launch.env, headless: true, viewport: { width: 1280, height: 800 } });
  page = await browser.newPage();
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('requestfailed', (r) => { if (!r.url().includes('/v1/router/events')) problems.push(`${r.url()} failed`); });
  await page.goto(`${started.base}/`);
});

after(async () => {
  await browser?.close();
  await procs.killAll();
  await agent.close();
  rmSync(userDataDir, { recursive: true, force: true });
});

/** The processes started on each simulated host. */
const onHost = new Map<string, Proc[]>();

/** A real service instance (the backend fixture) listening and registered at `ip`: a process on that "host". */
async function instance(ip: string, service: string, version: string): Promise<Proc> {
  const { proc } = await procs.backend(DB, service, [], { HYDRA_SERVICE: JSON.stringify({ serviceName: service, servicePort: 0, serviceIP: ip, serviceVersion: version }) });
  onHost.set(ip, [...(onHost.get(ip) ?? []), proc]);
  return proc;
}

type HostsView = Array<{ host: string; state: string; chips: string[] }>;

/** The hosts view as the page shows it: per host card, `service version state` per chip. */
const hostsView = (prefix: string): Promise<HostsView> =>
  page.evaluate((p) => [...document.querySelectorAll<HTMLElement>('section.host')]
    .filter((h) => (h.dataset.host ?? '').startsWith(p))
    .map((h) => ({
      host: h.dataset.host!,
      state: h.dataset.state!,
      chips: [...h.querySelectorAll<HTMLElement>('li.chip')].map((c) => `${c.dataset.service} ${c.dataset.version} ${c.dataset.state}`),
    })), prefix);

/** Waits (within 10 s) until the page shows `expected` for the hosts under `prefix`; fails showing what it shows. */
async function untilHosts(prefix: string, expected: HostsView): Promise<void> {
  const deadline = Date.now() + 10_000;
  let seen: HostsView = [];
  while (Date.now() < deadline) {
    seen = await hostsView(prefix);
    if (JSON.stringify(seen) === JSON.stringify(expected)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(seen, expected, 'the hosts view did not reach the expected state within 10 s');
}

test('the hosts view lists each host with its instances, and shows a killed host, a new instance and a rollout live', async () => {
  // One at a time: on a busy machine five node processes starting together can take longer than a start may.
  const oldHello1 = await instance('127.0.2.1', 'hello-service', '1.0.0');
  await instance('127.0.2.1', 'hpp-service', '1.0.0');
  await instance('127.0.2.2', 'hello-service', '1.0.0');
  await instance('127.0.2.2', 'hpp-service', '1.0.0');
  const oldHello3 = await instance('127.0.2.3', 'hello-service', '1.0.0');
  await untilHosts('127.0.2.', [
    { host: '127.0.2.1', state: 'up', chips: ['hello-service 1.0.0 alive', 'hpp-service 1.0.0 alive'] },
    { host: '127.0.2.2', state: 'up', chips: ['hello-service 1.0.0 alive', 'hpp-service 1.0.0 alive'] },
    { host: '127.0.2.3', state: 'up', chips: ['hello-service 1.0.0 alive'] },
  ]);
  // The router itself is a host with its instance, as in the article's visualizer.
  assert.equal(await page.locator('section.host[data-host="127.0.0.1"] li.chip[data-service="hydra-router"][data-state="alive"]').count(), 1);
  assert.equal(await page.locator('section.host[data-host="127.0.2.1"] .hostname').textContent(), (await page.locator('section.host[data-host="127.0.2.1"]').getAttribute('data-hostname')));

  // A host dies: SIGKILL of every process on 127.0.2.2.
  for (const p of onHost.get('127.0.2.2')!) p.kill('SIGKILL');
  await untilHosts('127.0.2.', [
    { host: '127.0.2.1', state: 'up', chips: ['hello-service 1.0.0 alive', 'hpp-service 1.0.0 alive'] },
    { host: '127.0.2.2', state: 'down', chips: ['hello-service 1.0.0 dead', 'hpp-service 1.0.0 dead'] },
    { host: '127.0.2.3', state: 'up', chips: ['hello-service 1.0.0 alive'] },
  ]);
  assert.match((await page.locator('section.host[data-host="127.0.2.2"] .count').textContent()) ?? '', /down/);

  // A rollout: the new version starts on 127.0.2.1 and 127.0.2.3, then the old ones stop gracefully.
  await instance('127.0.2.1', 'hello-service', '1.1.0');
  await instance('127.0.2.3', 'hello-service', '1.1.0');
  await untilHosts('127.0.2.', [
    { host: '127.0.2.1', state: 'up', chips: ['hello-service 1.0.0 alive', 'hello-service 1.1.0 alive', 'hpp-service 1.0.0 alive'] },
    { host: '127.0.2.2', state: 'down', chips: ['hello-service 1.0.0 dead', 'hpp-service 1.0.0 dead'] },
    { host: '127.0.2.3', state: 'up', chips: ['hello-service 1.0.0 alive', 'hello-service 1.1.0 alive'] },
  ]);
  oldHello1.kill('SIGTERM');
  oldHello3.kill('SIGTERM');
  await untilHosts('127.0.2.', [
    { host: '127.0.2.1', state: 'up', chips: ['hello-service 1.1.0 alive', 'hello-service 1.0.0 dead', 'hpp-service 1.0.0 alive'] },
    { host: '127.0.2.2', state: 'down', chips: ['hello-service 1.0.0 dead', 'hpp-service 1.0.0 dead'] },
    { host: '127.0.2.3', state: 'up', chips: ['hello-service 1.1.0 alive', 'hello-service 1.0.0 dead'] },
  ]);
  assert.match((await page.locator('#hosts-summary').textContent()) ?? '', /^3 of 4 hosts up · 4 instances live$/);

  mkdirSync(TEST_OUTPUT, { recursive: true });
  const shot = join(TEST_OUTPUT, 'dashboard-hosts.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 10_000);
  assert.deepEqual(problems, []);
});

test('names planted in Redis show as text, names like constructor or __proto__ are services like any other, and a name that is not text is skipped', async () => {
  const planted = (id: string, serviceName: unknown, hostName: unknown, ip: string) => JSON.stringify({
    serviceName, serviceDescription: '', version: '<script>window.__xss=2</script>', instanceID: id, updatedOn: new Date().toISOString(), processID: 1, ip, port: 1, hostName,
  });
  await withRedis(DB, (c) => c.hSet(keys.nodes(), {
    'planted-1': planted('planted-1', 'constructor', '<img src=x onerror="window.__xss=1">', '127.0.9.1'),
    'planted-2': planted('planted-2', '__proto__', '<img src=x onerror="window.__xss=1">', '127.0.9.1'),
    // Not text at all: no service, no host, and no reason for the page to stop updating.
    'planted-3': planted('planted-3', 42, { a: 1 }, '127.0.9.2'),
  }));
  await untilHosts('127.0.9.', [{ host: '127.0.9.1', state: 'down', chips: ['__proto__ <script>window.__xss=2</script> dead', 'constructor <script>window.__xss=2</script> dead'] }]);
  const card = page.locator('section.host[data-host="127.0.9.1"]');
  assert.equal(await card.locator('.hostname').textContent(), '<img src=x onerror="window.__xss=1">');
  assert.equal(await card.locator('img, script').count(), 0);
  // Each is a service section of its own, with zero rates (not Object.prototype's members).
  for (const name of ['constructor', '__proto__']) {
    assert.match((await page.locator(`section.service[data-service="${name}"] .rates`).textContent()) ?? '', /req\/s 0\.0 · errors\/s 0\.0 · total 0 \/ 0 err/);
  }
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
  assert.deepEqual(problems, []);
});

test('recent traces: an exported trace is listed with its route, duration and spans per service, names as text', async () => {
  const traceId = 'fe'.repeat(16);
  const now = BigInt(Date.now()) * 1_000_000n;
  const span = (spanId: string, parentSpanId: string | undefined, name: string, service: string, instance: string, ms: number) => ({
    traceId, spanId, parentSpanId, name, kind: 2, startTimeUnixNano: String(now), endTimeUnixNano: String(now + BigInt(ms) * 1_000_000n),
    attributes: [{ key: 'hydra.service', value: { stringValue: service } }, { key: 'hydra.instance.id', value: { stringValue: instance } }],
  });
  const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [
    span('0000000000000001', undefined, 'GET /v1/hpp/<b>startgame</b>', 'hydra-router', 'r1', 30),
    span('0000000000000002', '0000000000000001', 'send hpp-service', 'hpp-service', 'p1', 2),
    span('0000000000000003', '0000000000000002', 'process hpp-service', 'hpp-service', 'p2', 1),
  ] }] }] });
  const posted = await http(`${base}/v1/router/otlp/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(posted.status, 200, posted.text);
  const row = page.locator(`#traces tr[data-trace="${traceId}"]`);
  await row.waitFor({ timeout: 10_000 });
  const cells = await row.locator('td').allTextContents();
  assert.equal(cells[1], 'GET /v1/hpp/<b>startgame</b> [hydra-router]');
  assert.equal(cells[2], '30.0 ms');
  assert.equal(cells[3], '3');
  assert.equal(cells[4], 'hpp-service 2 on 2 instanceshydra-router 1');
  assert.equal(await row.locator('b').count(), 0);
  assert.deepEqual(problems, []);
});
