// Queue producer: messages wait in Redis until a worker of `orders` takes them,
// whether or not one is running now. This program need not register.
import { Hydra } from '@hydra-ts/core';

const hydra = await Hydra.create({ hydra: { serviceName: 'shop' } });
try {
  for (const qty of [1, 3, 0]) {
    const queued = await hydra.queueMessage({ to: 'orders:/', body: { sku: 'A1', qty } });
    console.log('queued', queued.mid, qty);
  }
} finally {
  await hydra.close();
}
