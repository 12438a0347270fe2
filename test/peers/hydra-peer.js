'use strict';
/**
 * A real Hydra peer (the published hydra@1.9.3 / hydra-express@1.9.5) driven by
 * the interop tests over stdin/stdout, one JSON object per line. Hydra is a module
 * singleton, so each peer is its own process.
 *
 *   in:  {"id": 1, "op": "presence", "svc": "ts-svc"}
 *   out: {"id": 1, "ok": true, "result": [...]}  or  {"id": 1, "ok": false, "error": "..."}
 *   out: {"event": "message", "message": {...short UMF...}}   (every message Hydra emits)
 *
 * Every answer is what Hydra's own code returned. Hydra and hydra-express print to
 * stdout, so console output is sent to stderr to keep stdout for the protocol.
 */
const readline = require('node:readline');

const protocolOut = process.stdout.write.bind(process.stdout);
for (const name of ['log', 'info', 'dir', 'debug', 'warn']) console[name] = (...args) => console.error(...args);
process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);

const hydra = require('hydra');
const UMF = hydra.getUMFMessageHelper();

function emit(obj) {
  protocolOut(`${JSON.stringify(obj)}\n`);
}

/** Messages whose body has `cmd: "echo"` get a reply through Hydra's sendReplyMessage. */
let autoReply = false;
/** Correlation done by hand (Hydra has no request/reply): mid → resolve. */
const waiting = new Map();

hydra.on('message', (message) => {
  if (message.rmid && waiting.has(message.rmid)) {
    waiting.get(message.rmid)(message);
    waiting.delete(message.rmid);
  }
  emit({ event: 'message', message });
  if (autoReply && message.bdy && message.bdy.cmd === 'echo' && !message.rmid) {
    hydra.sendReplyMessage(message, { body: { echo: message.bdy, by: hydra.getInstanceID() } });
  }
});

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A hydra-express service with two routes, answered with Hydra's own response helper. */
function startExpress(config) {
  const hydraExpress = require('hydra-express');
  const express = hydraExpress.getExpress();
  return hydraExpress.init(config, '1.0.0', () => {
    const api = express.Router();
    api.get('/hello', (req, res) => {
      hydraExpress.sendResponse(200, res, { result: { msg: `hello from ${hydra.getServiceName()}`, instanceID: hydra.getInstanceID() } });
    });
    api.post('/echo', (req, res) => {
      hydraExpress.sendResponse(200, res, { result: { echo: req.body, contentType: req.headers['content-type'] || '' } });
    });
    hydraExpress.registerRoutes({ '/v1/peer': api });
  });
}

const ops = {
  async init({ config, register, routes }) {
    const loaded = await hydra.init(config);
    let info = null;
    if (register) info = await hydra.registerService();
    if (routes) await hydra.registerRoutes(routes);
    return { config: loaded, info, instanceID: hydra.getInstanceID(), serviceName: hydra.getServiceName() };
  },
  async initExpress({ config }) {
    const info = await startExpress(config);
    return { info, instanceID: hydra.getInstanceID(), serviceName: hydra.getServiceName() };
  },
  autoReply({ enabled }) {
    autoReply = enabled;
    return autoReply;
  },
  presence: ({ svc }) => hydra.getServicePresence(svc),
  nodes: () => hydra.getServiceNodes(),
  routes: () => hydra.getAllServiceRoutes(),
  /** Hydra's public health reader (IHydra has no getServiceHealth): [{health, log, presence}] per service. */
  healthAll: () => hydra.getServiceHealthAll(),
  services: () => hydra.getServices(),
  api: ({ message }) => hydra.makeAPIRequest(message),
  send: ({ message }) => hydra.sendMessage(hydra.createUMFMessage(message)),
  broadcast: ({ message }) => hydra.sendBroadcastMessage(hydra.createUMFMessage(message)),
  /** Send and wait for the message whose rmid is ours. */
  request({ message, timeoutMs = 5000 }) {
    const umf = hydra.createUMFMessage(message);
    const reply = new Promise((resolve) => waiting.set(umf.mid, resolve));
    hydra.sendMessage(umf);
    return withTimeout(reply, timeoutMs, `reply to ${umf.mid}`).finally(() => waiting.delete(umf.mid));
  },
  queue: ({ message }) => hydra.queueMessage(message),
  take: ({ svc }) => hydra.getQueuedMessage(svc),
  mark: ({ message, completed, reason }) => hydra.markQueueMessage(message, completed, reason),
  putConfig: ({ label, doc }) => hydra.putConfig(label, doc),
  getConfig: ({ label }) => hydra.getConfig(label),
  /** Hydra's UMF helper signs; returns the long form it produced. */
  umfSign({ message, secret }) {
    const m = UMF.createMessage(message);
    m.signMessage('sha256', secret);
    return m.toJSON();
  },
  /** Re-signs a received message with Hydra's helper: the signature it carries and the one Hydra computes. */
  umfResign({ message, secret }) {
    const m = UMF.createMessage(message);
    const given = m.signature;
    m.signMessage('sha256', secret);
    return { given, computed: m.signature };
  },
  async shutdown() {
    await withTimeout(hydra.shutdown(), 3000, 'hydra.shutdown');
    setImmediate(() => process.exit(0));
    return true;
  },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (err) {
    emit({ id: null, ok: false, error: `not JSON: ${err.message}` });
    return;
  }
  const op = ops[cmd.op];
  if (!op) {
    emit({ id: cmd.id, ok: false, error: `unknown op ${cmd.op}` });
    return;
  }
  try {
    const result = await op(cmd);
    emit({ id: cmd.id, ok: true, result: result === undefined ? null : result });
  } catch (err) {
    emit({ id: cmd.id, ok: false, error: err && err.message ? err.message : String(err) });
  }
});
// The test closing our stdin means it is done with us (also when it failed).
rl.on('close', () => process.exit(0));
