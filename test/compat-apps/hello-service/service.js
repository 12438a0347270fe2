'use strict';

const version = require('./package.json').version;
const hydraExpress = require('hydra-express');
const hydra = require('hydra');
const HydraExpressPlugin = require('hydra-express/plugin');

/** A plugin as hydra-express's docs describe them: options from hydra.plugins.greeting. */
class GreetingPlugin extends HydraExpressPlugin {
  constructor() {
    super('greeting');
  }

  onServiceReady() {
    console.log(JSON.stringify({ event: 'plugin-ready', word: this.opts.word, service: this.serviceConfig.hydra.serviceName }));
  }
}

hydraExpress.use(new GreetingPlugin());

hydra.on('message', (msg) => {
  console.log(JSON.stringify({ event: 'message', msg }));
  if (msg.typ === 'ping') {
    hydra.sendReplyMessage(msg, hydra.createUMFMessage({ typ: 'pong', bdy: { pong: msg.bdy, instanceID: hydra.getInstanceID() } }));
  }
});

function registerRoutesCallback() {
  hydraExpress.registerRoutes({
    '/v1/hello': require('./routes/hello-v1-routes'),
  });
}

function registerMiddlewareCallback() {
  const app = hydraExpress.getExpressApp();
  app.use((req, res, next) => {
    res.set('x-hello-middleware', 'yes');
    next();
  });
}

hydraExpress.init(`${__dirname}/config/config.json`, version, registerRoutesCallback, registerMiddlewareCallback)
  .then((serviceInfo) => {
    console.log(JSON.stringify({ event: 'ready', serviceInfo, instanceID: hydra.getInstanceID() }));
  })
  .catch((err) => {
    console.log('err', err);
    process.exit(1);
  });
