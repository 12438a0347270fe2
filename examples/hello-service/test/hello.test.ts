/** hello-service as users run it: the bin, configured by the Hydra environment variables. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from 'redis';
import { redisUrl } from '@hydra-ts/testing';

const DB = 5;
const REDIS_URL = redisUrl(DB);
const BIN = join(__dirname, '..', '..', 'bin', 'hello-service.js');
const redis = createClient({ url: REDIS_URL });
const children: ChildProcess[] = [];
before(async () => {
  await redis.connect();
  await redis.flushDb();
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await redis.close();
});

/** Starts the bin and resolves with its port and instance id from its "listening" log line (logged once it handles signals). */
function startHello(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; instance: string }> {
  const child = spawn(process.execPath, [BIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hello-service did not start: ${out}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      for (const line of out.split('\n')) {
        if (!line.includes('hello-service listening')) continue;
        const entry = JSON.parse(line) as { port: number; instanceId: string };
        clearTimeout(timer);
        resolve({ child, port: entry.port, instance: entry.instanceId });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hello-service exited with ${code}: ${out}`));
    });
  });
}

test('GET /v1/hello/test names the instance; POST /v1/hello/post echoes the body', async () => {
  const { port, instance } = await startHello({ HYDRA_REDIS_URL: REDIS_URL, HYDRA_SERVICE: '{"serviceIP":"127.0.0.1","servicePort":0}' });
  const hello = await (await fetch(`http://127.0.0.1:${port}/v1/hello/test`)).json();
  assert.deepEqual(hello, { statusCode: 200, statusMessage: 'OK', statusDescription: 'Request succeeded without error', result: { msg: `hello from hello-service - ${instance}`, version: '0.0.2' } });
  const echo = await (await fetch(`http://127.0.0.1:${port}/v1/hello/post`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ game: 'hot potato' }) })).json();
  assert.deepEqual(echo.result, { game: 'hot potato' });
  const routes = await redis.sMembers('hydra:service:hello-service:service:routes');
  assert.ok(routes.includes('[get]/v1/hello/test') && routes.includes('[post]/v1/hello/post'));
});

test('SIGTERM: presence removed and the process exits 0', async () => {
  const { child, instance } = await startHello({ HYDRA_REDIS_URL: REDIS_URL, HYDRA_SERVICE: 'serviceIP=127.0.0.1|servicePort=0' });
  assert.equal(await redis.exists(`hydra:service:hello-service:${instance}:presence`), 1);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(await redis.exists(`hydra:service:hello-service:${instance}:presence`), 0);
});

test('a bad config is refused with the field named and exit code 1', async () => {
  const child = spawn(process.execPath, [BIN], { env: { ...process.env, HYDRA_REDIS_URL: REDIS_URL, HYDRA_SERVICE: '{"servicePort":"nope"}' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 1);
  assert.match(err, /hydra\.servicePort must be a port number/);
});
