/**
 * One trace from the balancer to the last message: the OpenTelemetry SDK runs in
 * this process with an in-memory exporter (as an application would register
 * it), and the spans of the router, the services and their messages are read
 * back. HAProxy (the local cluster's config) and the published Hydra peer are
 * real processes; trace context crosses them only in what they pass along.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router as ExpressRouter } from 'express';
import WebSocket from 'ws';
import { request } from 'undici';
import { Hydra, channels, type UMFMessage } from '@hydra-ts/core';
import { createService, hydraOf, sendOk, type ExpressService } from '@hydra-ts/express';
import { Router } from '@hydra-ts/router';
import { haproxyConfig, haproxyInstalled } from '@hydra-ts/local-cluster';
import { freePort } from '@hydra-ts/testing';
// Its own entry: loading the SDK is for tests that trace, not for every user of @hydra-ts/testing.
import { startInMemoryTracing, attr, parentOf, type InMemoryTracing, type ReadableSpan } from '@hydra-ts/testing/dist/src/tracing.js';
import { helloRoutes } from 'hello-service/dist/src/app.js';
import { createHppService, type HppService } from 'hpp-service/dist/src/app.js';
import { HydraPeer, stopAllPeers } from './helpers/hydra-peer.js';
import { freshDatabase, closeRedis, quietLogger, waitFor, redisUrl } from './helpers/ts-service.js';

const DB = 12;
const URL = redisUrl(DB);
/** The client's own trace, as a browser or an upstream service would send it. */
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const CLIENT_TRACEPARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
/** SpanKind values of the OpenTelemetry API. */
const SERVER = 1;
const CLIENT = 2;
const PRODUCER = 3;
const CONSUMER = 4;

let tracing: InMemoryTracing;
let redis: Awaited<ReturnType<typeof freshDatabase>>;
let router: Router;
let hello: ExpressService;
let echo: Hydra;
let haproxy: ChildProcess | undefined;
let balancerPort = 0;
let dir: string;
/** Every message echo-svc received. */
const atEcho: UMFMessage[] = [];

const config = (serviceName: string, extra: Record<string, unknown> = {}) => ({ hydra: { serviceName, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL } }, ...extra });

/** hello-service's routes plus one that asks another service by message and answers with its reply. */
function helloWithAsk() {
  const ask = ExpressRouter();
  ask.get('/echo', async (req, res) => {
    const reply = await hydraOf(req).request({ to: 'echo-svc:/', type: 'ask', body: { q: 'who?' } });
    sendOk(res, { result: reply.body });
  });
  return { ...helloRoutes(), '/v1/ask': ask };
}

before(async () => {
  tracing = startInMemoryTracing();
  redis = await freshDatabase(DB);
  dir = mkdtempSync(join(tmpdir(), 'hydra-tracing-'));
  echo = await Hydra.create(config('echo-svc'), { logger: quietLogger, env: {} });
  echo.onMessage(async (m) => {
    atEcho.push(m);
    if (m.type === 'ask') await echo.sendReplyMessage(m, { body: { answer: 'echo-svc', asked: m.body.q } });
  });
  await echo.registerService();
  hello = await createService(config('hello-service'), { logger: quietLogger, env: {}, routes: helloWithAsk(), drainTimeoutMs: 1000 });
  const routerPort = await freePort();
  router = await Router.start({ hydra: { serviceIP: '127.0.0.1', servicePort: routerPort, redis: { url: URL } } } as never, { logger: quietLogger, env: {} });
  await waitFor('the router to see hello-service', () => router.hydra.discovery.instances('hello-service').length === 1);
  if (haproxyInstalled()) {
    balancerPort = await freePort();
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig('127.0.0.1', balancerPort, [{ name: 'router1', host: '127.0.0.1', port: routerPort }]));
    haproxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    await waitFor('HAProxy to pass requests to the router', async () => {
      try {
        const res = await request(`http://127.0.0.1:${balancerPort}/v1/router/health`);
        await res.body.dump();
        return res.statusCode === 200;
      } catch {
        return false;
      }
    }, 10_000, 100);
  }
});

after(async () => {
  if (haproxy && haproxy.exitCode === null) {
    const gone = new Promise((resolve) => haproxy!.once('exit', resolve));
    haproxy.kill('SIGTERM');
    await gone;
  }
  await stopAllPeers();
  await router?.close();
  await hello?.close();
  await echo?.close();
  await closeRedis(redis);
  await tracing?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
/** The spans of the client's trace once `done` holds for them (spans reach the exporter as they end). */
function clientTraceOnce(what: string, done: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
  return waitFor(what, () => {
    const t = tracing.trace(CLIENT_TRACE);
    return done(t) ? t : undefined;
  });
}
function one(spans: ReadableSpan[], name: string, service?: string): ReadableSpan {
  const found = byName(spans, name).filter((s) => service === undefined || attr(s, 'hydra.service') === service);
  assert.equal(found.length, 1, `one span "${name}"${service ? ` of ${service}` : ''}; spans: ${spans.map((s) => `${s.name}@${attr(s, 'hydra.service')}`).join(', ')}`);
  return found[0]!;
}
/** Whether `child` descends from `ancestor` in `spans`. */
function descends(spans: ReadableSpan[], child: ReadableSpan, ancestor: ReadableSpan): boolean {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  for (let s: ReadableSpan | undefined = child; s; s = byId.get(parentOf(s))) if (s === ancestor) return true;
  return false;
}

test('one trace spans balancer → router → hello-service → a message to another service → its reply', async () => {
  assert.ok(haproxyInstalled(), 'HAProxy is not installed (apt-get install haproxy: a prerequisite in the README)');
  tracing.reset();
  const res = await request(`http://127.0.0.1:${balancerPort}/v1/ask/echo`, { headers: { traceparent: CLIENT_TRACEPARENT } });
  const answer = (await res.body.json()) as { result: { answer: string } };
  assert.equal(res.statusCode, 200);
  assert.equal(answer.result.answer, 'echo-svc');

  // The reply's processing at hello-service ends before the router's span, which ends last.
  const spans = await clientTraceOnce('the router span to end', (t) => t.some((s) => s.name === 'GET /v1/ask/echo' && attr(s, 'hydra.service') === 'hydra-router'));
  const routerServer = one(spans, 'GET /v1/ask/echo', 'hydra-router');
  assert.equal(routerServer.kind, SERVER);
  assert.equal(parentOf(routerServer), CLIENT_SPAN, "the router continues the client's trace (through HAProxy)");
  assert.equal(attr(routerServer, 'http.route'), '/v1/ask/echo');
  assert.equal(routerServer.attributes['http.response.status_code'], 200);
  const routerClient = one(spans, 'GET', 'hydra-router');
  assert.equal(routerClient.kind, CLIENT);
  assert.equal(parentOf(routerClient), routerServer.spanContext().spanId);
  const helloServer = one(spans, 'GET /v1/ask/echo', 'hello-service');
  assert.equal(helloServer.kind, SERVER);
  assert.equal(parentOf(helloServer), routerClient.spanContext().spanId, "hello-service's span is a child of the router's call");
  const send = one(spans, 'send echo-svc', 'hello-service');
  assert.equal(send.kind, PRODUCER);
  assert.equal(parentOf(send), helloServer.spanContext().spanId);
  assert.equal(attr(send, 'messaging.system'), 'hydra');
  const processed = one(spans, 'process echo-svc', 'echo-svc');
  assert.equal(processed.kind, CONSUMER);
  assert.equal(parentOf(processed), send.spanContext().spanId);
  const reply = one(spans, 'send hello-service', 'echo-svc');
  assert.equal(parentOf(reply), processed.spanContext().spanId, 'the reply is sent while the message is processed');
  const replyArrives = one(spans, 'process hello-service', 'hello-service');
  assert.equal(parentOf(replyArrives), reply.spanContext().spanId, 'the reply arrives in the same trace');
  assert.ok(routerServer.endTime[0] * 1e9 + routerServer.endTime[1] >= replyArrives.endTime[0] * 1e9 + replyArrives.endTime[1], 'the reply came back before the router answered');
});

test("what the router API passes on (POST /v1/router/send, /v1/router/message) continues the caller's trace under the router's server span", async () => {
  tracing.reset();
  const sent = await request(`http://127.0.0.1:${router.port}/v1/router/send`, { method: 'POST', headers: { traceparent: CLIENT_TRACEPARENT, 'content-type': 'application/json' }, body: JSON.stringify({ to: 'echo-svc:/', frm: 'client:/', typ: 'posted', bdy: { via: 'api' } }) });
  assert.equal(sent.statusCode, 200, await sent.body.text());
  const spans = await clientTraceOnce('echo-svc to process the posted message', (t) => t.some((s) => s.name === 'process echo-svc' && attr(s, 'hydra.message.type') === 'posted'));
  const server = one(spans, 'POST /v1/router/send', 'hydra-router');
  assert.equal(server.kind, SERVER);
  assert.equal(parentOf(server), CLIENT_SPAN, "the router's span continues the client's traceparent");
  assert.equal(server.attributes['http.response.status_code'], 200);
  const processed = spans.find((s) => s.name === 'process echo-svc' && attr(s, 'hydra.message.type') === 'posted')!;
  assert.ok(descends(spans, processed, server), 'the message is processed under the router API call');

  tracing.reset();
  const forwarded = await request(`http://127.0.0.1:${router.port}/v1/router/message`, { method: 'POST', headers: { traceparent: CLIENT_TRACEPARENT, 'content-type': 'application/json' }, body: JSON.stringify({ to: 'hello-service:/', frm: 'client:/', fwd: 'hello-service:[get]/v1/hello/test', bdy: {} }) });
  assert.equal(forwarded.statusCode, 200, await forwarded.body.text());
  const called = await clientTraceOnce('the router API span of the forward', (t) => t.some((s) => s.name === 'POST /v1/router/message') && t.some((s) => s.kind === SERVER && attr(s, 'hydra.service') === 'hello-service'));
  const api = one(called, 'POST /v1/router/message', 'hydra-router');
  const atHello = called.find((s) => s.kind === SERVER && attr(s, 'hydra.service') === 'hello-service')!;
  assert.ok(descends(called, atHello, api), "hello-service's server span descends from the router API call");
});

test('a hot-potato game is one trace with a span per pass', async () => {
  const players: HppService[] = [];
  try {
    const hpp = { countdownSeconds: 0, gameSeconds: 2, passDelayMinMs: 50, passDelayMaxMs: 150, graceMs: 1000 };
    for (let i = 0; i < 5; i++) players.push(await createHppService(config('hpp-service', { hpp }), quietLogger));
    await waitFor('every player to see the four others', async () => (await Promise.all(players.map((p) => p.service.hydra.getServicePresence('hpp-service')))).every((list) => list.length === 5));
    tracing.reset();
    const res = await request(`http://127.0.0.1:${router.port}/v1/hpp/startgame`, { headers: { traceparent: CLIENT_TRACEPARENT } });
    const game = (await res.body.json()) as { result: { gameLog: string[]; outcome: string } };
    assert.equal(res.statusCode, 200, JSON.stringify(game));
    const spans = await clientTraceOnce('the router span of the game', (t) => t.some((s) => s.name === 'GET /v1/hpp/startgame' && attr(s, 'hydra.service') === 'hydra-router'));
    const passes = game.result.gameLog.filter((line) => line.endsWith('received hot potato.')).length;
    assert.ok(passes >= 2, `the potato was passed (game log: ${game.result.gameLog.join(' | ')})`);
    const potatoes = spans.filter((s) => s.name === 'process hpp-service' && attr(s, 'hydra.message.type') === 'hotpotato' && spans.some((p) => p.spanContext().spanId === parentOf(s) && p.name === 'send hpp-service'));
    const who = new Set(spans.filter((s) => attr(s, 'hydra.service') === 'hpp-service').map((s) => attr(s, 'hydra.instance.id')));
    assert.ok(who.size >= 2, `spans of several players are in the one trace: ${who.size}`);
    // Every potato a player received was processed in the trace the HTTP request started.
    const received = spans.filter((s) => s.kind === CONSUMER && attr(s, 'hydra.service') === 'hpp-service');
    assert.ok(received.length >= passes, `a span for each of the ${passes} passes (and the announcements): ${received.length}`);
    assert.ok(potatoes.length >= passes, `a process span per pass: ${potatoes.length} for ${passes} passes`);
    const starter = one(spans, 'GET /v1/hpp/startgame', 'hpp-service');
    for (const s of potatoes) assert.ok(descends(spans, s, starter), 'each pass descends from the request that started the game');
  } finally {
    for (const p of players) await p.close();
  }
});

test('a WebSocket message is traced from the client through the router to the service and back', async () => {
  tracing.reset();
  const ws = new WebSocket(`ws://127.0.0.1:${router.port}/`);
  try {
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await waitFor('the connection message', () => frames.some((f) => f.typ === 'connection'));
    ws.send(JSON.stringify({ to: 'echo-svc:/', frm: 'client:/', typ: 'ask', hdr: { traceparent: CLIENT_TRACEPARENT }, bdy: { q: 'ws?' } }));
    const reply = await waitFor('the reply on the socket', () => frames.find((f) => (f.bdy as { answer?: string } | undefined)?.answer === 'echo-svc'));
    assert.equal((reply.bdy as { asked: string }).asked, 'ws?');
    const spans = await clientTraceOnce('the router to process the reply', (t) => t.filter((s) => s.name === 'process hydra-router').length >= 2);
    const frame = spans.find((s) => s.name === 'process hydra-router' && parentOf(s) === CLIENT_SPAN);
    assert.ok(frame, "the router's span of the frame continues the client's hdr.traceparent");
    assert.equal(attr(frame, 'network.protocol.name'), 'websocket');
    const relay = one(spans, 'send echo-svc', 'hydra-router');
    assert.equal(parentOf(relay), frame.spanContext().spanId);
    const processed = one(spans, 'process echo-svc', 'echo-svc');
    assert.equal(parentOf(processed), relay.spanContext().spanId, 'the service processes the relayed message in the client’s trace');
  } finally {
    ws.close();
  }
});

test('a Hydra peer in the middle passes the context on: its reply (sent through `via`) arrives in the same trace', async () => {
  const peer = HydraPeer.start('hydra-middle');
  const { instanceID } = await peer.call<{ instanceID: string }>('init', { config: config('hydra-middle'), register: true });
  await peer.call('autoReply', { enabled: true });
  await waitFor('hydra-ts to see the Hydra peer', async () => (await hello.hydra.getServicePresence('hydra-middle')).length === 1);
  // Hydra's registerService resolves before its SUBSCRIBE is done: a message sent at once could be lost.
  await waitFor('the Hydra peer to listen on its channel', async () => {
    const answer = (await redis.sendCommand(['PUBSUB', 'NUMSUB', channels.instance('hydra-middle', instanceID)])) as [string, number];
    return Number(answer[1]) > 0;
  });
  tracing.reset();
  // hello-service sends; the peer replies to `via`, echo-svc: the peer sits between two hydra-ts services.
  const sent = await hello.hydra.sendMessage({ to: 'hydra-middle:/', via: `${echo.instanceId}@echo-svc:/`, body: { cmd: 'echo' } });
  const reply = await waitFor(() => `the reply at echo-svc (the peer received: ${JSON.stringify(peer.messages.slice(-3))})`, () => atEcho.find((m) => m.rmid === sent.mid));
  const spans = await waitFor('echo-svc to process the reply', () => tracing.spans().find((s) => s.name === 'process echo-svc' && attr(s, 'messaging.message.conversation_id') === sent.mid) && tracing.spans());
  const send = spans.find((s) => s.name === 'send hydra-middle' && attr(s, 'messaging.message.id') === sent.mid)!;
  const processed = spans.find((s) => s.name === 'process echo-svc' && attr(s, 'messaging.message.conversation_id') === sent.mid)!;
  assert.equal(processed.spanContext().traceId, send.spanContext().traceId, "the peer's reply carried the trace on");
  assert.equal(parentOf(processed), send.spanContext().spanId, 'Hydra copied hdr untouched: the parent is the send before the peer');
  assert.deepEqual(reply.headers?.traceparent, `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`);
});

test('a reply sent after its handler returned (nothing current) continues the trace of the message it answers', async () => {
  tracing.reset();
  const asking = hello.hydra.tracer.start('ask later', 'internal')!;
  const sent = await asking.run(() => hello.hydra.sendMessage({ to: 'echo-svc:/', type: 'later', body: {} }));
  asking.end();
  const original = await waitFor('the message at echo-svc', () => atEcho.find((m) => m.mid === sent.mid));
  // This test's body: no span is current here, as in a timer or a queue of the app's own.
  await echo.sendReplyMessage(original, { body: { answer: 'later' } });
  const spans = await waitFor('the reply to be processed at hello-service', () => tracing.spans().find((s) => s.name === 'process hello-service' && attr(s, 'messaging.message.conversation_id') === sent.mid) && tracing.spans());
  const send = spans.find((s) => s.name === 'send echo-svc' && attr(s, 'messaging.message.id') === sent.mid)!;
  const replied = spans.find((s) => s.name === 'send hello-service' && attr(s, 'messaging.message.conversation_id') === sent.mid)!;
  assert.equal(replied.spanContext().traceId, send.spanContext().traceId, 'the reply is in the trace of the message it answers');
  assert.equal(parentOf(replied), send.spanContext().spanId, "its parent is the original's send");
});

test('a message from a Hydra peer (no context) starts a new root', async () => {
  const peer = HydraPeer.start('hydra-sender');
  await peer.call('init', { config: config('hydra-sender'), register: true });
  await waitFor('the Hydra peer to see echo-svc', async () => ((await peer.call<unknown[]>('presence', { svc: 'echo-svc' })).length === 1));
  tracing.reset();
  await peer.call('send', { message: { to: 'echo-svc:/', from: 'hydra-sender:/', body: { from: 'hydra' } } });
  const m = await waitFor('the message at echo-svc', () => atEcho.find((x) => x.body.from === 'hydra'));
  assert.equal(m.headers, undefined, 'Hydra sent no headers');
  const span = await waitFor('the process span', () => tracing.spans().find((s) => s.name === 'process echo-svc' && attr(s, 'messaging.message.id') === m.mid));
  assert.equal(parentOf(span), '', 'a root span');
  assert.notEqual(span.spanContext().traceId, CLIENT_TRACE);
});
