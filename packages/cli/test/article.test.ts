/**
 * The article's flow, as the README shows it, in Redis database 11:
 *   hydra-cli cfg push hello-service:0.0.2 config.json
 *   HYDRA_REDIS_URL=... HYDRA_SERVICE=hello-service:0.0.2 hello-service
 *   hydra-cli nodes
 * then a call through `rest` to the service that started from the pushed config.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from '@hydra-ts/core';
import { cli, cliJson, closeRedis, openTestRedis, redisUrl, tempHome, startChild, stopAllChildren, waitFor, REPO_ROOT } from './helpers.js';

const DB = 11;
const URL = redisUrl(DB);
const HELLO = join(REPO_ROOT, 'examples', 'hello-service', 'dist', 'src', 'main.js');

let redis: RedisClient;
let home: { home: string; remove(): void };

before(async () => {
  redis = await openTestRedis(DB);
  home = tempHome();
});

after(async () => {
  await stopAllChildren();
  await closeRedis(redis);
  home.remove();
});

test('cfg push, start hello-service from the stored config, see it in nodes and call it', async () => {
  assert.ok(existsSync(HELLO), `${HELLO} is built (npm run build)`);
  assert.equal((await cli(['config', 'local', '--url', URL], { home: home.home })).code, 0);

  const config = join(home.home, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      environment: 'test',
      hydra: { serviceName: 'hello-service', serviceDescription: 'says hello', serviceType: 'hello', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL } },
    }),
  );
  const pushed = await cli(['cfg', 'push', 'hello-service:0.0.2', config], { home: home.home });
  assert.equal(pushed.code, 0, pushed.stderr);

  const service = startChild([HELLO], { HYDRA_REDIS_URL: URL, HYDRA_SERVICE: 'hello-service:0.0.2', HYDRA_LOG_LEVEL: 'warn' });
  const node = await waitFor('hello-service in hydra-cli nodes', async () => {
    const nodes = await cliJson<Array<{ serviceName: string; alive: boolean; instanceID: string; processID: number; port: number }>>(['nodes'], { home: home.home });
    return nodes.find((n) => n.serviceName === 'hello-service' && n.alive);
  }, 15000).catch((err: Error) => {
    throw new Error(`${err.message}: ${service.output()}`);
  });
  assert.equal(node.processID, service.child.pid);

  const table = await cli(['nodes', '--table'], { home: home.home });
  assert.match(table.stdout, new RegExp(`^hello-service\\s+${node.instanceID}\\s+\\S+\\s+127\\.0\\.0\\.1:${node.port}\\s.*\\s+up$`, 'm'));

  const called = await cli(['rest', 'hello-service:[get]/v1/hello/test'], { home: home.home });
  assert.equal(called.code, 0, called.stderr);
  assert.equal((JSON.parse(called.stdout) as { result: { msg: string } }).result.msg, `hello from hello-service - ${node.instanceID}`);
});
