/**
 * What an outsider can do to the router, and what it refuses: hop-by-hop headers,
 * duplicate Host, the router token on WebSocket upgrades, direct addressing limited to
 * registered routes, client identities that cannot be taken over, bounded memory
 * under client-chosen names and large frames, and upstreams that point back at the
 * router or at Redis. Real processes on Redis database 13.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Processes, flushDb, http, waitFor, agent } from './helpers.js';

const DB = 13;
const TOKEN = 'the-router-token-0123456789';
const procs = new Processes();
const dir = mkdtempSync(join(tmpdir(), 'router-security-'));
let open = { base: '', port: 0, instanceId: '' };
let guarded = { base: '', port: 0, instanceId: '' };
const sockets = new Set<WebSocket>();

function config(name: string, doc: Record<string, unknown>): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

before(async () => {
  await flushDb(DB);
  [open, guarded] = await Promise.all([
    procs.router(DB, { config: config('open', {}) }),
    procs.router(DB, { config: config('guarded', { routerToken: TOKEN, directAddressing: false }) }),
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
 * Opens a WebSocket; resolves with the greeting and the socket, or with the HTTP status
 * when the upgrade was refused.
 */
function wsOpen(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ws?: WebSocket; hello?: Frame; body?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    sockets.add(ws);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('message', (data) => resolve({ status: 101, ws, hello: JSON.parse(data.toString()) as Frame }));
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
