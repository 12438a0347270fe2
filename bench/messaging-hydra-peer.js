'use strict';
/**
 * Benchmark peer on the published hydra@1.9.3 (a module singleton, hence one
 * process per service): a receiver that counts and answers with sendReplyMessage,
 * or a sender. Hydra has no request/reply, so the sender correlates replies by
 * rmid by hand, as a Hydra user would. The loops are the same compiled code the
 * hydra-ts peer runs (bench/dist/messaging-loops.js).
 */
const { join } = require('node:path');
const { Counter, protocolStdout, requestReply, sendOneWay, servePeer } = require(join(__dirname, 'dist', 'messaging-loops.js'));

const write = protocolStdout();
const hydra = require('hydra');

const counter = new Counter();
/** mid of a sent request → settle it. */
const waiting = new Map();
let transport;

hydra.on('message', (m) => {
  if (m.rmid) {
    const settle = waiting.get(m.rmid);
    if (settle) {
      waiting.delete(m.rmid);
      settle();
    }
    return;
  }
  counter.hit();
  if (m.bdy && m.bdy.reply) hydra.sendReplyMessage(m, { body: m.bdy });
});

servePeer(
  {
    async init({ serviceName, redisUrl, target }) {
      await hydra.init({ hydra: { serviceName, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl } } });
      await hydra.registerService();
      const from = `${serviceName}:/`;
      const self = `${hydra.getInstanceID()}@${serviceName}:/`;
      if (target) {
        transport = {
          send: (body) => hydra.sendMessage(hydra.createUMFMessage({ to: `${target}:/`, from, body })),
          request: (body, timeoutMs) => {
            const umf = hydra.createUMFMessage({ to: `${target}:/`, from: self, body: Object.assign({}, body, { reply: true }) });
            return new Promise((resolve, reject) => {
              const timer = setTimeout(() => {
                waiting.delete(umf.mid);
                reject(new Error(`no reply to ${umf.mid} within ${timeoutMs} ms`));
              }, timeoutMs);
              waiting.set(umf.mid, () => {
                clearTimeout(timer);
                resolve();
              });
              hydra.sendMessage(umf);
            });
          },
        };
      }
      return { instanceID: hydra.getInstanceID() };
    },
    presence: async ({ svc }) => (await hydra.getServicePresence(svc)).length,
    cpu: () => process.cpuUsage(),
    expect: ({ n, timeoutMs }) => counter.expect(Number(n), Number(timeoutMs)),
    oneway: ({ n, batch, payload, maxMs }) => sendOneWay(transport, Number(n), Number(batch), String(payload), Number(maxMs)),
    rr: ({ n, concurrency, payload, maxMs, timeoutMs }) => requestReply(transport, Number(n), Number(concurrency), String(payload), Number(maxMs), Number(timeoutMs)),
    async close() {
      await hydra.shutdown();
      return true;
    },
  },
  write,
);
