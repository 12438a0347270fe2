import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { channels, HydraError, sign, createMessage, toShort, type UMFMessage } from '../src/index.js';
import { freshDb, startService, waitFor, captureLogger } from './helpers.js';

const DB = 4;
let redis: Awaited<ReturnType<typeof freshDb>>;
before(async () => (redis = await freshDb(DB)));
after(() => redis.close());

const isCode = (code: string, pattern?: RegExp) => (e: unknown) => e instanceof HydraError && e.code === code && (!pattern || pattern.test(e.message));

test('send reaches one instance, broadcast reaches all, reply comes back with rmid', async () => {
  const client = await startService(DB, 'msg-client');
  const a = await startService(DB, 'msg-worker');
  const b = await startService(DB, 'msg-worker');
  try {
    const got: Record<string, UMFMessage[]> = { [a.instanceId]: [], [b.instanceId]: [] };
    a.onMessage((m) => void got[a.instanceId]!.push(m));
    b.onMessage((m) => void got[b.instanceId]!.push(m));
    await waitFor('both workers seen', async () => (await client.getServicePresence('msg-worker')).length === 2);

    await client.sendMessage({ to: 'msg-worker:/', body: { n: 1 } });
    await client.sendMessage({ to: 'msg-worker:/', body: { n: 2 } });
    await waitFor('two sends delivered', () => got[a.instanceId]!.length + got[b.instanceId]!.length === 2);
    assert.equal(got[a.instanceId]!.length, 1, 'round robin: one each');

    await client.sendMessage({ to: `${b.instanceId}@msg-worker:/`, body: { direct: true } });
    await waitFor('direct delivered', () => got[b.instanceId]!.some((m) => m.body.direct === true));

    await client.sendBroadcastMessage({ to: 'msg-worker:/', body: { all: true } });
    await waitFor('broadcast to both', () => Object.values(got).every((list) => list.some((m) => m.body.all === true)));
    const direct = got[b.instanceId]!.find((m) => m.body.direct)!;
    assert.equal(direct.from, 'msg-client:/', 'from defaults to the sender');
  } finally {
    await Promise.all([client.close(), a.close(), b.close()]);
  }
});

test('request resolves with the reply correlated by rmid; no answer is a TIMEOUT error', async () => {
  const client = await startService(DB, 'rr-client');
  const server = await startService(DB, 'rr-server');
  try {
    server.onMessage((m) => {
      if (m.body.silent) return;
      void server.sendReplyMessage(m, { body: { doubled: (m.body.n as number) * 2 } });
    });
    await waitFor('server seen', async () => (await client.getServicePresence('rr-server')).length === 1);
    const replies = await Promise.all([1, 2, 3].map((n) => client.request({ to: 'rr-server:/', body: { n } }, 5000)));
    assert.deepEqual(replies.map((r) => r.body.doubled), [2, 4, 6]);
    assert.ok(replies.every((r) => r.from === 'rr-server:/' && r.rmid));

    await assert.rejects(client.request({ to: 'rr-server:/', body: { silent: true } }, 200), isCode('TIMEOUT', /no reply to message .* within 200 ms/));
    await assert.rejects(client.request({ to: 'nobody-home:/', body: {} }, 200), isCode('SERVICE_UNAVAILABLE', /Unavailable nobody-home instances/));
    await assert.rejects(client.sendMessage({ to: 'no-colon', body: {} }), isCode('INVALID_ROUTE'));
    await assert.rejects(client.sendMessage({ to: 'rr-server:/' }), isCode('INVALID_UMF', /"body" is required/), 'bad input rejects the promise, it does not throw');
    await assert.rejects(client.sendMessage({ to: `${'d'.repeat(32)}@rr-server:/`, body: {} }), isCode('SERVICE_UNAVAILABLE', /instance named/));
  } finally {
    await Promise.all([client.close(), server.close()]);
  }
});

test('garbage on a channel is logged and skipped; the next good message is handled', async () => {
  const { logger, lines } = captureLogger();
  const svc = await startService(DB, 'robust', {}, { logger });
  try {
    const got: UMFMessage[] = [];
    svc.onMessage((m) => void got.push(m));
    const channel = channels.instance('robust', svc.instanceId);
    await redis.publish(channel, 'not json at all');
    await redis.publish(channel, JSON.stringify({ to: 'robust:/', bdy: {} }));
    await redis.publish(channel, JSON.stringify({ to: 'robust:/', frm: 'x:/', bdy: { ok: 1 } }));
    await waitFor('good message', () => got.length === 1);
    assert.deepEqual(got[0]!.body, { ok: 1 });
    const skipped = lines.filter((l) => l.msg === 'skipped a message that is not valid UMF');
    assert.equal(skipped.length, 2);
    assert.match(String(skipped[1]!.err), /"from" is required/);
  } finally {
    await svc.close();
  }
});

test('with umfSecret, messages are signed and unsigned ones refused', async () => {
  const { logger, lines } = captureLogger();
  const secret = 's3cret';
  const server = await startService(DB, 'signed', { umfSecret: secret }, { logger });
  const client = await startService(DB, 'signed-client', { umfSecret: secret });
  try {
    const got: UMFMessage[] = [];
    server.onMessage((m) => {
      got.push(m);
      void server.sendReplyMessage(m, { body: { ok: true } });
    });
    await waitFor('seen', async () => (await client.getServicePresence('signed')).length === 1);
    const reply = await client.request({ to: 'signed:/', body: {} }, 5000);
    assert.equal(reply.body.ok, true);
    assert.ok(got[0]!.signature, 'the request carried a signature');

    const channel = channels.instance('signed', server.instanceId);
    await redis.publish(channel, JSON.stringify(toShort(createMessage({ to: 'signed:/', from: 'x:/', body: { unsigned: 1 } }))));
    await redis.publish(channel, JSON.stringify(toShort(sign(createMessage({ to: 'signed:/', from: 'x:/', body: { wrong: 1 } }), 'other'))));
    await waitFor('two refusals logged', () => lines.filter((l) => l.msg === 'skipped a message whose signature does not verify').length === 2);
    assert.equal(got.length, 1);
  } finally {
    await Promise.all([client.close(), server.close()]);
  }
});

test('a throwing or rejecting handler is logged; the service keeps receiving', async () => {
  const { logger, lines } = captureLogger();
  const svc = await startService(DB, 'fragile', {}, { logger });
  const client = await startService(DB, 'fragile-client');
  try {
    let calls = 0;
    svc.onMessage((m) => {
      calls++;
      if (m.body.kind === 'throw') throw new Error('boom');
      if (m.body.kind === 'reject') return Promise.reject(new Error('async boom'));
    });
    await waitFor('seen', async () => (await client.getServicePresence('fragile')).length === 1);
    for (const kind of ['throw', 'reject', 'fine']) await client.sendMessage({ to: 'fragile:/', body: { kind } });
    await waitFor('three handled', () => calls === 3);
    await waitFor('both failures logged', () => lines.some((l) => l.err === 'boom') && lines.some((l) => l.err === 'async boom'));
  } finally {
    await Promise.all([client.close(), svc.close()]);
  }
});

test("subscribe listens on an app's own channel over the subscriber connection; a throwing listener is logged, stopping one leaves the others", async () => {
  const { logger, lines } = captureLogger();
  const svc = await startService(DB, 'channel-reader', {}, { logger });
  // Channels are not per database: a name of this run's own.
  const channel = `hydra-ts:test:channel:${svc.instanceId}`;
  try {
    const first: string[] = [];
    const second: string[] = [];
    const stopFirst = await svc.subscribe(channel, (text) => {
      if (text === 'bad') throw new Error('listener boom');
      first.push(text);
    });
    await svc.subscribe(channel, (text) => void second.push(text));
    for (const text of ['one', 'bad', 'two']) await redis.publish(channel, text);
    await waitFor('both listeners got the good messages', () => first.length === 2 && second.length === 3);
    assert.deepEqual(first, ['one', 'two']);
    assert.ok(lines.some((l) => l.err === 'listener boom' && l.channel === channel), 'the throw is logged with its channel');

    await stopFirst();
    await redis.publish(channel, 'three');
    await waitFor('the other listener still hears', () => second.includes('three'));
    assert.deepEqual(first, ['one', 'two'], 'the stopped listener heard nothing more');
    // Messaging on the same connection is unaffected.
    const got: UMFMessage[] = [];
    svc.onMessage((m) => void got.push(m));
    await svc.sendMessage({ to: 'channel-reader:/', body: { after: true } });
    await waitFor('a message still arrives', () => got.length === 1);
  } finally {
    await svc.close();
  }
});

test('several services live in one process without sharing state', async () => {
  const one = await startService(DB, 'multi-one');
  const two = await startService(DB, 'multi-two');
  try {
    assert.notEqual(one.instanceId, two.instanceId);
    two.onMessage((m) => void two.sendReplyMessage(m, { body: { from: 'two' } }));
    one.onMessage((m) => void one.sendReplyMessage(m, { body: { from: 'one' } }));
    await waitFor('seen', async () => (await one.getServicePresence('multi-two')).length === 1 && (await two.getServicePresence('multi-one')).length === 1);
    assert.equal((await one.request({ to: 'multi-two:/', body: {} })).body.from, 'two');
    assert.equal((await two.request({ to: 'multi-one:/', body: {} })).body.from, 'one');
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
});
