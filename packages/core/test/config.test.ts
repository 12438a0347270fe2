import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { loadConfig, putStoredConfig, getStoredConfig, listStoredConfigs, removeStoredConfig, redisUrlFromEnv, Hydra, HydraError, DEFAULT_REDIS_URL, MAX_JSON_FILE_BYTES, keys } from '../src/index.js';
import { freshDb, redisUrl, quietLogger } from './helpers.js';
import { freePort } from '@hydra-ts/testing';

const DB = 1;
const dir = mkdtempSync(join(tmpdir(), 'hydra-ts-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const isConfigError = (pattern: RegExp) => (err: unknown) => err instanceof HydraError && pattern.test(err.message);

test('an object gets Hydra\'s defaults', async () => {
  const doc = await loadConfig({ hydra: { serviceName: 'hello-service' } }, { env: {} });
  assert.equal(doc.hydra.serviceName, 'hello-service');
  assert.equal(doc.hydra.servicePort, 0);
  assert.equal(doc.hydra.serviceIP, '');
  assert.deepEqual(doc.hydra.redis, { url: DEFAULT_REDIS_URL });
});

test('a service name with capitals is refused naming the field, or lower-cased as Hydra does when asked', async () => {
  await assert.rejects(
    loadConfig({ hydra: { serviceName: 'Inventory' } }, { env: {} }),
    (err: unknown) => err instanceof HydraError && err.code === 'INVALID_SERVICE_NAME' && /config field hydra\.serviceName "Inventory" has capitals: service names are lower case \("inventory"\)/.test(err.message),
  );
  await assert.rejects(loadConfig({ hydra: { serviceName: 'x' } }, { env: { HYDRA_SERVICE: 'serviceName=Inventory' } }), /hydra\.serviceName "Inventory" has capitals/);
  const compat = await loadConfig({ hydra: { serviceName: 'Inventory' } }, { env: {}, lowerCaseServiceName: true });
  assert.equal(compat.hydra.serviceName, 'inventory');
  await assert.rejects(loadConfig({ hydra: { serviceName: 'In ventory' } }, { env: {}, lowerCaseServiceName: true }), /"in ventory" is not a valid service name/);
});

test('a JSON file is read; a broken one is refused with line and column', async () => {
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ hydra: { serviceName: 'svc', servicePort: '5001' }, custom: { a: 1 } }));
  const doc = await loadConfig(good, { env: {} });
  assert.equal(doc.hydra.servicePort, 5001);
  assert.deepEqual(doc.custom, { a: 1 });

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{\n  "hydra": {\n    "serviceName": "svc",,\n  }\n}');
  await assert.rejects(loadConfig(bad, { env: {} }), isConfigError(/bad\.json:3:26: not valid JSON \(line 3, column 26\): unexpected text at ",\\n  }\\n}"$/));
  await assert.rejects(loadConfig(join(dir, 'missing.json'), { env: {} }), isConfigError(/missing\.json: no such file$/));
});

test('HYDRA_REDIS_URL replaces hydra.redis; HYDRA_SERVICE as JSON or k=v|k=v overlays the hydra branch', async () => {
  const env = { HYDRA_REDIS_URL: 'redis://127.0.0.1:6379/3', HYDRA_SERVICE: '{"serviceIP":"127.0.0.1","servicePort":5001}' };
  const a = await loadConfig({ hydra: { serviceName: 'svc', redis: { url: 'redis://elsewhere:1/1' } } }, { env });
  assert.deepEqual(a.hydra.redis, { url: 'redis://127.0.0.1:6379/3' });
  assert.equal(a.hydra.serviceIP, '127.0.0.1');
  assert.equal(a.hydra.servicePort, 5001);

  const b = await loadConfig({ hydra: { serviceName: 'svc' } }, { env: { HYDRA_SERVICE: 'serviceName=other|servicePort=6000' } });
  assert.equal(b.hydra.serviceName, 'other');
  assert.equal(b.hydra.servicePort, 6000);

  // Merging would drop a __proto__ field without a word: it is refused by name in both forms.
  for (const HYDRA_SERVICE of ['__proto__=x|servicePort=6000', '{"__proto__":{"servicePort":1},"servicePort":6000}']) {
    await assert.rejects(loadConfig({ hydra: { serviceName: 'svc' } }, { env: { HYDRA_SERVICE } }), isConfigError(/HYDRA_SERVICE names the field "__proto__"/));
  }
});

test('HYDRA_SERVICE_IP and HYDRA_SERVICE_PORT give one instance its address over a stored config', async () => {
  const redis = await freshDb(DB);
  try {
    await putStoredConfig(redis, 'shared-svc:1.0.0', { hydra: { serviceName: 'shared-svc', serviceIP: '127.0.0.1', servicePort: 5000 } });
    const loadStored = async (_url: string, svc: string, version: string) => getStoredConfig(redis, `${svc}:${version}`);
    const port = await freePort();
    const env = { HYDRA_REDIS_URL: redisUrl(DB), HYDRA_SERVICE: 'shared-svc:1.0.0', HYDRA_SERVICE_IP: '127.0.2.3', HYDRA_SERVICE_PORT: String(port) };
    const doc = await loadConfig(undefined, { env, loadStored });
    assert.equal(doc.hydra.serviceName, 'shared-svc', 'the rest of the document is the stored one');
    assert.equal(doc.hydra.serviceIP, '127.0.2.3');
    assert.equal(doc.hydra.servicePort, port);

    const hydra = await Hydra.create(undefined, { env, logger: quietLogger() });
    const server = createServer();
    try {
      assert.equal(await hydra.listen(server), port);
      assert.deepEqual(server.address(), { address: '127.0.2.3', family: 'IPv4', port }, 'bound on its own address');
      const registered = await hydra.registerService();
      assert.deepEqual([registered.serviceIP, registered.servicePort], ['127.0.2.3', port]);
      const entry = JSON.parse((await redis.hGet('hydra:service:nodes', hydra.instanceId))!) as { ip: string; port: number };
      assert.deepEqual([entry.ip, entry.port], ['127.0.2.3', port], 'the nodes entry says where this instance is');
    } finally {
      await hydra.close();
      server.close();
    }

    const fromFile = await loadConfig({ hydra: { serviceName: 'svc', servicePort: 5000 } }, { env: { HYDRA_SERVICE: '{"servicePort":6000}', HYDRA_SERVICE_PORT: '6001' } });
    assert.equal(fromFile.hydra.servicePort, 6001, 'applied after HYDRA_SERVICE');
    await assert.rejects(loadConfig({ hydra: { serviceName: 'svc' } }, { env: { HYDRA_SERVICE_PORT: 'eighty' } }), isConfigError(/HYDRA_SERVICE_PORT must be a port number .* not "eighty"/));
  } finally {
    await redis.close();
  }
});

test('HYDRA_REDIS_URL_FILE: the URL comes from a file (a Swarm or Kubernetes secret), trimmed; a bad file is named', async () => {
  const secret = join(dir, 'hydra_redis_url');
  writeFileSync(secret, 'redis://:s3cret@127.0.0.1:6379/4\n');
  const doc = await loadConfig({ hydra: { serviceName: 'svc' } }, { env: { HYDRA_REDIS_URL_FILE: secret } });
  assert.deepEqual(doc.hydra.redis, { url: 'redis://:s3cret@127.0.0.1:6379/4' });
  assert.equal(redisUrlFromEnv({ HYDRA_REDIS_URL_FILE: secret }), 'redis://:s3cret@127.0.0.1:6379/4');
  assert.equal(redisUrlFromEnv({ HYDRA_REDIS_URL: 'redis://127.0.0.1:6379/2' }), 'redis://127.0.0.1:6379/2');
  assert.equal(redisUrlFromEnv({}), undefined);

  const svc = { hydra: { serviceName: 'svc' } };
  await assert.rejects(loadConfig(svc, { env: { HYDRA_REDIS_URL_FILE: join(dir, 'no-such-secret') } }), isConfigError(/cannot read HYDRA_REDIS_URL_FILE .*no-such-secret/));
  const empty = join(dir, 'empty-secret');
  writeFileSync(empty, '\n');
  await assert.rejects(loadConfig(svc, { env: { HYDRA_REDIS_URL_FILE: empty } }), isConfigError(/HYDRA_REDIS_URL_FILE .*empty-secret is empty/));
  // A FIFO nobody writes would hang a plain read; a device would never end.
  const fifo = join(dir, 'fifo-secret');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(loadConfig(svc, { env: { HYDRA_REDIS_URL_FILE: fifo } }), isConfigError(/cannot read HYDRA_REDIS_URL_FILE .*fifo-secret: is a FIFO \(named pipe\), not a regular file/));
  await assert.rejects(loadConfig(svc, { env: { HYDRA_REDIS_URL_FILE: '/dev/zero' } }), isConfigError(/cannot read HYDRA_REDIS_URL_FILE \/dev\/zero: is a character device/));
  await assert.rejects(loadConfig(svc, { env: { HYDRA_REDIS_URL_FILE: secret, HYDRA_REDIS_URL: 'redis://127.0.0.1:6379/2' } }), isConfigError(/both set/));
  const notUrl = join(dir, 'not-a-url');
  writeFileSync(notUrl, 'http://127.0.0.1:6379');
  await assert.rejects(loadConfig(svc, { env: { HYDRA_REDIS_URL_FILE: notUrl } }), isConfigError(/hydra\.redis\.url must start with redis:\/\//));
});

test('each wrong field is named', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{}, /hydra\.serviceName is required/],
    [{ serviceName: 'a:b' }, /hydra\.serviceName "a:b" is not a valid service name/],
    [{ serviceName: 'a*' }, /not a valid service name/],
    [{ serviceName: 'a b' }, /not a valid service name/],
    [{ serviceName: 'svc', servicePort: 70000 }, /hydra\.servicePort must be a port number/],
    [{ serviceName: 'svc', servicePort: 'x' }, /hydra\.servicePort must be a port number/],
    // Number() would take each of these for a port (1, 5000, 80, 80): none is one.
    [{ serviceName: 'svc', servicePort: true }, /hydra\.servicePort must be a port number/],
    [{ serviceName: 'svc', servicePort: [5000] }, /hydra\.servicePort must be a port number/],
    [{ serviceName: 'svc', servicePort: '0x50' }, /hydra\.servicePort must be a port number/],
    [{ serviceName: 'svc', servicePort: ' 80 ' }, /hydra\.servicePort must be a port number/],
    [{ serviceName: 'svc', serviceIP: 5 }, /hydra\.serviceIP must be a string/],
    [{ serviceName: 'svc', redis: { url: 'http://x' } }, /hydra\.redis\.url must start with redis:\/\//],
    [{ serviceName: 'svc', redis: { sentinel: { name: 'm', sentinels: [] } } }, /sentinel\.sentinels must list/],
  ];
  for (const [hydra, expected] of cases) await assert.rejects(loadConfig({ hydra: hydra as never }, { env: {} }), isConfigError(expected));
  await assert.rejects(loadConfig(undefined, { env: { HYDRA_SERVICE: 'servicePort' } }), /needs HYDRA_REDIS_URL/);
});

test('HYDRA_SERVICE=<svc>:<version> loads the whole document from Redis', async () => {
  const redis = await freshDb(DB);
  try {
    const stored = { hydra: { serviceName: 'stored-svc', servicePort: 5005, serviceIP: '127.0.0.1', redis: { url: redisUrl(DB) } }, feature: { on: true } };
    await putStoredConfig(redis, 'stored-svc:1.0.0', stored);
    assert.deepEqual(await listStoredConfigs(redis, 'stored-svc'), ['stored-svc:1.0.0']);
    assert.deepEqual(await getStoredConfig(redis, 'stored-svc:1.0.0'), stored);

    const hydra = await Hydra.create(undefined, { env: { HYDRA_REDIS_URL: redisUrl(DB), HYDRA_SERVICE: 'stored-svc:1.0.0' }, logger: quietLogger() });
    try {
      assert.equal(hydra.serviceName, 'stored-svc');
      assert.equal(hydra.config.hydra.servicePort, 5005);
      assert.deepEqual(hydra.config.feature, { on: true });
    } finally {
      await hydra.close();
    }
    const secret = join(dir, 'stored-redis-url');
    writeFileSync(secret, redisUrl(DB));
    const fromSecret = await Hydra.create(undefined, { env: { HYDRA_REDIS_URL_FILE: secret, HYDRA_SERVICE: 'stored-svc:1.0.0' }, logger: quietLogger() });
    try {
      assert.equal(fromSecret.config.hydra.servicePort, 5005, 'the stored document is found through the URL in the file');
    } finally {
      await fromSecret.close();
    }
    await assert.rejects(
      Hydra.create(undefined, { env: { HYDRA_REDIS_URL: redisUrl(DB), HYDRA_SERVICE: 'stored-svc:9.9.9' }, logger: quietLogger() }),
      isConfigError(/no stored config stored-svc:9\.9\.9/),
    );
    await assert.rejects(putStoredConfig(redis, 'stored-svc:2.0.0', { nothydra: {} }), isConfigError(/missing the "hydra" object/));
    await assert.rejects(putStoredConfig(redis, 'bad-label', stored), isConfigError(/not in the form <service>:<version>/));
    assert.deepEqual(await listStoredConfigs(redis, 'stored-svc'), ['stored-svc:1.0.0'], 'refusals wrote nothing');
    assert.equal(await removeStoredConfig(redis, 'stored-svc:1.0.0'), true);
    assert.equal(await getStoredConfig(redis, 'stored-svc:1.0.0'), null);
  } finally {
    await redis.close();
  }
});

test('a config over MAX_JSON_FILE_BYTES is neither stored nor loaded (one stored before the limit is refused by size, unread)', async () => {
  const redis = await freshDb(DB);
  try {
    const big = { hydra: { serviceName: 'big-svc', redis: { url: redisUrl(DB) } }, pad: 'x'.repeat(MAX_JSON_FILE_BYTES) };
    await assert.rejects(putStoredConfig(redis, 'big-svc:1.0.0', big), isConfigError(new RegExp(`config big-svc:1\\.0\\.0 is ${JSON.stringify(big).length} bytes as JSON, more than the ${MAX_JSON_FILE_BYTES} bytes`)));
    assert.equal(await redis.exists(keys.configs('big-svc')), 0);
    await redis.hSet(keys.configs('big-svc'), '1.0.0', JSON.stringify(big));
    const tooBig = isConfigError(/stored config big-svc:1\.0\.0 is \d+ bytes, more than the 1048576 bytes .*hydra-cli cfg remove big-svc:1\.0\.0/);
    await assert.rejects(getStoredConfig(redis, 'big-svc:1.0.0'), tooBig);
    await assert.rejects(Hydra.create(undefined, { env: { HYDRA_REDIS_URL: redisUrl(DB), HYDRA_SERVICE: 'big-svc:1.0.0' }, logger: quietLogger() }), tooBig);
  } finally {
    await redis.close();
  }
});

test('without serviceVersion a service registers what Hydra does: its package.json version, else "unspecified"', async () => {
  const redis = await freshDb(DB);
  try {
    const core = join(__dirname, '..', 'src', 'index.js');
    // Like `node hello-service.js` run in its package (Hydra reads package.json beside the main script).
    const register = (name: string, withPackage: boolean): string => {
      const app = join(dir, name);
      mkdirSync(app);
      if (withPackage) writeFileSync(join(app, 'package.json'), JSON.stringify({ name, version: '4.5.6' }));
      writeFileSync(
        join(app, 'main.js'),
        `const { Hydra } = require(${JSON.stringify(core)});
        Hydra.create({ hydra: { serviceName: ${JSON.stringify(name)}, serviceIP: '127.0.0.1', redis: { url: ${JSON.stringify(redisUrl(DB))} } } }, { env: {}, logger: require(${JSON.stringify(require.resolve('pino'))})({ level: 'silent' }) })
          .then(async (h) => { await h.registerService(); console.log(h.config.hydra.serviceVersion); await h.close(); });`,
      );
      return execFileSync(process.execPath, [join(app, 'main.js')], { encoding: 'utf8', timeout: 20_000, cwd: join(__dirname, '..', '..') }).trim();
    };
    assert.equal(register('packaged-svc', true), '4.5.6');
    assert.equal(register('bare-svc', false), 'unspecified');
    const versions = Object.values(await redis.hGetAll('hydra:service:nodes')).map((v) => JSON.parse(v) as { serviceName: string; version: string });
    assert.deepEqual(versions.map((v) => [v.serviceName, v.version]).sort(), [['bare-svc', 'unspecified'], ['packaged-svc', '4.5.6']]);
  } finally {
    await redis.close();
  }
});
