/**
 * GET /metrics of a service: RED metrics by route pattern (never the raw path),
 * messages by outcome and type, queue depth and event-loop lag, read back in
 * Prometheus's text format from a real instance on a real Redis.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from 'express';
import { pino } from 'pino';
import { Hydra, MAX_MESSAGE_TYPES } from '@hydra-ts/core';
import { freshDb, redisUrl, waitFor } from '@hydra-ts/testing';
import { createService, sendOk, type ExpressService } from '../src/index.js';

const DB = 5;
const REDIS_URL = redisUrl(DB);
const quiet = pino({ level: 'silent' });
let svc: ExpressService;
let peer: Hydra;

before(async () => {
  await (await freshDb(DB)).close();
  const r = Router();
  r.get('/:id', (req, res) => sendOk(res, { result: { id: req.params.id } }));
  r.get('/fail/now', () => {
    throw new Error('handler exploded');
  });
  svc = await createService({ hydra: { serviceName: 'metered-svc', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: REDIS_URL } } }, { routes: { '/v1/items': r }, logger: quiet, env: {} });
  svc.hydra.onMessage((m) => {
    if (m.type === 'boom') throw new Error('handler refused it');
  });
  peer = await Hydra.create({ hydra: { serviceName: 'metered-peer', redis: { url: REDIS_URL } } }, { logger: quiet, env: {} });
  await peer.registerService();
  await waitFor('the peer to see the service', async () => (await peer.getServicePresence('metered-svc')).length === 1);
});

after(async () => {
  await peer?.close();
  await svc?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${svc.port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

/** The value of the sample `name{labels}` (labels in prom-client's order), or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('requests, errors and durations are counted by route pattern, so many paths make one series', async () => {
  for (const id of ['1', '2', 'abc', 'x'.repeat(40)]) assert.equal((await fetch(`http://127.0.0.1:${svc.port}/v1/items/${id}`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${svc.port}/v1/items/fail/now`)).status, 500);
  assert.equal((await fetch(`http://127.0.0.1:${svc.port}/nowhere/${Date.now()}`)).status, 404);
  const text = await scrape();
  assert.equal(sample(text, 'hydra_http_requests_total', 'method="GET",route="/v1/items/:id",status="200"'), 4);
  assert.equal(sample(text, 'hydra_http_requests_total', 'method="GET",route="/v1/items/fail/now",status="500"'), 1);
  assert.equal(sample(text, 'hydra_http_request_errors_total', 'method="GET",route="/v1/items/fail/now"'), 1);
  assert.equal(sample(text, 'hydra_http_requests_total', 'method="GET",route="(unmatched)",status="404"'), 1);
  assert.equal(sample(text, 'hydra_http_request_duration_seconds_count', 'method="GET",route="/v1/items/:id"'), 4);
  assert.ok(!text.includes('/v1/items/abc') && !text.includes('nowhere'), 'no raw path becomes a label');
  assert.ok(/^nodejs_eventloop_lag_seconds \d/m.test(text), 'event-loop lag is there');
});

test('messages are counted by outcome and type; types past the bound are counted as "other"', async () => {
  await peer.sendMessage({ to: 'metered-svc:/', type: 'greeting', body: {} });
  await peer.sendMessage({ to: 'metered-svc:/', type: 'greeting', body: {} });
  await peer.sendMessage({ to: 'metered-svc:/', type: 'boom', body: {} });
  await svc.hydra.sendMessage({ to: 'metered-peer:/', type: 'note', body: {} });
  await assert.rejects(svc.hydra.sendMessage({ to: 'nobody-svc:/', type: 'lost', body: {} }), /Unavailable nobody-svc/);
  await waitFor('the three messages to arrive', async () => sample(await scrape(), 'hydra_messages_total', 'outcome="received",type="boom"') === 1);
  let text = await scrape();
  assert.equal(sample(text, 'hydra_messages_total', 'outcome="received",type="greeting"'), 2);
  assert.equal(sample(text, 'hydra_messages_total', 'outcome="failed",type="boom"'), 1, 'a handler that threw counts as failed');
  assert.equal(sample(text, 'hydra_messages_total', 'outcome="sent",type="note"'), 1);
  assert.equal(sample(text, 'hydra_messages_total', 'outcome="failed",type="lost"'), 1, 'a message that found no instance counts as failed');

  for (let i = 0; i < MAX_MESSAGE_TYPES + 10; i++) await peer.sendMessage({ to: 'metered-svc:/', type: `type-${i}`, body: {} });
  await waitFor('the typed messages to arrive', async () => (await scrape()).includes('type="other"'));
  text = await scrape();
  const types = new Set([...text.matchAll(/^hydra_messages_total\{outcome="[a-z]+",type="([^"]+)"\}/gm)].map((m) => m[1]));
  assert.ok(types.size <= MAX_MESSAGE_TYPES + 1, `at most ${MAX_MESSAGE_TYPES} types and "other": ${types.size}`);
});

test('queue depth: waiting, in progress and failed messages of the service', async () => {
  await peer.queueMessage({ to: 'metered-svc:/', body: { n: 1 } });
  await peer.queueMessage({ to: 'metered-svc:/', body: { n: 2 } });
  await peer.queueMessage({ to: 'metered-svc:/', body: { n: 3 } });
  const taken = await svc.hydra.getQueuedMessage();
  assert.ok(taken);
  const failed = await svc.hydra.getQueuedMessage();
  await svc.hydra.markQueueMessage(failed!, false, 'no good');
  const text = await scrape();
  assert.equal(sample(text, 'hydra_queue_depth', 'list="waiting"'), 1);
  assert.equal(sample(text, 'hydra_queue_depth', 'list="in-progress"'), 1);
  assert.equal(sample(text, 'hydra_queue_depth', 'list="failed"'), 1);
});
