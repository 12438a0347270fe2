/**
 * Tracing off: no OpenTelemetry SDK in this process, and in a child process not
 * even @opentelemetry/api (an optional peer). A traceparent that arrives with a
 * message or an HTTP request is carried on, unchanged, by what the handler sends,
 * and the handler's log lines name the trace; a message without one stays without.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Router } from 'express';
import { pino } from 'pino';
import { Hydra, tracingOn, type UMFMessage } from '@hydra-ts/core';
import { createService, hydraOf, sendOk } from '@hydra-ts/express';
import { Router as HydraRouter } from '@hydra-ts/router';
import { freePort, startProcess, stopAllProcesses, waitFor } from '@hydra-ts/testing';
import { INCOMING, passThrough, type PassThroughResult } from './helpers/pass-through.js';
import { freshDatabase, closeRedis, redisUrl } from './helpers/ts-service.js';

const DB = 12;
let redis: Awaited<ReturnType<typeof freshDatabase>>;

before(async () => {
  redis = await freshDatabase(DB);
});
after(async () => {
  await stopAllProcesses();
  await closeRedis(redis);
});

function assertCarriedOn(r: PassThroughResult): void {
  assert.equal(r.messageFromMessage, INCOMING, 'a message sent while handling a traced message carries its traceparent');
  assert.equal(r.httpFromMessage, INCOMING, 'so does an HTTP call (makeAPIRequest)');
  assert.equal(r.untracedHeaders, undefined, 'a message handled without context sends none');
  assert.equal(r.logLine?.trace_id, INCOMING.split('-')[1], 'the log line names the trace');
  assert.equal(r.logLine?.span_id, INCOMING.split('-')[2], "and the caller's span");
}

test('with @opentelemetry/api but no SDK, an arrived traceparent is carried on', async () => {
  assert.equal(tracingOn(), false, 'no SDK is registered in this process');
  assertCarriedOn(await passThrough(redisUrl(DB)));
});

test('with no SDK, a traceparent that came with a POST is carried on by the message its handler sends (after the body was parsed)', async () => {
  const config = (serviceName: string) => ({ hydra: { serviceName, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(DB) } } });
  const quiet = pino({ level: 'silent' });
  const routes = Router();
  routes.post('/relay', async (req, res) => {
    await hydraOf(req).sendMessage({ to: 'pt-http-sink:/', body: req.body as Record<string, unknown> });
    sendOk(res, { result: {} });
  });
  const sink = await Hydra.create(config('pt-http-sink'), { logger: quiet, env: {} });
  const relay = await createService(config('pt-http-relay'), { logger: quiet, env: {}, routes: { '/v1': routes }, drainTimeoutMs: 500 });
  try {
    const got: UMFMessage[] = [];
    sink.onMessage((m) => void got.push(m));
    await sink.registerService();
    await waitFor('the relay to see the sink', async () => (await relay.hydra.getServicePresence('pt-http-sink')).length === 1);
    const res = await fetch(`http://127.0.0.1:${relay.port}/v1/relay`, { method: 'POST', headers: { traceparent: INCOMING, 'content-type': 'application/json' }, body: '{"n":1}' });
    assert.equal(res.status, 200);
    const m = await waitFor('the message at the sink', () => got[0]);
    assert.deepEqual(m.body, { n: 1 });
    assert.equal(m.headers?.traceparent, INCOMING);
  } finally {
    await relay.close();
    await sink.close();
  }
});

test('with no SDK, a traceparent posted to the router API (POST /v1/router/send) is carried by the message it sends', async () => {
  const quiet = pino({ level: 'silent' });
  const sink = await Hydra.create({ hydra: { serviceName: 'pt-api-sink', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(DB) } } }, { logger: quiet, env: {} });
  const router = await HydraRouter.start({ hydra: { serviceIP: '127.0.0.1', servicePort: await freePort(), redis: { url: redisUrl(DB) } } } as never, { logger: quiet, env: {} });
  try {
    const got: UMFMessage[] = [];
    sink.onMessage((m) => void got.push(m));
    await sink.registerService();
    await waitFor('the router to see the sink', () => router.hydra.discovery.instances('pt-api-sink').length === 1);
    const post = (traceparent?: string) => fetch(`http://127.0.0.1:${router.port}/v1/router/send`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(traceparent ? { traceparent } : {}) },
      body: JSON.stringify({ to: 'pt-api-sink:/', frm: 'client:/', bdy: { traced: Boolean(traceparent) } }),
    });
    assert.equal((await post(INCOMING)).status, 200);
    assert.equal((await post()).status, 200);
    await waitFor('both messages at the sink', () => got.length === 2);
    assert.equal(got.find((m) => m.body.traced === true)!.headers?.traceparent, INCOMING);
    assert.equal(got.find((m) => m.body.traced === false)!.headers, undefined, 'a post without one sends none');
  } finally {
    await router.close();
    await sink.close();
  }
});

test('without @opentelemetry/api installed, everything works and the traceparent is carried on', async () => {
  const child = startProcess([join(__dirname, 'helpers', 'pass-through-child.js'), redisUrl(DB)]);
  const line = await waitFor(() => `the child's result (output: ${child.output()})`, () => child.lines.find((l) => l.startsWith('{')), 20_000);
  const result = JSON.parse(line) as PassThroughResult & { apiLoadable: boolean };
  assert.equal(result.apiLoadable, false, 'the child could not load the API');
  assertCarriedOn(result);
});
