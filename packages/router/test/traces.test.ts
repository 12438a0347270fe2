/**
 * The routers' trace receiver and the dashboard's recent traces: a router bin and
 * hello-service export their spans (their own OpenTelemetry SDKs, OTLP/JSON) to one
 * router, and every router lists the trace; bad exports are refused by name; the store
 * stays bounded; junk on the spans channel is skipped. Real processes on Redis database 7.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SPANS_CHANNEL, MAX_TRACES, MAX_SPANS_PER_TRACE, type SpanRecord, type TraceSummary } from '../src/index.js';
import { Processes, flushDb, withRedis, agent, http, redisUrl, waitFor } from './helpers.js';

const DB = 7;
const procs = new Processes();
const HELLO_BIN = join(__dirname, '..', '..', '..', '..', 'examples', 'hello-service', 'bin', 'hello-service.js');
let receiver: string;
let exporter: string;

/** OpenTelemetry's environment for a process exporting to `router` (as the local cluster sets it). */
const otlpEnv = (router: string) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: `${router}/v1/router/otlp`,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '100',
});

before(async () => {
  await flushDb(DB);
  receiver = (await procs.router(DB)).base;
  // This router traces, and exports to the other one: what it shows, it got through Redis.
  exporter = (await procs.router(DB, { env: otlpEnv(receiver) })).base;
  const hello = procs.start('hello-service', HELLO_BIN, [], {
    HYDRA_REDIS_URL: redisUrl(DB),
    HYDRA_SERVICE: JSON.stringify({ serviceIP: '127.0.0.1', servicePort: 0 }),
    ...otlpEnv(receiver),
  });
  await hello.waitLine('hello-service ready', (j: { msg?: string }) => /listening/.test(j.msg ?? ''));
  await waitFor('the tracing router to route hello-service', async () => (await http(`${exporter}/v1/hello/test`)).status === 200, 15_000);
});

after(async () => {
  await procs.killAll();
  await agent.close();
});

const traces = async (router: string) => (await http(`${router}/v1/router/traces`)).json<{ result: TraceSummary[] }>().result;

/** A hand-written OTLP/JSON export of `spans` (traceId, spanId, parent, name per span). */
function otlpExport(spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; service?: string }>): string {
  const start = BigInt(Date.now()) * 1_000_000n;
  return JSON.stringify({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hand-made' } }] },
      scopeSpans: [{
        scope: { name: 'test' },
        spans: spans.map((s) => ({
          ...s,
          kind: 1,
          startTimeUnixNano: String(start),
          endTimeUnixNano: String(start + 2_000_000n),
          attributes: s.service ? [{ key: 'hydra.service', value: { stringValue: s.service } }] : [],
          status: {},
        })),
      }],
    }],
  });
}
const post = (body: string | Buffer, type = 'application/json') => http(`${receiver}/v1/router/otlp/v1/traces`, { method: 'POST', headers: { 'content-type': type }, body });
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

test('spans exported by a router and a service show up on every router as one trace: route, duration, spans per service', async () => {
  const traceparent = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
  const res = await http(`${exporter}/v1/hello/test`, { headers: { traceparent } });
  assert.equal(res.status, 200);
  for (const router of [receiver, exporter]) {
    // Each process exports on its own schedule: wait for both, the router's (which ends last) too.
    const trace = await waitFor(`${router} to list the request's trace with the spans of hello-service and the router`, async () => {
      const t = (await traces(router)).find((x) => x.traceId === 'ab'.repeat(16));
      return t?.services.some((s) => s.service === 'hello-service') && t.services.some((s) => s.service === 'hydra-router') ? t : undefined;
    }, 15_000);
    assert.equal(trace.route, 'GET /v1/hello/test', 'the root is the router server span (the client\'s own parent was seen by no router)');
    assert.equal(trace.rootService, 'hydra-router');
    assert.ok(trace.durationMs > 0);
    assert.deepEqual(trace.services.map((s) => s.service).sort(), ['hello-service', 'hydra-router']);
    assert.equal(trace.errors, 0);
  }
  const one = await http(`${receiver}/v1/router/traces/${'AB'.repeat(16)}`);
  assert.equal(one.status, 200);
  const spans = one.json<{ result: { spans: SpanRecord[] } }>().result.spans;
  assert.ok(spans.some((s) => s.service === 'hello-service' && s.name === 'GET /v1/hello/test'), spans.map((s) => `${s.name}@${s.service}`).join(', '));
  const missing = await http(`${receiver}/v1/router/traces/${'0'.repeat(32)}`);
  assert.equal(missing.status, 404);
  assert.match(missing.text, /no trace 0{32} is kept here/);
});

test('bad exports are refused naming the problem, and the router keeps serving', async () => {
  const cases: Array<[string, Promise<Awaited<ReturnType<typeof post>>>, number, RegExp]> = [
    ['not JSON', post('{"resourceSpans": ['), 400, /not JSON/],
    ['empty', post(''), 400, /empty; send an OTLP ExportTraceServiceRequest/],
    ['wrong shape', post('{"resourceSpans": 5}'), 400, /resourceSpans is not an array/],
    ['a bad trace id', post(otlpExport([{ traceId: 'xyz', spanId: hex(1, 16), name: 'n' }])), 400, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId is not 32 hex characters/],
    ['protobuf', post(Buffer.from([0x0a, 0x00]), 'application/x-protobuf'), 415, /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http\/json/],
    ['over the body limit', post(Buffer.alloc(11 * 1024 * 1024, 0x20)), 413, /larger than the router's limit/],
  ];
  for (const [what, answer, status, reason] of cases) {
    const res = await answer;
    assert.equal(res.status, status, `${what}: ${res.text}`);
    assert.match(res.text, reason, what);
  }
  assert.equal((await http(`${receiver}/v1/router/health`)).status, 200);
});

test(`the store keeps the last ${MAX_TRACES} traces and ${MAX_SPANS_PER_TRACE} spans of each; the rest is counted, not kept`, async () => {
  const base = 0x5000;
  for (let n = 0; n < MAX_TRACES + 10; n++) {
    const res = await post(otlpExport([{ traceId: hex(base + n, 32), spanId: hex(1, 16), name: `GET /many/${n}` }]));
    assert.equal(res.status, 200, res.text);
  }
  const big = hex(0xb16, 32);
  const spans = Array.from({ length: MAX_SPANS_PER_TRACE + 100 }, (_, n) => ({ traceId: big, spanId: hex(n + 1, 16), parentSpanId: n ? hex(1, 16) : undefined, name: n ? 'child' : 'GET /big', service: `svc-${n % 3}` }));
  assert.equal((await post(otlpExport(spans))).status, 200);
  // The same batch again (an exporter retrying): no span counts twice.
  assert.equal((await post(otlpExport(spans.slice(0, 10)))).status, 200);
  for (const router of [receiver, exporter]) {
    const listed = await waitFor(`${router} to hold the big trace`, async () => {
      const all = await traces(router);
      return all[0]?.traceId === big ? all : undefined;
    });
    assert.equal(listed.length, MAX_TRACES);
    assert.equal(listed[0]!.spans, MAX_SPANS_PER_TRACE + 100);
    assert.equal(listed[0]!.droppedSpans, 100);
    assert.equal(listed[0]!.route, 'GET /big');
    assert.ok(!listed.some((t) => t.traceId === hex(base, 32)), 'the oldest went');
  }
});

test('junk on the spans channel is skipped; the routers go on', async () => {
  await withRedis(DB, async (c) => {
    await c.publish(SPANS_CHANNEL, 'not json');
    await c.publish(SPANS_CHANNEL, JSON.stringify({ spans: 'x' }));
    await c.publish(SPANS_CHANNEL, JSON.stringify({ spans: [{ traceId: 'zz', spanId: 'y' }] }));
  });
  const after = hex(0xaf7e5, 32);
  assert.equal((await post(otlpExport([{ traceId: after, spanId: hex(1, 16), name: 'after junk' }]))).status, 200);
  for (const router of [receiver, exporter]) {
    await waitFor(`${router} to list the trace sent after the junk`, async () => (await traces(router)).some((t) => t.traceId === after));
  }
  assert.ok(!(await traces(receiver)).some((t) => t.traceId === 'zz'));
});
