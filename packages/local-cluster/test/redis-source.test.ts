/** Which Redis the cluster takes: given, HYDRA_REDIS_URL, the usual one when it answers, else a private one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sharedRedisPort } from '@hydra-ts/testing';
import { answersPing, chooseRedis } from '../src/redis-source.js';
import { alive } from './helpers.js';

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hydra-cluster-test-'));
  mkdirSync(join(dir, 'logs'));
  return dir;
}

test('a given URL wins, then HYDRA_REDIS_URL, then the usual Redis when it answers', async () => {
  const dir = scratch();
  try {
    assert.deepEqual(await chooseRedis('redis://127.0.0.1:1/2', dir, { env: { HYDRA_REDIS_URL: 'redis://127.0.0.1:3/4' } }), { url: 'redis://127.0.0.1:1/2', origin: 'given' });
    assert.deepEqual(await chooseRedis(undefined, dir, { env: { HYDRA_REDIS_URL: 'redis://127.0.0.1:3/4' } }), { url: 'redis://127.0.0.1:3/4', origin: 'HYDRA_REDIS_URL' });
    const usual = sharedRedisPort();
    assert.deepEqual(await chooseRedis(undefined, dir, { env: {}, usualPort: usual }), { url: `redis://127.0.0.1:${usual}/15`, origin: `the Redis answering on 127.0.0.1:${usual}` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with no Redis answering, a private redis-server in the cluster directory, stopped by pid', async () => {
  const dir = scratch();
  try {
    const choice = await chooseRedis(undefined, dir, { env: {}, usualPort: await freePort() });
    const port = Number(new URL(choice.url).port);
    assert.match(choice.origin, /^a private redis-server \(pid \d+\), stopped with the cluster$/);
    assert.ok(await answersPing(port), 'it answers');
    const pid = choice.server!.pid;
    await choice.server!.stop('SIGTERM', 5000);
    assert.ok(!alive(pid), 'it is gone');
    assert.ok(!(await answersPing(port)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
