/**
 * Test mode, `hydra.init(config, true)`: no Redis is reached (the config names a
 * port nothing listens on), yet the instance registers, sees itself, messages
 * itself, queues, stores configs and calls its own HTTP port. And the entry
 * points: `require('@hydra-ts/hydra')` and an ESM default import are the one instance.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, quietLogger, waitFor } from '@hydra-ts/testing';
import { Hydra } from '../src/hydra.js';

const hydra = new Hydra({ logger: quietLogger() });
after(() => hydra.shutdown());

test('test mode runs the API without a Redis server', async () => {
  const deadPort = await freePort();
  const messages: Array<Record<string, any>> = [];
  hydra.on('message', (m: Record<string, any>) => {
    messages.push(m);
    if (m.typ === 'ping') void hydra.sendReplyMessage(m, { typ: 'pong', bdy: { ok: true } });
  });
  const config = await hydra.init({ hydra: { serviceName: 'solo-svc', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: `redis://127.0.0.1:${deadPort}/15` } } }, true);
  assert.equal(config.hydra.serviceName, 'solo-svc');
  assert.equal(hydra.testMode, true);
  const info = await hydra.registerService();
  assert.equal(info.serviceName, 'solo-svc');

  const presence = await hydra.getServicePresence('solo-svc');
  assert.deepEqual(presence.map((p) => p.instanceID), [hydra.getInstanceID()]);
  assert.deepEqual(await hydra.getServicePresence('other-svc'), []);
  assert.deepEqual((await hydra.getServices()).map((s) => s.serviceName), ['solo-svc']);

  const ping = hydra.createUMFMessage({ to: 'solo-svc:/', from: 'solo-svc:/', typ: 'ping', bdy: { n: 1 } });
  assert.equal(await hydra.sendMessage(ping), undefined);
  await waitFor('the pong', () => messages.some((m) => m.rmid === ping.mid));
  assert.deepEqual(messages.map((m) => m.typ), ['ping', 'pong']);
  assert.equal((await hydra.sendMessage({ to: 'other-svc:/', from: 'solo-svc:/', body: {} }))?.statusCode, 503);

  await hydra.queueMessage({ to: 'solo-svc:/', from: 'solo-svc:/', body: { job: 1 } });
  const job = (await hydra.getQueuedMessage('solo-svc'))!;
  assert.deepEqual(job.bdy, { job: 1 });
  assert.equal(await hydra.markQueueMessage(job, false, 'later'), 1);
  assert.equal(await hydra.getQueuedMessage('solo-svc'), null);

  await hydra.putConfig('solo-svc:1.0.0', { hydra: { serviceName: 'solo-svc' } });
  assert.deepEqual(await hydra.listConfig('solo-svc'), ['solo-svc:1.0.0']);
  assert.deepEqual(await hydra.getConfig('solo-svc:1.0.0'), { hydra: { serviceName: 'solo-svc' } });

  await hydra.registerRoutes(['[get]/v1/solo/hi']);
  assert.deepEqual((await hydra.getAllServiceRoutes())['solo-svc'], ['[get]/solo-svc', '[get]/solo-svc/', '[get]/solo-svc/:rest', '[get]/v1/solo/hi']);

  hydra.sendToHealthLog('info', 'solo log');
  assert.equal((await hydra.getServiceHealthLog('solo-svc'))[0]!.msg, 'solo log');

  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ result: { hi: 'there' } }));
  });
  await new Promise<void>((resolve) => server.listen(hydra.config!.servicePort, '127.0.0.1', resolve));
  try {
    const answer = await hydra.makeAPIRequest({ to: 'solo-svc:[get]/v1/solo/hi', from: 'solo-svc:/', body: {} });
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(answer.result, { hi: 'there' });
  } finally {
    server.close();
  }
  assert.throws(() => hydra.getClonedRedisClient(), /needs a Redis server/);
});

test('require() and an ESM default import both give the one shared Hydra instance', () => {
  const pkg = join(__dirname, '..', '..');
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `import hydra from '@hydra-ts/hydra'; import { createRequire } from 'node:module'; const require = createRequire('${pkg}/'); const again = require('@hydra-ts/hydra'); const Plugin = require('@hydra-ts/hydra/plugin'); console.log(JSON.stringify({ same: hydra === again, init: typeof hydra.init, id: hydra.getInstanceID(), plugin: typeof Plugin, helper: typeof require('@hydra-ts/hydra/lib/utils').safeJSONParse }));`],
    { cwd: pkg, encoding: 'utf8' },
  );
  assert.deepEqual(JSON.parse(out), { same: true, init: 'function', id: 'not set', plugin: 'function', helper: 'function' });
});

test('two installed copies of the package (an npm alias beside @hydra-ts/hydra-express\'s own dependency) hand out the one instance', () => {
  const pkg = join(__dirname, '..', '..');
  const copy = mkdtempSync(join(tmpdir(), 'hydra-compat-copy-'));
  try {
    cpSync(join(pkg, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(pkg, 'package.json'), join(copy, 'package.json'));
    const out = execFileSync(process.execPath, ['-e', `const a = require(${JSON.stringify(pkg)}); const b = require(${JSON.stringify(copy)}); console.log(JSON.stringify({ twoFiles: require.resolve(${JSON.stringify(pkg)}) !== require.resolve(${JSON.stringify(copy)}), same: a === b }));`], {
      encoding: 'utf8',
      // The copy finds its dependencies where an installed one would: in a node_modules up the tree.
      env: { ...process.env, NODE_PATH: join(pkg, '..', '..', 'node_modules') },
    });
    assert.deepEqual(JSON.parse(out), { twoFiles: true, same: true });
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
