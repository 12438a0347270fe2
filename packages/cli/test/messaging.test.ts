/**
 * rest, message create|send|queue and refresh against live hydra-ts services
 * (child processes) in Redis database 12.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMessage, type RedisClient } from '@hydra-ts/core';
import { cli, cliJson, closeRedis, openTestRedis, redisUrl, tempHome, startChild, stopAllChildren, waitFor, CLI_ROOT, REPO_ROOT, type Child } from './helpers.js';

const DB = 12;
const URL = redisUrl(DB);
const FIXTURE = join(CLI_ROOT, 'dist', 'test', 'fixtures', 'service.js');
const SVC = 'echo-service';

let redis: RedisClient;
let subscriber: RedisClient;
let home: { home: string; remove(): void };
const instances: Array<{ child: Child; instanceId: string; port: number }> = [];

const run = (args: string[]) => cli(args, { home: home.home, env: { HYDRA_REDIS_URL: URL } });
const runJson = <T>(args: string[]) => cliJson<T>(args, { home: home.home, env: { HYDRA_REDIS_URL: URL } });

function file(name: string, content: unknown): string {
  const path = join(home.home, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

interface Envelope {
  statusCode: number;
  statusMessage: string;
  result: Record<string, unknown>;
}

/** The messages an instance printed, parsed. */
function received(i: { child: Child }): Array<{ mid: string; body: Record<string, unknown>; to: string }> {
  return i.child.lines.filter((l) => l.startsWith('MESSAGE ')).map((l) => JSON.parse(l.slice(8)) as { mid: string; body: Record<string, unknown>; to: string });
}

before(async () => {
  redis = await openTestRedis(DB);
  subscriber = redis.duplicate();
  await subscriber.connect();
  home = tempHome();
  for (let i = 0; i < 2; i++) {
    const child = startChild([FIXTURE, SVC], { HYDRA_REDIS_URL: URL });
    const line = await waitFor('echo-service ready', () => child.lines.find((l) => l.startsWith('READY ')), 15000).catch((err: Error) => {
      throw new Error(`${err.message}: ${child.output()}`);
    });
    instances.push({ child, ...(JSON.parse(line.slice(6)) as { instanceId: string; port: number }) });
  }
});

after(async () => {
  await stopAllChildren();
  await subscriber?.close();
  await closeRedis(redis);
  home.remove();
});

test('rest calls a live instance over HTTP and prints the envelope', async () => {
  const r = await run(['rest', `${SVC}:[get]/v1/hello`]);
  assert.equal(r.code, 0, r.stderr);
  const env = JSON.parse(r.stdout) as Envelope;
  assert.equal(env.statusCode, 200);
  assert.equal(env.statusMessage, 'OK');
  assert.equal(env.result.greeting, 'hello');
  assert.ok(instances.some((i) => i.instanceId === env.result.instanceId));
});

test('rest without a method means GET; id@service reaches that very instance', async () => {
  for (const i of instances) {
    const env = JSON.parse((await run(['rest', `${i.instanceId}@${SVC}:/v1/hello`])).stdout) as Envelope;
    assert.equal(env.statusCode, 200);
    assert.equal(env.result.instanceId, i.instanceId);
  }
});

test('rest posts a JSON payload file as the body', async () => {
  const env = JSON.parse((await run(['rest', `${SVC}:[post]/v1/echo`, file('payload.json', { name: 'Ada', n: [1, 2] })])).stdout) as Envelope;
  assert.equal(env.statusCode, 200);
  assert.deepEqual(env.result.received, { name: 'Ada', n: [1, 2] });
  assert.equal(env.result.contentType, 'application/json');
});

test('rest reports an error status with exit 1, the envelope on stdout and one line on stderr', async () => {
  const none = await run(['rest', 'nobody-here:[get]/v1/x']);
  assert.equal(none.code, 1);
  assert.equal((JSON.parse(none.stdout) as Envelope).statusCode, 503);
  assert.equal(none.stderr, 'hydra-cli: GET nobody-here:[get]/v1/x answered 503 Service Unavailable: Unavailable nobody-here instances\n');

  const missing = await run(['rest', `${SVC}:[get]/v1/missing`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /answered 404 Not Found: no route GET \/v1\/missing/);

  const spaced = await run(['rest', `${SVC}:[get]/v1/hello there`]);
  assert.equal(spaced.code, 1);
  assert.equal((JSON.parse(spaced.stdout) as Envelope).statusCode, 400);
  assert.match(spaced.stderr, /answered 400 Bad Request: path "\/v1\/hello there" is not a valid HTTP request path/);
});

test('rest refuses a payload for GET, a payload that is not JSON, and a malformed route', async () => {
  const payload = file('p.json', { a: 1 });
  const get = await run(['rest', `${SVC}:[get]/v1/hello`, payload]);
  assert.equal(get.code, 1);
  assert.match(get.stderr, /a payload is not allowed for HTTP GET/);

  const broken = await run(['rest', `${SVC}:[post]/v1/echo`, file('broken.json', '{"a": }')]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /broken\.json:1:7: not valid JSON/);

  const route = await run(['rest', 'no-colon-here']);
  assert.equal(route.code, 1);
  assert.match(route.stderr, /route field has invalid number of routable segments/);
});

test('message create prints a valid UMF template', async () => {
  const template = await runJson<Record<string, unknown>>(['message', 'create']);
  assert.equal(template.to, '{serviceName here}:/');
  assert.equal(template.from, 'hydra-cli:/');
  assert.equal(template.version, 'UMF/1.4.6');
  assert.deepEqual(template.body, {});
  assert.deepEqual(createMessage(template), template, 'core accepts it unchanged');
  assert.equal((await runJson<{ to: string }>(['message', 'create', '--to', `${SVC}:/`])).to, `${SVC}:/`);
});

test('message send delivers to one live instance, or the one named', async () => {
  const msg = file('msg.json', { to: `${SVC}:/`, body: { hello: 'one' } });
  const sent = await runJson<{ mid: string; from: string }>(['message', 'send', msg]);
  assert.equal(sent.from, 'hydra-cli:/');
  await waitFor('one instance to receive it', () => instances.some((i) => received(i).some((m) => m.mid === sent.mid)));
  assert.equal(instances.filter((i) => received(i).some((m) => m.mid === sent.mid)).length, 1);

  const target = instances[1]!;
  const direct = await runJson<{ mid: string }>(['message', 'send', file('direct.json', { to: `${target.instanceId}@${SVC}:/`, body: { hello: 'you' } })]);
  await waitFor('the named instance to receive it', () => received(target).some((m) => m.mid === direct.mid));
  assert.ok(!received(instances[0]!).some((m) => m.mid === direct.mid));
});

test('message send --broadcast reaches every instance', async () => {
  const sent = await runJson<{ mid: string }>(['message', 'send', '--broadcast', file('all.json', { to: `${SVC}:/`, body: { hello: 'all' } })]);
  await waitFor('every instance to receive it', () => instances.every((i) => received(i).some((m) => m.mid === sent.mid)));
});

test('message send refuses bad messages and services with no live instance', async () => {
  const noBody = await run(['message', 'send', file('nobody.json', { to: `${SVC}:/` })]);
  assert.equal(noBody.code, 1);
  assert.match(noBody.stderr, /nobody\.json: UMF field "body" is required/);
  const notJson = await run(['message', 'send', file('bad.json', '{"to": "x:/",\n "body": {]}')]);
  assert.equal(notJson.code, 1);
  assert.match(notJson.stderr, /bad\.json:2:11: not valid JSON/);
  const nobody = await run(['message', 'send', file('gone.json', { to: 'nobody-here:/', body: {} })]);
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /Unavailable nobody-here instances/);
});

test('message queue pushes the short form on the service queue', async () => {
  const out = await runJson<{ queue: string; message: { mid: string } }>(['message', 'queue', file('q.json', { to: `queued-service:/`, body: { job: 7 } })]);
  assert.equal(out.queue, 'hydra:service:queued-service:mqrecieved');
  const stored = (await redis.lRange('hydra:service:queued-service:mqrecieved', 0, -1)).map((s) => JSON.parse(s) as Record<string, unknown>);
  assert.equal(stored.length, 1);
  assert.equal(stored[0]!.mid, out.message.mid);
  assert.equal(stored[0]!.frm, 'hydra-cli:/');
  assert.deepEqual(stored[0]!.bdy, { job: 7 });
});

test('refresh broadcasts the router refresh message, for all services or one', async () => {
  const seen: Array<Record<string, unknown>> = [];
  await subscriber.subscribe('hydra:service:mc:hydra-router', (raw) => seen.push(JSON.parse(raw) as Record<string, unknown>));
  try {
    const all = await runJson<{ routers: number; message: { mid: string } }>(['refresh']);
    assert.ok(all.routers >= 1, 'our subscriber counts as a router');
    const one = await runJson<{ message: { mid: string } }>(['refresh', SVC]);
    const mine = await waitFor('both refresh messages', () => {
      const m = [all, one].map((r) => seen.find((s) => s.mid === r.message.mid));
      return m.every(Boolean) ? m : undefined;
    });
    assert.deepEqual(mine.map((m) => [m!.to, m!.frm, m!.bdy]), [
      ['hydra-router:/refresh', 'hydra-cli:/', { action: 'refresh' }],
      ['hydra-router:/refresh', 'hydra-cli:/', { action: 'refresh', serviceName: SVC }],
    ]);
  } finally {
    await subscriber.unsubscribe('hydra:service:mc:hydra-router');
  }
  const bad = await run(['refresh', 'Not A Service']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /is not a valid service name/);
});

test('refresh node list removes nodes silent for over a minute, as hydra-cli did', async () => {
  const entry = (id: string, secondsAgo: number) =>
    JSON.stringify({ serviceName: 'old', serviceDescription: '', version: '1', instanceID: id, updatedOn: new Date(Date.now() - secondsAgo * 1000).toISOString(), processID: 1, ip: '127.0.0.1', port: 1, hostName: 'h' });
  await redis.hSet('hydra:service:nodes', { ['a'.repeat(32)]: entry('a'.repeat(32), 120), ['b'.repeat(32)]: entry('b'.repeat(32), 10) });
  const r = await run(['refresh', 'node', 'list', '--table']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '1 entries removed\n');
  assert.equal(await redis.hExists('hydra:service:nodes', 'a'.repeat(32)), 0);
  assert.equal(await redis.hExists('hydra:service:nodes', 'b'.repeat(32)), 1);
  for (const i of instances) assert.equal(await redis.hExists('hydra:service:nodes', i.instanceId), 1, 'live instances stay');
});

test('refresh makes a running hydra-router reload the routes of a service', async () => {
  const router = startChild([join(REPO_ROOT, 'packages', 'router', 'dist', 'src', 'main.js')], {
    HYDRA_REDIS_URL: URL,
    HYDRA_SERVICE: '{"servicePort":0,"serviceIP":"127.0.0.1"}',
    HYDRA_LOG_LEVEL: 'warn',
  });
  // The router's address comes from the registry, read with hydra-cli itself.
  const node = await waitFor('hydra-router in nodes', async () => (await runJson<Array<{ alive: boolean; port: number }>>(['nodes', 'hydra-router'])).find((n) => n.alive), 15000).catch((err: Error) => {
    throw new Error(`${err.message}: ${router.output()}`);
  });
  const listed = async () => JSON.stringify((await (await fetch(`http://127.0.0.1:${node.port}/v1/router/list/routes`)).json()) as unknown);

  // Routes written without the broadcast that registerRoutes sends: the router cannot know of them.
  await redis.sAdd('hydra:service:ghost-service:service:routes', '[get]/v1/ghost');
  assert.doesNotMatch(await listed(), /\/v1\/ghost/);
  assert.equal((await run(['refresh', 'ghost-service'])).code, 0);
  await waitFor('the router to list the route', async () => /\/v1\/ghost/.test(await listed())); // paths without [method], as hydra-router lists them
});
