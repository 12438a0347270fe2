'use strict';

// Started with HYDRA_REDIS_URL and HYDRA_SERVICE=worker:0.5.0, Hydra loads the
// config stored in Redis (hydra-cli cfg push) instead of the one below.
const hydra = require('hydra');
const PongPlugin = require('./pong-plugin');

hydra.use(new PongPlugin());

hydra.on('message', (msg) => {
  console.log(JSON.stringify({ event: 'message', msg }));
  if (msg.typ === 'ping') {
    hydra.sendReplyMessage(msg, { typ: 'pong', bdy: { from: 'worker', got: msg.bdy } });
  }
});

function takeWork() {
  hydra.getQueuedMessage('worker')
    .then((job) => {
      if (!job) return null;
      console.log(JSON.stringify({ event: 'job', job }));
      return hydra.markQueueMessage(job, true);
    })
    .catch((err) => console.log(JSON.stringify({ event: 'queue-error', err: err.message })))
    .then(() => setTimeout(takeWork, 50));
}

hydra.init({ hydra: { serviceName: 'worker', serviceIP: '', servicePort: 0, redis: { url: 'redis://127.0.0.1:6379/15' } } })
  .then((config) => {
    console.log(JSON.stringify({ event: 'config', work: config.work, serviceIP: config.hydra.serviceIP }));
    return hydra.registerService();
  })
  .then((serviceInfo) => {
    console.log(JSON.stringify({ event: 'ready', serviceInfo, instanceID: hydra.getInstanceID() }));
    hydra.sendToHealthLog('info', `Starting ${hydra.getServiceName()} (v.${hydra.getInstanceVersion()})`);
    takeWork();
  })
  .catch((err) => {
    console.log('Error initializing hydra', err);
    process.exit(1);
  });

process.on('SIGTERM', () => hydra.shutdown().then(() => process.exit(0)));
