/**
 * The bins export OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set: the
 * router and hello-service run as users run them, sending to a receiver in this
 * test that decodes the protobuf requests with OpenTelemetry's own generated
 * protobuf classes (@opentelemetry/otlp-transformer 0.57, the last to ship them).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { startProcess, stopProcess, stopAllProcesses, freePort, waitFor, type Started } from '@hydra-ts/testing';
import { freshDatabase, closeRedis, redisUrl } from './helpers/ts-service.js';
import { ROOT } from './helpers/processes.js';

const DB = 12;
const CLIENT_TRACE = '5bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${CLIENT_TRACE}-10f067aa0ba902b7-01`;

interface ProtoRoot {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: { decode(bytes: Uint8Array): unknown; toObject(m: unknown, o: object): ExportRequest } } } } } };
}
interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans?: Array<{ scope?: { name: string }; spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number }> }>;
  }>;
}
/** One decoded span with the service.name of the process that sent it. */
interface Received {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
}

const proto = require('otlp-transformer-0.57/build/src/generated/root.js') as ProtoRoot;
const ExportTraceServiceRequest = proto.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const hex = (b64: string | undefined) => (b64 ? Buffer.from(b64, 'base64').toString('hex') : '');

let redis: Awaited<ReturnType<typeof freshDatabase>>;
let receiver: Server;
let endpoint: string;
const received: Received[] = [];
const requests: Array<{ path: string; contentType: string }> = [];

before(async () => {
  redis = await freshDatabase(DB);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: String(req.headers['content-type']) });
      const decoded = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(Buffer.concat(chunks)), { bytes: String, longs: String, enums: Number });
      for (const rs of decoded.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) received.push({ service, scope: ss.scope?.name ?? '', traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId), name: s.name, kind: s.kind });
        }
      }
      // An empty ExportTraceServiceResponse: everything accepted.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const addr = receiver.address();
  endpoint = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

after(async () => {
  await stopAllProcesses();
  receiver?.close();
  await closeRedis(redis);
});

function startBin(bin: string, env: Record<string, string>): Started {
  return startProcess([join(ROOT, bin)], {
    HYDRA_REDIS_URL: redisUrl(DB),
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    // Export within 100 ms instead of 5 s (the batch processor's environment setting).
    OTEL_BSP_SCHEDULE_DELAY: '100',
    HYDRA_LOG_LEVEL: 'info',
    ...env,
  });
}

test('router and hello-service send their spans of one request by OTLP/HTTP, decoded with OpenTelemetry’s protobuf classes', async () => {
  const routerPort = await freePort();
  const router = startBin('packages/router/bin/hydra-router.js', { HYDRA_SERVICE: JSON.stringify({ serviceIP: '127.0.0.1', servicePort: routerPort }) });
  const hello = startBin('examples/hello-service/bin/hello-service.js', { HYDRA_SERVICE: '{"serviceIP":"127.0.0.1","servicePort":0}' });
  await waitFor(() => `both bins to start (router: ${router.output()} hello: ${hello.output()})`, () => router.lines.some((l) => l.includes('hydra-router ready')) && hello.lines.some((l) => l.includes('hello-service listening')), 20_000);
  await waitFor('the router to route to hello-service', async () => (await fetch(`http://127.0.0.1:${routerPort}/v1/hello/test`)).status === 200, 10_000, 100);
  const res = await fetch(`http://127.0.0.1:${routerPort}/v1/hello/test`, { headers: { traceparent: TRACEPARENT } });
  assert.equal(res.status, 200);

  const spans = await waitFor('the spans of the traced request from both processes', () => {
    const t = received.filter((s) => s.traceId === CLIENT_TRACE);
    return t.some((s) => s.service === 'hydra-router' && s.kind === 3) && t.some((s) => s.service === 'hello-service') ? t : undefined;
  }, 15_000);
  assert.ok(requests.every((r) => r.path === '/v1/traces' && r.contentType === 'application/x-protobuf'), `OTLP/HTTP protobuf to /v1/traces: ${JSON.stringify(requests)}`);
  const routerServer = spans.find((s) => s.service === 'hydra-router' && s.name === 'GET /v1/hello/test')!;
  const routerClient = spans.find((s) => s.service === 'hydra-router' && s.kind === 3)!;
  const helloServer = spans.find((s) => s.service === 'hello-service' && s.name === 'GET /v1/hello/test')!;
  assert.equal(routerServer.parentSpanId, '10f067aa0ba902b7', "the router continues the client's trace");
  assert.equal(routerServer.kind, 2 /* SPAN_KIND_SERVER in OTLP */);
  assert.equal(routerClient.kind, 3 /* SPAN_KIND_CLIENT */);
  assert.equal(routerClient.parentSpanId, routerServer.spanId);
  assert.equal(helloServer.parentSpanId, routerClient.spanId, "hello-service's span is the child of the router's call, across processes");
  assert.equal(helloServer.scope, '@hydra-ts/express');

  // SIGTERM: the bins export what is buffered and exit 0.
  for (const p of [router, hello]) {
    const exited = new Promise<number | null>((resolve) => p.child.once('exit', (code) => resolve(code)));
    await stopProcess(p.child);
    assert.equal(await exited, 0);
  }
});
