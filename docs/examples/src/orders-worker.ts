// Queue worker: takes each waiting message, then marks it done or failed. A message
// taken and not marked within the visibility timeout (30 s) goes back to the queue.
import { Hydra } from '@hydra-ts/core';

const hydra = await Hydra.create({ hydra: { serviceName: 'orders' } });
try {
  // Registered instances of `orders` also put messages stuck in progress back in the queue.
  await hydra.registerService();
  for (let taken = await hydra.getQueuedMessage(); taken; taken = await hydra.getQueuedMessage()) {
    const qty = Number(taken.message.body.qty);
    if (qty > 0) {
      await hydra.markQueueMessage(taken, true);
      console.log('done', taken.message.mid, qty);
    } else {
      // Kept in hydra:service:orders:mqincomplete with body.reason.
      await hydra.markQueueMessage(taken, false, `qty must be positive, not ${qty}`);
      console.log('failed', taken.message.mid, qty);
    }
  }
} finally {
  await hydra.close();
}
