'use strict';
// The app's own test suite, as hydra-express apps write one: hydra in test mode,
// so it runs where no Redis is.
const { test, after } = require('node:test');
const assert = require('node:assert');
const hydraExpress = require('hydra-express');
const hydra = require('hydra');
const config = require('../config/config.json');

after(() => hydraExpress.shutdown());

test('the service answers and messages itself in test mode', async () => {
  const info = await hydraExpress.init(Object.assign({}, config, { testMode: true }), '1.2.3', () => {
    hydraExpress.registerRoutes({ '/v1/hello': require('../routes/hello-v1-routes') });
  });
  assert.strictEqual(info.serviceName, 'hello-service');
  const base = `http://127.0.0.1:${info.servicePort}`;

  const res = await fetch(`${base}/v1/hello`);
  assert.strictEqual(res.status, 200);
  const body = await res.json();
  assert.strictEqual(body.result.greeting, 'hello from hello-service');

  const got = new Promise((resolve) => hydra.once('message', resolve));
  const answer = await hydra.sendMessage(hydra.createUMFMessage({ to: 'hello-service:/', from: 'hello-service:/', typ: 'note', bdy: { n: 7 } }));
  assert.strictEqual(answer, undefined);
  assert.deepStrictEqual((await got).bdy, { n: 7 });

  await hydra.queueMessage(hydra.createUMFMessage({ to: 'hello-service:/', from: 'hello-service:/', bdy: { job: 'x' } }));
  const queued = await (await fetch(`${base}/v1/hello/queue/next`)).json();
  assert.strictEqual(queued.result.message.bdy.job, 'x');

  const self = await hydra.makeAPIRequest({ to: 'hello-service:[post]/v1/hello/echo', from: 'hello-service:/', body: { a: 1 } });
  assert.deepStrictEqual(self.result, { body: { a: 1 } });

  const other = await hydra.sendMessage({ to: 'elsewhere-service:/', from: 'hello-service:/', body: {} });
  assert.strictEqual(other.statusCode, 503);
});
