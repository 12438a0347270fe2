import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keys, HydraError } from '../src/index.js';
import { freshDb, startService, waitFor } from './helpers.js';

const DB = 1;
let redis: Awaited<ReturnType<typeof freshDb>>;
before(async () => (redis = await freshDb(DB)));
after(() => redis.close());

test('queued messages are taken oldest first, acked, or failed into mqincomplete with a reason', async () => {
  const svc = await startService(DB, 'q-svc');
  try {
    for (const n of [1, 2, 3]) await svc.queueMessage({ to: 'q-svc:/', body: { n } });
    assert.deepEqual(await svc.queues.lengths('q-svc'), { waiting: 3, inProgress: 0, incomplete: 0 });
    const raw = JSON.parse((await redis.lIndex(keys.queueReceived('q-svc'), 0))!);
    assert.ok('frm' in raw && 'bdy' in raw, 'stored in short form');

    const first = (await svc.getQueuedMessage())!;
    assert.equal(first.message.body.n, 1);
    assert.deepEqual(await svc.queues.lengths('q-svc'), { waiting: 2, inProgress: 1, incomplete: 0 });
    assert.equal(await svc.markQueueMessage(first, true), true);
    assert.equal(await svc.markQueueMessage(first, true), false, 'a second ack finds nothing');

    const second = (await svc.getQueuedMessage())!;
    await svc.markQueueMessage(second, false, 'could not process');
    const failed = JSON.parse((await redis.lIndex(keys.queueIncomplete('q-svc'), 0))!);
    assert.equal(failed.bdy.n, 2);
    assert.equal(failed.bdy.reason, 'could not process');
    assert.deepEqual(await svc.queues.lengths('q-svc'), { waiting: 1, inProgress: 0, incomplete: 1 });
    assert.equal(await redis.zCard(keys.queueTakenAt('q-svc')), 0, 'bookkeeping cleared');
  } finally {
    await svc.close();
  }
});

test('a message left in progress past the visibility timeout is redelivered', async () => {
  const svc = await startService(DB, 'redeliver', {}, { queueVisibilityTimeoutMs: 1000 });
  try {
    await svc.queueMessage({ to: 'redeliver:/', body: { job: 'x' } });
    const taken = (await svc.getQueuedMessage())!;
    assert.equal(await svc.getQueuedMessage(), null, 'invisible while in progress');
    // The service's own recovery timer puts it back once it is older than 1 s.
    const again = await waitFor('redelivery', () => svc.getQueuedMessage(), 10_000);
    assert.equal(again.message.mid, taken.message.mid);
    assert.equal(await svc.markQueueMessage(taken, true), true, 'acking by the same text works after redelivery');
    assert.deepEqual(await svc.queues.lengths('redeliver'), { waiting: 0, inProgress: 0, incomplete: 0 });
  } finally {
    await svc.close();
  }
});

test('messages put in progress by a Hydra peer (no taken-at time) are recovered after a full timeout', async () => {
  const svc = await startService(DB, 'peer-q');
  try {
    const raw = JSON.stringify({ to: 'peer-q:/', frm: 'x:/', mid: 'm-1', ts: new Date().toISOString(), ver: 'UMF/1.4.6', bdy: {} });
    await redis.lPush(keys.queueInProgress('peer-q'), raw);
    assert.equal(await svc.queues.recover('peer-q', 60_000), 0, 'first seen now: stamped, not moved');
    assert.ok(await redis.zScore(keys.queueTakenAt('peer-q'), raw));
    await new Promise((r) => setTimeout(r, 5)); // let the clock pass the stamp: recovery needs a strictly older one
    assert.equal(await svc.queues.recover('peer-q', 0), 1);
    assert.equal((await svc.getQueuedMessage())!.message.mid, 'm-1');
  } finally {
    await svc.close();
  }
});

test('an unreadable queued entry is parked in mqincomplete, not lost and not retried forever', async () => {
  const svc = await startService(DB, 'bad-q');
  try {
    await redis.lPush(keys.queueReceived('bad-q'), '{broken');
    await assert.rejects(svc.getQueuedMessage(), (e: unknown) => e instanceof HydraError && e.code === 'INVALID_UMF');
    assert.deepEqual(await svc.queues.lengths('bad-q'), { waiting: 0, inProgress: 0, incomplete: 1 });
    assert.match((await redis.lIndex(keys.queueIncomplete('bad-q'), 0))!, /\{broken/);
    await assert.rejects(svc.queueMessage({ to: 'bad-q:/' }), (e: unknown) => e instanceof HydraError && /"body" is required/.test(e.message));
    await assert.rejects(svc.queueMessage({ to: 'Bad*:/', body: {} }), (e: unknown) => e instanceof HydraError && e.code === 'INVALID_SERVICE_NAME');
  } finally {
    await svc.close();
  }
});
