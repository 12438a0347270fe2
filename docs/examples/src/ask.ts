// A caller: request/reply over messages, and HTTP to a service through the registry.
import { Hydra, isHydraError } from '@hydra-ts/core';

const hydra = await Hydra.create({ hydra: { serviceName: 'asker', serviceIP: '127.0.0.1' } });
try {
  // The reply comes back on this instance's own channel: register before request().
  await hydra.registerService();
  const reply = await hydra.request({ to: 'pricer:/', body: { sku: 'A1' } }, 2000);
  console.log('price', JSON.stringify(reply.body));

  // items answers `{count: true}` only: anything else gets no reply, and request() gives up.
  try {
    await hydra.request({ to: 'items:/', body: { hello: true } }, 500);
  } catch (err) {
    if (!isHydraError(err, 'TIMEOUT')) throw err;
    console.log('no reply', err.code);
  }

  const created = await hydra.makeAPIRequest({ to: 'items:[post]/v1/items', body: { name: 'lamp' } });
  console.log('created', created.statusCode, JSON.stringify(created.result));
  const fetched = await hydra.makeAPIRequest({ to: 'items:[get]/v1/items/1', body: {} });
  console.log('fetched', fetched.statusCode, JSON.stringify(fetched.result));
  const count = await hydra.request({ to: 'items:/', body: { count: true } });
  console.log('count', JSON.stringify(count.body));
  const missing = await hydra.makeAPIRequest({ to: 'nowhere:[get]/v1/x', body: {} });
  console.log('missing', missing.statusCode, JSON.stringify(missing.result));
} finally {
  await hydra.close();
}
