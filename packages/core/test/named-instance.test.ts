/**
 * A message to a named instance (`<id>@svc:/`, as every reply is) reaches it even when the
 * sender's live view has not learned of it yet: a requester that registered a moment before
 * asking is answered instead of timing out. Nobody listening is still SERVICE_UNAVAILABLE.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { Hydra, channels, type UMFMessage } from '../src/index.js';
import { freePort, quietLogger, startRedisServer, waitFor } from '@hydra-ts/testing';

let server: { stop: () => Promise<void> };
let url: string;
let sender: Hydra;
let listener: ReturnType<typeof createClient>;

before(async () => {
  const port = await freePort();
  server = await startRedisServer(port);
  url = `redis://127.0.0.1:${port}/0`;
  sender = await Hydra.create({ hydra: { serviceName: 'sender', redis: { url } } }, { env: {}, logger: quietLogger() });
  listener = createClient({ url });
  await listener.connect();
});
after(async () => {
  await listener?.close();
  await sender?.close();
  await server?.stop();
});

const newId = () => randomUUID().replace(/-/g, '');

test('a named instance that the live view does not hold is reached on its channel', async () => {
  const id = newId();
  const received: UMFMessage[] = [];
  await listener.subscribe(channels.instance('newcomer', id), (raw) => void received.push(JSON.parse(raw)));
  assert.equal(sender.discovery.instances('newcomer').length, 0, 'the sender knows no instance of newcomer');
  const sent = await sender.sendMessage({ to: `${id}@newcomer:/`, body: { answer: 42 } });
  const got = await waitFor('the message on the instance channel', () => received[0]);
  assert.equal((got as unknown as { mid: string }).mid, sent.mid);
});

test('a named instance that nobody listens for is SERVICE_UNAVAILABLE, naming it', async () => {
  const id = newId();
  await assert.rejects(sender.sendMessage({ to: `${id}@newcomer:/`, body: {} }), { code: 'SERVICE_UNAVAILABLE', message: `Unavailable newcomer instance named ${id}` });
});

test('an instance part that is no instance id is refused without a publish', async () => {
  await assert.rejects(sender.sendMessage({ to: 'nobody@newcomer:/', body: {} }), { code: 'SERVICE_UNAVAILABLE', message: 'Unavailable newcomer instance named nobody' });
});
