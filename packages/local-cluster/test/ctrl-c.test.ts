/**
 * Ctrl-C stops the cluster cleanly however it was started: the bin itself, `npx
 * hydra-cluster` and `npm start` (npm, a shell and node in one process group). A terminal's
 * Ctrl-C signals the whole foreground group; under `npm start` node then gets the SIGINT
 * twice (the terminal's and npm's forwarded copy), which must not count as a second,
 * forcing, request. SIGINT to npm's pid alone (a supervisor's stop) reaches the cluster
 * under `npm start`, which execs the bin.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, startRedisServer, waitFor } from '@hydra-ts/testing';
import { alive, presenceKeys } from './helpers.js';

const ROOT = join(__dirname, '..', '..', '..', '..');
const BIN = join(__dirname, '..', '..', 'bin', 'hydra-cluster.js');
let redis: { stop: () => Promise<void> };
let redisUrl: string;
const started = new Set<ChildProcess>();

before(async () => {
  const port = await freePort();
  redis = await startRedisServer(port);
  redisUrl = `redis://127.0.0.1:${port}/15`;
});

after(async () => {
  for (const child of started) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ESRCH: the group has gone.
    }
  }
  await redis?.stop();
});

/** A one-manager, one-worker cluster (no HAProxy: not what is tested) started in its own process group, as a terminal's foreground job. */
async function startCluster(how: 'bin' | 'npx' | 'npm start') {
  const flags = ['--managers', '1', '--workers', '1', '--services', 'hello-service', '--redis', redisUrl, '--no-balancer', '--no-control',
    '--router-port', String(await freePort()), '--hello-port', String(await freePort()), '--manager-prefix', '127.0.47.', '--worker-prefix', '127.0.48.'];
  const [cmd, args] = how === 'bin' ? [process.execPath, [BIN, ...flags]] : how === 'npx' ? ['npx', ['hydra-cluster', ...flags]] : ['npm', ['start', '--', ...flags]];
  const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  // Done when the last holder of the output pipe (the cluster's node) has exited.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // A start that fails (npm start's build, say) ends the wait at once instead of after the limit.
  const failed = closed.then(() => {
    throw new Error(`${how} exited before the start-up report (output: ${out})`);
  });
  failed.catch(() => {});
  await Promise.race([waitFor(() => `the start-up report of ${how} (output: ${out})`, () => out.includes('Ctrl-C stops everything'), 180_000), failed]);
  // The table's PID column: the router's and the service's processes.
  const pids = [...out.matchAll(/^(?:manager|worker)-\d+ +\S+ +\S+ +\S+ +\d+ +(\d+) +up$/gm)].map((m) => Number(m[1]));
  assert.equal(pids.length, 2, `a router and a service in the report:\n${out}`);
  return { child, closed, pids, output: () => out };
}

async function assertStopsCleanly(cluster: Awaited<ReturnType<typeof startCluster>>, how: string) {
  const outcome = await Promise.race([cluster.closed.then(() => 'stopped'), new Promise<string>((r) => setTimeout(() => r('still running'), 60_000).unref())]);
  assert.equal(outcome, 'stopped', `${how}: the cluster stopped within 60 s (output: ${cluster.output()})`);
  assert.match(cluster.output(), /stopped: no process of the cluster left/, how);
  assert.doesNotMatch(cluster.output(), /second stop request|SIGKILL to everything/, `${how}: one Ctrl-C is one graceful stop`);
  for (const pid of cluster.pids) assert.ok(!alive(pid), `${how}: pid ${pid} is gone`);
  assert.deepEqual(await presenceKeys(redisUrl), [], `${how}: every presence withdrawn`);
}

for (const how of ['bin', 'npx', 'npm start'] as const) {
  test(`Ctrl-C (SIGINT to the process group) stops a cluster started with ${how}`, async () => {
    const cluster = await startCluster(how);
    process.kill(-cluster.child.pid!, 'SIGINT');
    await assertStopsCleanly(cluster, how);
  });
}

test('SIGINT to the pid of npm start alone stops the cluster', async () => {
  const cluster = await startCluster('npm start');
  process.kill(cluster.child.pid!, 'SIGINT');
  await assertStopsCleanly(cluster, 'SIGINT to npm');
});
