/**
 * cfg push / pull / list / remove against real Redis (database 11), every
 * refusal (which must write nothing), and interop: what we push is what the
 * published hydra@1.9.3 loads with HYDRA_SERVICE=<svc>:<version>, and what it
 * stores we pull.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, symlinkSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Hydra, type RedisClient } from '@hydra-ts/core';
import { cli, cliJson, closeRedis, openTestRedis, redisUrl, tempHome, startChild, stopAllChildren, waitFor, silentLogger } from './helpers.js';

const DB = 11;
const URL = redisUrl(DB);
let redis: RedisClient;
let home: { home: string; remove(): void };

const helloConfig = {
  hydra: {
    serviceName: 'hello-service',
    serviceDescription: 'says hello',
    serviceType: 'hello',
    serviceIP: '127.0.0.1',
    servicePort: 0,
    redis: { url: URL },
  },
  greeting: { text: 'hi there' },
};

function file(name: string, text: string): string {
  const path = join(home.home, name);
  writeFileSync(path, text);
  return path;
}

const run = (args: string[]) => cli(args, { home: home.home, env: { HYDRA_REDIS_URL: URL } });
const runJson = <T>(args: string[]) => cliJson<T>(args, { home: home.home, env: { HYDRA_REDIS_URL: URL } });

before(async () => {
  redis = await openTestRedis(DB);
  home = tempHome();
});

after(async () => {
  await stopAllChildren();
  await closeRedis(redis);
  home.remove();
});

test('push stores the document under hydra:service:<svc>:configs, pull prints it back', async () => {
  const path = file('config.json', JSON.stringify(helloConfig, null, 2));
  const pushed = await runJson<{ label: string; key: string; field: string }>(['cfg', 'push', 'hello-service:0.0.2', path]);
  assert.deepEqual({ label: pushed.label, key: pushed.key, field: pushed.field }, { label: 'hello-service:0.0.2', key: 'hydra:service:hello-service:configs', field: '0.0.2' });
  assert.deepEqual(JSON.parse((await redis.hGet('hydra:service:hello-service:configs', '0.0.2'))!), helloConfig);

  const pulled = await run(['cfg', 'pull', 'hello-service:0.0.2']);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.deepEqual(JSON.parse(pulled.stdout), helloConfig);
  // pull prints JSON in table mode too, so `cfg pull x > config.json` works on a terminal.
  assert.deepEqual(JSON.parse((await run(['cfg', 'pull', 'hello-service:0.0.2', '--table'])).stdout), helloConfig);
});

test('list shows every stored version, sorted; remove deletes one', async () => {
  const path = file('v.json', JSON.stringify(helloConfig));
  for (const v of ['0.0.3', '0.0.1']) assert.equal((await run(['cfg', 'push', `hello-service:${v}`, path])).code, 0);
  assert.deepEqual(await runJson<string[]>(['cfg', 'list', 'hello-service']), ['hello-service:0.0.1', 'hello-service:0.0.2', 'hello-service:0.0.3']);
  assert.equal((await run(['cfg', 'list', 'hello-service', '--table'])).stdout, 'hello-service:0.0.1\nhello-service:0.0.2\nhello-service:0.0.3\n');

  const removed = await run(['cfg', 'remove', 'hello-service:0.0.1']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(await redis.hExists('hydra:service:hello-service:configs', '0.0.1'), 0);
  assert.deepEqual(await runJson<string[]>(['cfg', 'list', 'hello-service']), ['hello-service:0.0.2', 'hello-service:0.0.3']);

  const again = await run(['cfg', 'remove', 'hello-service:0.0.1']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no stored config hello-service:0\.0\.1; nothing removed/);
  assert.deepEqual(await runJson<string[]>(['cfg', 'list', 'nothing-here']), []);
});

test('pull of a version that is not stored fails and says how to list them', async () => {
  const r = await run(['cfg', 'pull', 'hello-service:9.9.9']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `hydra-cli: no stored config hello-service:9.9.9 in ${redisUrl(DB)}; see: hydra-cli cfg list hello-service\n`);
});

/** Each refusal: exit 1, one line naming the problem, and nothing written to Redis. */
async function assertRefused(args: string[], problem: RegExp): Promise<void> {
  const before = await redis.dbSize();
  const r = await run(args);
  assert.equal(r.code, 1, `${args.join(' ')} should fail: ${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, problem);
  assert.equal(await redis.exists('hydra:service:refused:configs'), 0);
  assert.equal(await redis.dbSize(), before);
}

test('a file that is not JSON is refused with its path, line and column', async () => {
  const path = file('broken.json', '{\n  "hydra": {\n    "serviceName": "refused",\n    "servicePort": 5000,\n  }\n}\n');
  await assertRefused(['cfg', 'push', 'refused:1.0.0', path], new RegExp(`${path.replace(/\./g, '\\.')}:5:3: not valid JSON \\(line 5, column 3\\).*nothing was written`));
});

test('a file cut short is refused at its end', async () => {
  const path = file('short.json', '{\n  "hydra": {\n    "serviceName": "refused"');
  await assertRefused(['cfg', 'push', 'refused:1.0.0', path], /short\.json:3:29: not valid JSON.*nothing was written/);
});

test('push reads a regular file (a symlink to one too) of at most 1 MiB; a FIFO, a device, a directory and a larger file are refused unread', async () => {
  const target = file('target.json', JSON.stringify({ hydra: { serviceName: 'linked' } }));
  const link = join(home.home, 'link.json');
  symlinkSync(target, link);
  assert.equal((await run(['cfg', 'push', 'linked:1.0.0', link])).code, 0);
  await redis.del('hydra:service:linked:configs');

  // Nobody writes to the FIFO and /dev/zero never ends: reading either would hang or fill memory.
  const fifo = join(home.home, 'fifo.json');
  execFileSync('mkfifo', [fifo]);
  await assertRefused(['cfg', 'push', 'refused:1.0.0', fifo], /fifo\.json: is a FIFO \(named pipe\), not a regular file; nothing was written$/);
  const zero = join(home.home, 'zero.json');
  symlinkSync('/dev/zero', zero);
  await assertRefused(['cfg', 'push', 'refused:1.0.0', zero], /zero\.json: is a character device, not a regular file; nothing was written$/);
  await assertRefused(['cfg', 'push', 'refused:1.0.0', home.home], /: is a directory, not a regular file; nothing was written$/);
  const big = file('big.json', JSON.stringify({ hydra: { serviceName: 'refused' }, pad: 'x'.repeat(2 * 1024 * 1024) }));
  await assertRefused(['cfg', 'push', 'refused:1.0.0', big], new RegExp(`big\\.json: is ${statSync(big).size} bytes, more than the 1048576 bytes \\(MAX_JSON_FILE_BYTES\\) a JSON file may have; nothing was written$`));
});

test("a syntax error shows its position and an escaped excerpt of at most 40 characters; the file's control characters never reach the terminal", async () => {
  const path = file('escapes.json', `{"hydra": \x1b[31mRED\x1b[0m\x07 \u009b2J${'y'.repeat(5000)}\n`);
  const r = await run(['cfg', 'push', 'refused:1.0.0', path]);
  assert.equal(r.code, 1);
  const excerpt = '"\\u001b[31mRED\\u001b[0m\\u0007 \\u009b2Jy"';
  assert.ok(excerpt.length <= 40);
  assert.equal(r.stderr, `hydra-cli: ${path}:1:11: not valid JSON (line 1, column 11): unexpected text at ${excerpt}; nothing was written\n`);
  assert.doesNotMatch(r.stderr, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, 'no control character but the final newline');
});

test('a document without hydra.serviceName is refused naming the missing field', async () => {
  const noName = file('noname.json', JSON.stringify({ hydra: { servicePort: 5000 } }));
  await assertRefused(['cfg', 'push', 'refused:1.0.0', noName], /noname\.json is missing hydra\.serviceName; nothing was written/);
  const noHydra = file('nohydra.json', JSON.stringify({ serviceName: 'refused' }));
  await assertRefused(['cfg', 'push', 'refused:1.0.0', noHydra], /nohydra\.json is missing the "hydra" object; nothing was written/);
  const array = file('array.json', '[1, 2]');
  await assertRefused(['cfg', 'push', 'refused:1.0.0', array], /array\.json must be a JSON object; nothing was written/);
  const badName = file('badname.json', JSON.stringify({ hydra: { serviceName: 'has space' } }));
  await assertRefused(['cfg', 'push', 'refused:1.0.0', badName], /is not a valid service name.*nothing was written/);
});

test('a missing file and a malformed label are refused', async () => {
  await assertRefused(['cfg', 'push', 'refused:1.0.0', join(home.home, 'absent.json')], /absent\.json: no such file/);
  const path = file('ok.json', JSON.stringify({ hydra: { serviceName: 'refused' } }));
  await assertRefused(['cfg', 'push', 'refused', path], /config label "refused" is not in the form <service>:<version>/);
  await assertRefused(['cfg', 'push', 'a:b:c', path], /config label "a:b:c" is not in the form/);
});

test('a configs key of another type than a hash is named by list, pull, push and remove (not a bare WRONGTYPE)', async () => {
  const key = 'hydra:service:wrongtype:configs';
  await redis.set(key, 'str');
  try {
    const path = file('wrongtype.json', JSON.stringify({ hydra: { serviceName: 'wrongtype' } }));
    for (const args of [['cfg', 'list', 'wrongtype'], ['cfg', 'pull', 'wrongtype:1.0.0'], ['cfg', 'push', 'wrongtype:1.0.0', path], ['cfg', 'remove', 'wrongtype:1.0.0']]) {
      const r = await run(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stderr, `hydra-cli: Redis key ${key} is a string, not a hash: it was not written by hydra-ts or Hydra; delete or repair it\n`, args.join(' '));
    }
    assert.equal(await redis.get(key), 'str', 'left as it was');
  } finally {
    await redis.del(key);
  }
});

test('a label naming another service than the document is pushed with a warning', async () => {
  const path = file('other.json', JSON.stringify({ hydra: { serviceName: 'other-service' } }));
  const r = await run(['cfg', 'push', 'mismatch:1.0.0', path]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .*other\.json names hydra\.serviceName "other-service", the label names "mismatch"/);
  assert.equal(await redis.hExists('hydra:service:mismatch:configs', '1.0.0'), 1);
});

test('hydra@1.9.3 starts with the config we pushed, and we pull what it stores', async () => {
  const config = {
    hydra: { serviceName: 'legacy-svc', serviceDescription: 'pushed by hydra-cli', serviceType: 'legacy', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: URL } },
    legacy: { answer: 42 },
  };
  assert.equal((await run(['cfg', 'push', 'legacy-svc:1.0.0', file('legacy.json', JSON.stringify(config))])).code, 0);

  // Hydra insists on a serviceName before it will load a stored config; the stored one replaces it.
  const script = `
    const hydra = require('hydra');
    hydra.init({ hydra: { serviceName: 'placeholder', servicePort: 0 } })
      .then((cfg) => hydra.registerService().then((reg) => {
        console.log('LOADED ' + JSON.stringify({ cfg, reg }));
        return hydra.putConfig('legacy-svc:2.0.0', { hydra: { serviceName: 'legacy-svc', servicePort: 7000 }, from: 'hydra' });
      }))
      .then(() => console.log('STORED'))
      .catch((err) => { console.log('FAILED ' + err.message); process.exit(1); });
    process.on('SIGTERM', () => hydra.shutdown().then(() => process.exit(0)));`;
  const child = startChild(['-e', script], { HYDRA_REDIS_URL: URL, HYDRA_SERVICE: 'legacy-svc:1.0.0' });
  await waitFor('hydra to start and store a config', () => child.lines.includes('STORED') || child.lines.some((l) => l.startsWith('FAILED')), 15000).catch((err: Error) => {
    throw new Error(`${err.message}: ${child.output()}`);
  });
  const loaded = JSON.parse(child.lines.find((l) => l.startsWith('LOADED '))!.slice(7)) as { cfg: { legacy: unknown; hydra: { serviceType: string } }; reg: { serviceName: string; servicePort: number } };
  assert.equal(loaded.reg.serviceName, 'legacy-svc');
  assert.deepEqual(loaded.cfg.legacy, { answer: 42 });
  assert.equal(loaded.cfg.hydra.serviceType, 'legacy');
  const nodes = await runJson<Array<{ serviceName: string; port: number; alive: boolean }>>(['nodes', 'legacy-svc']);
  assert.deepEqual(nodes.map((n) => [n.serviceName, n.port, n.alive]), [['legacy-svc', loaded.reg.servicePort, true]]);

  assert.deepEqual(JSON.parse((await run(['cfg', 'pull', 'legacy-svc:2.0.0'])).stdout), { hydra: { serviceName: 'legacy-svc', servicePort: 7000 }, from: 'hydra' });
  assert.deepEqual(await runJson<string[]>(['cfg', 'list', 'legacy-svc']), ['legacy-svc:1.0.0', 'legacy-svc:2.0.0']);
});

test('a hydra-ts service started with HYDRA_SERVICE=<svc>:<version> loads what we pushed', async () => {
  const path = file('ts.json', JSON.stringify({ ...helloConfig, hydra: { ...helloConfig.hydra, serviceName: 'ts-service', serviceVersion: '3.1.0' } }));
  assert.equal((await run(['cfg', 'push', 'ts-service:3.1.0', path])).code, 0);
  const hydra = await Hydra.create(undefined, { env: { HYDRA_REDIS_URL: URL, HYDRA_SERVICE: 'ts-service:3.1.0' }, logger: silentLogger() });
  try {
    assert.equal(hydra.serviceName, 'ts-service');
    assert.equal(hydra.config.hydra.serviceVersion, '3.1.0');
    assert.deepEqual(hydra.config.greeting, { text: 'hi there' });
  } finally {
    await hydra.close();
  }
});
