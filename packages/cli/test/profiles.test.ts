/**
 * Connection profiles in hydra-cli's ~/.hydra-cli format, choosing the Redis
 * for a run, and what happens when that Redis does not answer.
 * Redis database 11 (and 12, as "the other" Redis a profile can point at).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { cli, cliJson, closeRedis, openTestRedis, redisUrl, tempHome, DEAD_REDIS, BIN } from './helpers.js';
import type { RedisClient } from '@hydra-ts/core';
import { sharedRedisPort } from '@hydra-ts/testing';

const DB = 11;
const OTHER_DB = 12;
let redis: RedisClient;
let other: RedisClient;
const homes: Array<{ remove(): void }> = [];

function home(): string {
  const h = tempHome();
  homes.push(h);
  return h.home;
}

function profileFile(h: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(h, '.hydra-cli'), 'utf8')) as Record<string, unknown>;
}

/** A service key, so `services` shows which database a run talked to. */
async function markDatabase(client: RedisClient, name: string): Promise<void> {
  await client.set(`hydra:service:${name}:service`, JSON.stringify({ serviceName: name, type: 'marker', registeredOn: new Date().toISOString() }));
}

before(async () => {
  redis = await openTestRedis(DB);
  other = await openTestRedis(OTHER_DB);
  await markDatabase(redis, 'in-db-eleven');
  await markDatabase(other, 'in-db-twelve');
});

after(async () => {
  await closeRedis(redis);
  await closeRedis(other);
  homes.forEach((h) => h.remove());
});

test('config <name> --url writes the profile in hydra-cli format and makes it active', async () => {
  const h = home();
  const r = await cli(['config', 'local', '--url', redisUrl(DB)], { home: h });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(profileFile(h), {
    version: 2,
    local: { redisUrl: '127.0.0.1', redisPort: String(sharedRedisPort()), redisDb: '11' },
    redisUrl: '127.0.0.1',
    redisPort: String(sharedRedisPort()),
    redisDb: '11',
  });
  const services = await cliJson<Array<{ serviceName: string }>>(['services'], { home: h });
  assert.deepEqual(services.map((s) => s.serviceName), ['in-db-eleven']);
});

test('config --host/--port/--db/--password; the file is private and listings mask the password', async () => {
  const h = home();
  const r = await cli(['config', 'secure', '--host', '127.0.0.1', '--port', '6379', '--db', '12', '--password', 's3cret'], { home: h });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((profileFile(h).secure as Record<string, unknown>).redisPassword, 's3cret');
  assert.equal(statSync(join(h, '.hydra-cli')).mode & 0o777, 0o600);
  const list = await cliJson<{ active: string; profiles: Record<string, Record<string, string>> }>(['config', 'list'], { home: h });
  assert.equal(list.active, 'secure');
  assert.equal(list.profiles.secure!.redisPassword, '***');
  assert.equal(list.profiles.secure!.url, 'redis://:***@127.0.0.1:6379/12');
  assert.doesNotMatch(JSON.stringify(list), /s3cret/);
});

test('config on a terminal asks hydra-cli\'s questions and does not echo the password', async () => {
  const h = home();
  // `script` gives the CLI a pseudo-terminal as stdin; the answers are typed into it.
  const child = spawn('script', ['-qec', `${process.execPath} ${BIN} config asked`, '/dev/null'], { env: { PATH: process.env.PATH, HOME: h }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let typedPassword = false;
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
    // The password is typed only once its question is up: the terminal is then in raw mode and only the CLI could echo it.
    if (!typedPassword && output.includes('redisPassword')) {
      typedPassword = true;
      child.stdin.end('s3cret\n');
    }
  });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.once('close', (c) => (clearTimeout(timer), resolve(c)));
    child.stdin.write('127.0.0.1\n6379\n11\n');
  });
  assert.equal(code, 0, output);
  for (const question of ['redisUrl', 'redisPort', 'redisDb', 'redisPassword']) assert.match(output, new RegExp(question));
  assert.doesNotMatch(output, /s3cret/);
  assert.deepEqual(profileFile(h).asked, { redisUrl: '127.0.0.1', redisPort: '6379', redisDb: '11', redisPassword: 's3cret' });
});

test('config with some flags changes only those fields of an existing profile', async () => {
  const h = home();
  await cli(['config', 'local', '--url', `redis://:pw@127.0.0.1:6379/${DB}`], { home: h });
  const r = await cli(['config', 'local', '--db', String(OTHER_DB)], { home: h });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(profileFile(h).local, { redisUrl: '127.0.0.1', redisPort: '6379', redisDb: '12', redisPassword: 'pw' });
  const fresh = await cli(['config', 'other', '--db', '3'], { home: h });
  assert.equal(fresh.code, 1);
  assert.match(fresh.stderr, /give --url <redis-url> or --host <host>/);
});

test('config without flags when stdin is not a terminal is refused and writes nothing', async () => {
  const h = home();
  const r = await cli(['config', 'local'], { home: h });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not a terminal.*--url/);
  assert.throws(() => statSync(join(h, '.hydra-cli')));
});

test('bad profile values are refused', async () => {
  const h = home();
  for (const [args, problem] of [
    [['config', 'x', '--host', '127.0.0.1', '--port', '99999'], /port "99999" must be a number from 1 to 65535/],
    [['config', 'x', '--host', '127.0.0.1', '--db', 'abc'], /db "abc" must be a database number/],
    [['config', 'x', '--url', 'http://127.0.0.1'], /--url must start with redis:\/\//],
    [['config', 'version', '--host', '127.0.0.1'], /"version" cannot be a profile name/],
  ] as const) {
    const r = await cli([...args], { home: h });
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, problem);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line on stderr');
  }
  assert.throws(() => statSync(join(h, '.hydra-cli')), 'nothing written');
});

test('use <name> switches the active profile and drops the previous password', async () => {
  const h = home();
  assert.equal((await cli(['config', 'eleven', '--url', redisUrl(DB)], { home: h })).code, 0);
  assert.equal((await cli(['config', 'twelve', '--url', `redis://:pw@127.0.0.1:6379/${OTHER_DB}`], { home: h })).code, 0);
  // The password belongs to "twelve" only: after `use eleven` it must not linger at the top level.
  const used = await cli(['use', 'eleven'], { home: h });
  assert.equal(used.code, 0, used.stderr);
  const file = profileFile(h);
  assert.equal(file.redisDb, '11');
  assert.equal(file.redisPassword, undefined);
  assert.equal((await cliJson<{ active: string }>(['config', 'list'], { home: h })).active, 'eleven');
  assert.deepEqual((await cliJson<Array<{ serviceName: string }>>(['services'], { home: h })).map((s) => s.serviceName), ['in-db-eleven']);
});

test('use of an unknown profile names the known ones', async () => {
  const h = home();
  await cli(['config', 'local', '--url', redisUrl(DB)], { home: h });
  const r = await cli(['use', 'nope'], { home: h });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no profile "nope" .*known: local.*hydra-cli config nope/);
});

test('a profile file written by hydra-cli is read as it is', async () => {
  const h = home();
  const port = String(sharedRedisPort());
  const hydraCliFile = { version: 2, redisUrl: '127.0.0.1', redisPort: port, redisDb: String(OTHER_DB), local: { redisUrl: '127.0.0.1', redisPort: port, redisDb: String(OTHER_DB) } };
  writeFileSync(join(h, '.hydra-cli'), JSON.stringify(hydraCliFile));
  assert.deepEqual((await cliJson<Array<{ serviceName: string }>>(['services'], { home: h })).map((s) => s.serviceName), ['in-db-twelve']);
  assert.equal((await cliJson<{ active: string }>(['config', 'list'], { home: h })).active, 'local');
});

test('--redis beats HYDRA_REDIS_URL, which beats --profile and the active profile', async () => {
  const h = home();
  await cli(['config', 'twelve', '--url', redisUrl(OTHER_DB)], { home: h });
  await cli(['config', 'eleven', '--url', redisUrl(DB)], { home: h });
  await cli(['use', 'twelve'], { home: h });
  const names = async (args: string[], env: Record<string, string> = {}) => (await cliJson<Array<{ serviceName: string }>>(args, { home: h, env })).map((s) => s.serviceName);
  assert.deepEqual(await names(['services']), ['in-db-twelve']);
  assert.deepEqual(await names(['services', '--profile', 'eleven']), ['in-db-eleven']);
  assert.deepEqual(await names(['services'], { HYDRA_REDIS_URL: redisUrl(DB) }), ['in-db-eleven']);
  assert.deepEqual(await names(['services', '--redis', redisUrl(OTHER_DB)], { HYDRA_REDIS_URL: redisUrl(DB) }), ['in-db-twelve']);
});

test('HYDRA_REDIS_URL_FILE (a secret file) counts as HYDRA_REDIS_URL; a missing file is named', async () => {
  const h = home();
  await cli(['config', 'twelve', '--url', redisUrl(OTHER_DB)], { home: h });
  const secret = join(h, 'hydra_redis_url');
  writeFileSync(secret, `${redisUrl(DB)}\n`);
  const names = (await cliJson<Array<{ serviceName: string }>>(['services'], { home: h, env: { HYDRA_REDIS_URL_FILE: secret } })).map((s) => s.serviceName);
  assert.deepEqual(names, ['in-db-eleven']);
  const r = await cli(['services'], { home: h, env: { HYDRA_REDIS_URL_FILE: join(h, 'missing') } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read HYDRA_REDIS_URL_FILE .*missing/);
});

test('HYDRA_CLI_CONFIG names another profile file', async () => {
  const h = home();
  const file = join(h, 'profiles.json');
  const r = await cli(['config', 'local', '--url', redisUrl(DB)], { home: h, env: { HYDRA_CLI_CONFIG: file } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { redisDb: string }).redisDb, '11');
  assert.throws(() => statSync(join(h, '.hydra-cli')));
});

test('without any profile, a command says how to configure one', async () => {
  const r = await cli(['nodes'], { home: home() });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not configured.*hydra-cli config <name>.*--redis/);
});

test('an unreadable profile file is reported with its line and column', async () => {
  const h = home();
  writeFileSync(join(h, '.hydra-cli'), '{"version": 2,\n  "local": {redisUrl: "x"}\n}');
  const r = await cli(['nodes'], { home: h });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${join(h, '.hydra-cli').replace(/[.]/g, '\\.')}:2:13: not valid JSON`));
});

test('a profile file with a port or database that is not a number is refused, naming the field (not a quiet 6379)', async () => {
  const h = home();
  const file = join(h, '.hydra-cli');
  for (const [field, value] of [['redisPort', 'abc'], ['redisPort', '0x50'], ['redisPort', '70000'], ['redisDb', 'x']] as const) {
    writeFileSync(file, JSON.stringify({ version: 2, redisUrl: '127.0.0.1', redisPort: '6379', redisDb: '0', [field]: value }));
    const r = await cli(['services'], { home: h });
    assert.equal(r.code, 1, `${field}=${value}: ${r.stderr}`);
    assert.equal(r.stderr, `hydra-cli: the active profile in ${file}: field ${field} "${value}" must be a whole number ${field === 'redisPort' ? '1-65535' : '0-65535'}\n`);
  }
});

test('a Redis that does not answer: exit 3, its URL, where it came from and how to switch', async () => {
  const h = home();
  await cli(['config', 'dead', '--url', DEAD_REDIS], { home: h });
  const r = await cli(['services'], { home: h });
  assert.equal(r.code, 3);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /Redis at redis:\/\/127\.0\.0\.1:1\/0 \(profile "dead"\) is not answering within 5 s/);
  assert.match(lines[0]!, /hydra-cli use <name>/);
  assert.match(lines[0]!, /--redis <url>/);
  assert.equal(r.stdout, '');

  const flag = await cli(['nodes', '--redis', DEAD_REDIS], { home: h });
  assert.equal(flag.code, 3);
  assert.match(flag.stderr, /\(--redis\)/);

  // A Redis that answers with an error is not silent: the line says what it answered.
  const badDb = await cli(['nodes', '--redis', 'redis://127.0.0.1:6379/99'], { home: h });
  assert.equal(badDb.code, 3);
  assert.match(badDb.stderr, /Redis at redis:\/\/127\.0\.0\.1:6379\/99 \(--redis\) did not accept the connection within 5 s \(.*DB index is out of range\)/);
});

test('a --redis that is not a Redis URL is refused', async () => {
  const r = await cli(['nodes', '--redis', 'http://127.0.0.1:6379'], { home: home() });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--redis must start with redis:\/\/ or rediss:\/\//);
});

test('an unknown command is a usage error (exit 2)', async () => {
  const r = await cli(['nodez'], { home: home() });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "hydra-cli: unknown command 'nodez' (Did you mean nodes?)\n");
});

test('IPv6 hosts, encoded passwords, TLS and ACL users survive the round trip through the profile file', async () => {
  const h = home();
  assert.equal((await cli(['config', 'v6', '--url', 'redis://:p%40ss@[::1]:6379/3'], { home: h })).code, 0);
  assert.deepEqual(profileFile(h).v6, { redisUrl: '::1', redisPort: '6379', redisDb: '3', redisPassword: 'p@ss' });
  assert.equal((await cli(['shell', '--print'], { home: h })).stdout, 'redis-cli --no-auth-warning -a p@ss -h ::1 -p 6379 -n 3\n');

  // A TLS or ACL-user URL has no host/port/db form hydra-cli knows: it is kept whole.
  assert.equal((await cli(['config', 'tls', '--url', 'rediss://app:pw@127.0.0.1:6390/2'], { home: h })).code, 0);
  assert.deepEqual(profileFile(h).tls, { redisUrl: 'rediss://app:pw@127.0.0.1:6390/2' });
  assert.equal((await cli(['shell', '--print'], { home: h })).stdout, 'redis-cli --no-auth-warning -a pw -h 127.0.0.1 -p 6390 -n 2 --user app --tls\n');
  const list = await cliJson<{ active: string; profiles: Record<string, { url: string }> }>(['config', 'list'], { home: h });
  assert.deepEqual([list.active, list.profiles.v6!.url, list.profiles.tls!.url], ['tls', 'redis://:***@[::1]:6379/3', 'rediss://app:***@127.0.0.1:6390/2']);
});
