/** Redis Sentinel through the client library's own support: a master and one sentinel of the test's own. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { Hydra } from '../src/index.js';
import { startRedisServer, waitFor, quietLogger, freePort } from './helpers.js';

test('services register and talk through a Sentinel-managed master', async (t) => {
  const [MASTER_PORT, SENTINEL_PORT] = [await freePort(), await freePort()];
  const master = await startRedisServer(MASTER_PORT);
  t.after(() => master.stop());
  const dir = mkdtempSync(join(tmpdir(), 'hydra-ts-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [`port ${SENTINEL_PORT}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor hydra 127.0.0.1 ${MASTER_PORT} 1`, 'sentinel down-after-milliseconds hydra 1000'].join('\n'));
  const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  t.after(() => {
    sentinel.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('sentinel knows the master', async () => {
    const c = createClient({ url: `redis://127.0.0.1:${SENTINEL_PORT}`, socket: { reconnectStrategy: false } });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const addr = await c.sendCommand(['SENTINEL', 'get-master-addr-by-name', 'hydra']);
      await c.close();
      return Array.isArray(addr) && addr[1] === String(MASTER_PORT);
    } catch {
      return false;
    }
  });

  const redis = { sentinel: { name: 'hydra', sentinels: [{ host: '127.0.0.1', port: SENTINEL_PORT }], db: 0 } };
  const server = await Hydra.create({ hydra: { serviceName: 'via-sentinel', serviceIP: '127.0.0.1', redis } }, { logger: quietLogger(), env: {} });
  const client = await Hydra.create({ hydra: { serviceName: 'via-sentinel-client', serviceIP: '127.0.0.1', redis } }, { logger: quietLogger(), env: {} });
  t.after(() => Promise.all([server.close(), client.close()]));
  await server.registerService();
  await client.registerService();
  server.onMessage((m) => void server.sendReplyMessage(m, { body: { pong: true } }));
  // Each must see the other: the reply goes to the client's instance, which the server finds through discovery.
  await waitFor('seen through sentinel', async () => (await client.getServicePresence('via-sentinel')).length === 1 && (await server.getServicePresence('via-sentinel-client')).length === 1);
  assert.equal((await client.request({ to: 'via-sentinel:/', body: {} })).body.pong, true);

  const direct = createClient({ url: `redis://127.0.0.1:${MASTER_PORT}/0` });
  await direct.connect();
  try {
    assert.ok(await direct.exists(`hydra:service:via-sentinel:${server.instanceId}:presence`), 'keys landed on the master');
  } finally {
    await direct.close();
  }
});
