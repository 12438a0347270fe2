/**
 * hydra-express's API in this process, each test on a HydraExpress and a Hydra of
 * its own on Redis database 9 (test mode where it says so): init's argument forms
 * and refusals, both registerRoutes forms, plugins, shutdown.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from 'redis';
import express from 'express';
import { keys } from '@hydra-ts/core';
import { redisUrl, quietLogger } from '@hydra-ts/testing';
import { Hydra } from '@hydra-ts/hydra/hydra';
import { HydraExpress } from '../src/hydra-express.js';
import HydraExpressPlugin = require('../src/plugin.js');

const DB = 9;
const redis = createClient({ url: redisUrl(DB) });
const config = (serviceName: string, extra: Record<string, unknown> = {}) => ({
  hydra: { serviceName, serviceDescription: 'test', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(DB) } },
  ...extra,
});
const silent = { fatal() {}, error() {}, debug() {}, info() {} };
const running: HydraExpress[] = [];

function make(): HydraExpress {
  const he = new HydraExpress({ hydra: new Hydra({ logger: quietLogger() }), handleProcessEvents: false });
  he.appLogger = silent;
  running.push(he);
  return he;
}

function router(): express.Router {
  const r = express.Router();
  r.get('/:id', (req, res) => res.json({ id: req.params.id }));
  r.post('/', (req, res) => res.json({ got: req.body }));
  return r;
}

before(async () => {
  await redis.connect();
  await redis.flushDb();
});
after(async () => {
  await Promise.allSettled(running.map((he) => he.shutdown()));
  await redis.close();
});

test('init refuses what hydra-express refused, naming it', async () => {
  const he = make();
  await assert.rejects(he.init({}, '1.0.0', () => {}), /Config missing hydra block/);
  await assert.rejects(he.init({ hydra: { serviceName: 'x-svc', serviceDescription: 'x' } }, '1.0.0', () => {}), /Config missing redis block/);
  await assert.rejects(he.init({ hydra: { serviceName: 'x-svc', redis: { url: redisUrl(DB) } } }, '1.0.0', () => {}), /Config missing fields: hydra.serviceDescription/);
  await assert.rejects(he.init(config('x-svc'), '1.0.0'), /Config missing registerRoutesCallback parameter/);
  await assert.rejects(he.init('/nonexistent/config.json', () => {}), /Unable to load config from \/nonexistent\/config.json/);
});

test('both registerRoutes forms publish method-tagged routes and mount the routers; the version may be left out', async () => {
  const he = make();
  const info = await he.init(config('routes-svc'), () => {
    he.registerRoutes({ '/v1/things': router() });
    he.registerRoutes('/v2/things', router());
  });
  const routes = (await redis.sMembers(keys.routes('routes-svc'))).sort();
  assert.deepEqual(routes, ['[get]/routes-svc', '[get]/routes-svc/', '[get]/routes-svc/:rest', '[get]/v1/things/:id', '[get]/v2/things/:id', '[post]/v1/things/', '[post]/v2/things/'].sort());
  const res = await fetch(`http://127.0.0.1:${info.servicePort}/v2/things/7`);
  assert.deepEqual(await res.json(), { id: '7' });
  assert.throws(() => he.registerRoutes({ '/v3': {} as express.Router }), /not an Express router/);
});

test('plugins get the HydraExpress, the whole config, then onServiceReady once the service is up', async () => {
  const seen: string[] = [];
  class Probe extends HydraExpressPlugin {
    constructor() {
      super('probe');
    }
    override setConfig(serviceConfig: Record<string, any>) {
      super.setConfig(serviceConfig);
      seen.push(`config ${serviceConfig.custom} ${this.opts.level}`);
      return undefined;
    }
    override onServiceReady() {
      seen.push(`ready ${this.hydraExpress!.getHydra().getServiceName()}`);
      return undefined;
    }
  }
  const he = make();
  const probe = new Probe();
  await he.use(probe);
  assert.equal(probe.hydraExpress, he);
  assert.equal(probe.hydra, he.getHydra());
  const cfg = config('plugin-svc', { custom: 'mine' });
  (cfg.hydra as Record<string, unknown>).plugins = { probe: { level: 2 } };
  await he.init(cfg, '2.0.0', () => {});
  assert.deepEqual(seen, ['config mine 2', 'ready plugin-svc']);
  assert.equal(he.getRuntimeConfig().custom, 'mine');
  assert.equal(he.getHydra().getInstanceVersion(), '2.0.0');
});

test('test mode (config.testMode) needs no Redis block and no Redis', async () => {
  const he = make();
  const info = await he.init({ testMode: true, hydra: { serviceName: 'offline-svc', serviceDescription: 'offline', serviceIP: '127.0.0.1' } }, '1.0.0', () => he.registerRoutes({ '/v1/off': router() }));
  assert.equal(he.testMode, true);
  const res = await fetch(`http://127.0.0.1:${info.servicePort}/v1/off/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' });
  assert.deepEqual(await res.json(), { got: { x: 1 } });
  assert.equal(await redis.exists(keys.service('offline-svc')), 0, 'nothing written to Redis');
});

test('shutdown closes the port and removes presence; sendResponse writes the envelope', async () => {
  const he = make();
  const info = await he.init(config('stop-svc'), '1.0.0', () => {
    const r = express.Router();
    r.get('/', (_req, res) => he.sendResponse(201, res, { result: { made: true } }));
    he.registerRoutes({ '/v1/stop': r });
  });
  const made = await fetch(`http://127.0.0.1:${info.servicePort}/v1/stop/`);
  assert.equal(made.status, 201);
  assert.deepEqual(await made.json(), { statusCode: 201, statusMessage: 'Created', statusDescription: 'Resource created', result: { made: true } });
  const id = he.getHydra().getInstanceID();
  await he.shutdown();
  assert.equal(await redis.exists(keys.presence('stop-svc', id)), 0);
  await assert.rejects(fetch(`http://127.0.0.1:${info.servicePort}/v1/stop/`));
});

test('a handler that throws or rejects answers {code: 500} and the service goes on', async () => {
  const he = make();
  const info = await he.init(config('faulty-svc'), '1.0.0', () => {
    const r = express.Router();
    r.get('/throw', () => {
      throw new Error('sync failure');
    });
    r.get('/reject', async () => {
      throw new Error('async failure');
    });
    r.get('/ok', (_req, res) => res.json({ ok: true }));
    he.registerRoutes({ '/v1/faulty': r });
  });
  const at = (p: string) => fetch(`http://127.0.0.1:${info.servicePort}/v1/faulty${p}`);
  for (const p of ['/throw', '/reject']) {
    const res = await at(p);
    assert.deepEqual([res.status, await res.json()], [500, { code: 500 }], p);
  }
  assert.deepEqual(await (await at('/ok')).json(), { ok: true });
});

test('a servicePort in use fails init, naming the port, and leaves nothing registered', async () => {
  const blocker = make();
  const taken = await blocker.init(config('blocker-svc'), '1.0.0', () => {});
  const he = make();
  const cfg = config('second-svc');
  cfg.hydra.servicePort = taken.servicePort;
  await assert.rejects(he.init(cfg, '1.0.0', () => {}), new RegExp(`cannot listen on hydra.servicePort ${taken.servicePort}: .*EADDRINUSE`));
  assert.deepEqual(await redis.keys('hydra:service:second-svc:*'), []);
});

test('require() and an ESM default import give the one HydraExpress, on the Hydra require(\'@hydra-ts/hydra\') gives', () => {
  const pkg = join(__dirname, '..', '..');
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `import he from '@hydra-ts/hydra-express'; import { createRequire } from 'node:module'; const require = createRequire('${pkg}/'); console.log(JSON.stringify({ same: he === require('@hydra-ts/hydra-express'), hydra: he.getHydra() === require('@hydra-ts/hydra'), plugin: typeof require('@hydra-ts/hydra-express/plugin').prototype.setHydraExpress }));`],
    { cwd: pkg, encoding: 'utf8' },
  );
  assert.deepEqual(JSON.parse(out), { same: true, hydra: true, plugin: 'function' });
});
