/**
 * Benchmark peer on hydra-ts: a receiver that counts and echoes, or a sender that
 * runs the shared loops with core's sendMessage and request().
 */
import { pino } from 'pino';
import { Hydra, startTelemetry } from '@hydra-ts/core';
import { Counter, protocolStdout, requestReply, sendOneWay, servePeer, type Transport } from './messaging-loops.js';

// As the bins do: the Node SDK only when OTEL_EXPORTER_OTLP_ENDPOINT is set (bench/messaging.ts's traced peers).
startTelemetry('bench-ts-peer', () => require('@opentelemetry/sdk-node'));
const write = protocolStdout();
const counter = new Counter();
let hydra: Hydra | undefined;
let transport: Transport | undefined;

servePeer(
  {
    async init(args) {
      const { serviceName, redisUrl, target } = args as { serviceName: string; redisUrl: string; target?: string };
      hydra = await Hydra.create(
        { hydra: { serviceName, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl } } },
        { logger: pino({ level: 'warn' }, pino.destination(2)), env: {} },
      );
      await hydra.registerService();
      const h = hydra;
      h.onMessage((m) => {
        counter.hit();
        if (m.body.reply) return h.sendReplyMessage(m, { body: m.body }).then(() => undefined);
      });
      if (target) {
        transport = {
          send: (body) => h.sendMessage({ to: `${target}:/`, body }),
          request: (body, timeoutMs) => h.request({ to: `${target}:/`, body: { ...body, reply: true } }, timeoutMs),
        };
      }
      return { instanceID: h.instanceId };
    },
    presence: async ({ svc }) => (await hydra!.getServicePresence(String(svc))).length,
    cpu: () => process.cpuUsage(),
    expect: ({ n, timeoutMs }) => counter.expect(Number(n), Number(timeoutMs)),
    oneway: ({ n, batch, payload, maxMs }) => sendOneWay(transport!, Number(n), Number(batch), String(payload), Number(maxMs)),
    rr: ({ n, concurrency, payload, maxMs, timeoutMs }) => requestReply(transport!, Number(n), Number(concurrency), String(payload), Number(maxMs), Number(timeoutMs)),
    async close() {
      await hydra?.close();
      return true;
    },
  },
  write,
);
