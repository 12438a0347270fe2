/**
 * The bin as a newcomer and a script use it: `hydra-cluster` starts and prints
 * what runs where, `hydra-cluster ctl` drives it through the control socket,
 * SIGTERM stops everything it started.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startProcess, startRedisServer, stopAllProcesses, waitFor, type Started } from '@hydra-ts/testing';
import type { CommandResult } from '../src/index.js';
import { alive, presenceKeys } from './helpers.js';

const BIN = join(__dirname, '..', '..', 'bin', 'hydra-cluster.js');
let redis: { stop: () => Promise<void> };
let redisUrl: string;
let bin: Started | undefined;

before(async () => {
  const port = await freePort();
  redis = await startRedisServer(port);
  redisUrl = `redis://127.0.0.1:${port}/15`;
});

after(async () => {
  await stopAllProcesses();
  await redis?.stop();
});

function ctl(socket: string, ...words: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, 'ctl', '--socket', socket, ...words], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('hydra-cluster prints what runs where, takes commands on its control socket, and stops clean on SIGTERM', async () => {
  const [routerPort, helloPort, balancerPort] = [await freePort(), await freePort(), await freePort()];
  bin = startProcess([BIN, '--managers', '1', '--workers', '2', '--instances', '1', '--services', 'hello-service', '--redis', redisUrl,
    '--router-port', String(routerPort), '--hello-port', String(helloPort), '--balancer-port', String(balancerPort),
    '--manager-prefix', '127.0.43.', '--worker-prefix', '127.0.44.']);
  const started = bin;
  await waitFor(() => `the start-up report (output: ${started.output()})`, () => started.lines.some((l) => l.includes('Ctrl-C stops everything')), 90_000);
  const out = started.lines.join('\n');
  assert.match(out, new RegExp(`manager-1 +127\\.0\\.43\\.1 +hydra-router +0\\.1\\.0 +${routerPort} +\\d+ +up`));
  assert.match(out, new RegExp(`worker-1 +127\\.0\\.44\\.1 +hello-service +0\\.0\\.2 +${helloPort} +\\d+ +up`));
  assert.match(out, /worker-2 +127\.0\.44\.2 +\(nothing\)/);
  assert.match(out, new RegExp(`curl http://127\\.0\\.0\\.1:${balancerPort}/v1/hello/test|curl http://127\\.0\\.43\\.1:${routerPort}/v1/hello/test`));
  const dir = /^Logs: (\S+)\/logs\//m.exec(out)![1]!;
  const socket = join(dir, 'control.sock');

  const scaled = ctl(socket, 'scale', 'hello-service', '2');
  assert.equal(scaled.status, 0, scaled.err);
  assert.equal(scaled.out, 'hello-service: 2 instances, seen by every router\n');
  await waitFor('an "up" line for the new instance', () => started.lines.some((l) => /\+ up {4}hello-service 0\.0\.2 on worker-2 \(127\.0\.44\.2:\d+, pid \d+\)/.test(l)));

  const wrong = ctl(socket, 'scale', 'hello-service', 'many');
  assert.equal(wrong.status, 1);
  assert.match(wrong.out, /usage: scale <service> <n>/);
  assert.match(ctl(socket, 'fly').out, /unknown command "fly"; commands:/);

  const status = ctl(socket, '--json', 'status');
  assert.equal(status.status, 0, status.err);
  const answer = JSON.parse(status.out) as CommandResult;
  const pids = answer.status!.instances.map((i) => i.pid);
  assert.deepEqual(answer.status!.instances.map((i) => `${i.host} ${i.service}`), ['manager-1 hydra-router', 'worker-1 hello-service', 'worker-2 hello-service']);
  for (const pid of pids) assert.ok(alive(pid), `pid ${pid} runs`);

  started.child.kill('SIGTERM');
  const code = await new Promise((r) => started.child.once('exit', (c) => r(c)));
  assert.equal(code, 0, started.output());
  assert.match(started.output(), /stopped: no process of the cluster left/);
  for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} is gone`);
  assert.deepEqual(await presenceKeys(redisUrl), []);
  assert.notEqual(ctl(socket, 'status').status, 0, 'the control socket is gone');
});

test('hydra-cluster refuses a service it does not know, a name every object has included, before starting anything', () => {
  for (const name of ['no-such-service', 'constructor', '__proto__']) {
    const r = spawnSync(process.execPath, [BIN, '--services', name, '--redis', redisUrl], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`unknown service "${name}"; known: hello-service, hpp-service`));
  }
});
