// A service without HTTP, on @hydra-ts/core alone: it answers messages.
import { Hydra, closeOnSignals } from '@hydra-ts/core';

const hydra = await Hydra.create({ hydra: { serviceName: 'pricer', serviceIP: '127.0.0.1' } });
await hydra.registerService();

const prices: Record<string, number> = { A1: 42, B2: 7 };
hydra.onMessage(async (message) => {
  const sku = String(message.body.sku);
  const price = prices[sku];
  await hydra.sendReplyMessage(message, { body: price === undefined ? { error: `no price for ${sku}` } : { sku, price } });
});

closeOnSignals(hydra, hydra.logger);
console.log(`pricer ${hydra.instanceId} ready`);
