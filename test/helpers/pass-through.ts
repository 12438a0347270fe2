/**
 * What an untraced process (no OpenTelemetry SDK, or no @opentelemetry/api at all)
 * does with a traceparent that arrives with a message: a relay service sends a
 * message and makes an HTTP call while handling it; what reaches the far side, and
 * what the relay logged, is returned. Core only (@hydra-ts/express brings the API
 * along through prom-client), so it also runs in a child where the API cannot be
 * loaded (pass-through-child.ts).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { pino } from 'pino';
import { Hydra, traceLogFields, type UMFMessage } from '@hydra-ts/core';
import { waitFor } from '@hydra-ts/testing';

export const INCOMING = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

export interface PassThroughResult {
  /** hdr.traceparent of the message the relay sent while handling a traced message. */
  messageFromMessage?: unknown;
  /** traceparent header of the HTTP call (makeAPIRequest) the relay made while handling it. */
  httpFromMessage?: unknown;
  /** The relay's message sent while handling a message without context: its headers. */
  untracedHeaders?: unknown;
  /** The relay's log line written while handling the traced message. */
  logLine?: Record<string, unknown>;
}

export async function passThrough(redisUrl: string): Promise<PassThroughResult> {
  const config = (serviceName: string) => ({ hydra: { serviceName, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl } } });
  const quiet = pino({ level: 'silent' });
  const lines: Array<Record<string, unknown>> = [];
  // As defaultLogger makes it (traceLogFields as the mixin), writing here instead of stdout.
  const relayLogger = pino({ level: 'info', mixin: traceLogFields }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const seenHeaders: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seenHeaders.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":{}}');
  });
  const atSink: UMFMessage[] = [];
  const sink = await Hydra.create(config('pt-sink'), { logger: quiet, env: {} });
  const relay = await Hydra.create(config('pt-relay'), { logger: relayLogger, env: {} });
  const sender = await Hydra.create(config('pt-sender'), { logger: quiet, env: {} });
  try {
    sink.onMessage((m) => void atSink.push(m));
    await sink.listen(server);
    await sink.registerService();
    relay.onMessage(async (m) => {
      relay.logger.info({ mid: m.mid }, 'relaying');
      await relay.sendMessage({ to: 'pt-sink:/', type: `from-${m.type}`, body: {} });
      if (m.type === 'traced') await relay.makeAPIRequest({ to: 'pt-sink:[get]/headers', body: {} });
    });
    await relay.registerService();
    await sender.registerService();
    await waitFor('the sender to see the relay, the relay the sink', async () => (await sender.getServicePresence('pt-relay')).length === 1 && (await relay.getServicePresence('pt-sink')).length === 1);
    await sender.sendMessage({ to: 'pt-relay:/', type: 'traced', headers: { traceparent: INCOMING }, body: {} });
    await sender.sendMessage({ to: 'pt-relay:/', type: 'plain', body: {} });
    await waitFor('the two relayed messages and the HTTP call', () => atSink.length === 2 && seenHeaders.length === 1);
    return {
      messageFromMessage: atSink.find((m) => m.type === 'from-traced')?.headers?.traceparent,
      httpFromMessage: seenHeaders[0]?.traceparent,
      untracedHeaders: atSink.find((m) => m.type === 'from-plain')?.headers,
      logLine: lines.find((l) => l.msg === 'relaying' && l.trace_id !== undefined) ?? lines.find((l) => l.msg === 'relaying'),
    };
  } finally {
    await sender.close();
    await relay.close();
    await sink.close();
    server.close();
  }
}
