/**
 * `npm create hydra-ts` end to end, as a new user runs it but from the packed tarballs:
 * the scaffolder run by `npm exec` (what `npm create hydra-ts@latest` resolves to), a
 * service and a gateway created outside the repository, installed offline, each
 * project's own `npm test` against a real Redis, both started with `npm start`, the
 * service called through the gateway, and both stopped by a Ctrl-C to their npm's
 * process group (presence withdrawn, exit 0).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertServiceName, connectRedis, closeRedis, keys } from '@hydra-ts/core';
import { ROOT } from './helpers/processes.js';
import { freePort, quietLogger, waitFor } from '@hydra-ts/testing';
import { installFresh, packedSetup, readJson, type Manifest, type Packed, type PackedSetup } from './helpers/packed.js';

let setup: PackedSetup | undefined;
let work: string;
let packed: Packed[];
let redisUrl: string;
/** npm processes started in their own process groups, ended by group in `after`. */
const groups = new Set<ChildProcess>();

before(async () => {
  setup = await packedSetup('hydra-ts-create-');
  ({ work, packed, redisUrl } = setup);
});

after(async () => {
  for (const child of groups) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ESRCH: every process of the group has gone.
    }
  }
  await setup?.cleanup();
});

/** This file's environment without node:test's NODE_TEST_CONTEXT, which would make a project's own `node --test` report to this runner instead of printing. */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  return { ...env, ...extra };
}

function npm(cwd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 300_000, env: userEnv(env) });
  assert.equal(r.status, 0, `npm ${args.join(' ')} in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `npm start` in its own process group, as a terminal runs a foreground job. */
function npmStart(cwd: string, env: Record<string, string>) {
  const child = spawn('npm', ['start'], { cwd, detached: true, env: userEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  groups.add(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-8000)));
  child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-8000)));
  // npm itself dies of the SIGINT at once; the service is done when the last holder of
  // the output pipe (node) has exited and the pipe closes.
  const done = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { child, done, output: () => out };
}

/** Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. */
async function ctrlC(started: ReturnType<typeof npmStart>): Promise<void> {
  process.kill(-started.child.pid!, 'SIGINT');
  const outcome = await Promise.race([started.done.then(() => 'stopped'), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000).unref())]);
  assert.equal(outcome, 'stopped', `every process of npm start gone within 30 s of Ctrl-C (output: ${started.output()})`);
  assert.doesNotMatch(started.output(), /npm ERR|npm error|"level":50/, 'no error on the way out');
}

async function presence(service: string): Promise<string[]> {
  const client = await connectRedis({ url: redisUrl }, quietLogger(), 'test');
  try {
    return await client.keys(keys.presence(service, '*'));
  } finally {
    await closeRedis(client);
  }
}

test('npm create hydra-ts makes a service and a gateway that install, test, start, answer through the router and stop on Ctrl-C', async () => {
  const creator = packed.find((p) => p.name === 'create-hydra-ts');
  assert.ok(creator, 'create-hydra-ts is packed');
  const create = (...args: string[]) => npm(work, ['exec', '--offline', '--yes', `--package=${creator.tarball}`, '--', 'create-hydra-ts', ...args]);

  assert.match(create('my-service'), /Created service project in my-service/);
  assert.match(create('gateway', '--template', 'gateway'), /Created gateway project in gateway/);
  const service = join(work, 'my-service');
  const gateway = join(work, 'gateway');
  for (const f of ['src/config.ts', 'src/app.ts', 'src/main.ts', 'test/service.test.ts', 'Dockerfile', 'deploy/stack.yml', '.gitignore', 'README.md']) {
    assert.ok(existsSync(join(service, f)), `the service project has ${f}`);
  }
  assert.match(readFileSync(join(service, 'deploy/stack.yml'), 'utf8'), /^ {2}my-service:\n/m, 'the stack entry is named after the service');
  assert.match(readFileSync(join(service, 'Dockerfile'), 'utf8'), /^ARG NODE_IMAGE=/m, 'the image takes its base as a build argument');

  for (const dir of [service, gateway]) installFresh(dir, packed, readJson<Manifest>(join(dir, 'package.json')));
  const env = { HYDRA_REDIS_URL: redisUrl, HYDRA_LOG_LEVEL: 'warn' };
  assert.match(npm(service, ['test'], env), /# pass 3\n# fail 0/);
  assert.match(npm(gateway, ['test'], env), /# pass 1\n# fail 0/);

  const [servicePort, routerPort] = [await freePort(), await freePort()];
  const svc = npmStart(service, { ...env, HYDRA_SERVICE: JSON.stringify({ servicePort }) });
  const router = npmStart(gateway, { ...env, HYDRA_SERVICE: JSON.stringify({ servicePort: routerPort }) });
  const answer = await waitFor(() => `my-service through the router (service: ${svc.output()}; router: ${router.output()})`, async () => {
    const res = await fetch(`http://127.0.0.1:${routerPort}/v1/my-service/hello`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return res?.status === 200 ? ((await res.json()) as { result: { greeting: string; instanceId: string } }) : undefined;
  }, 90_000);
  assert.equal(answer.result.greeting, 'Hello');
  assert.match(answer.result.instanceId, /^[0-9a-f]{32}$/);

  await ctrlC(svc);
  assert.deepEqual(await presence('my-service'), [], 'the service withdrew its presence');
  await ctrlC(router);
  assert.deepEqual(await presence('hydra-router'), [], 'the router withdrew its presence');
});

test('create-hydra-ts refuses the names core refuses, naming the rule, and a directory in use', () => {
  const bin = join(ROOT, 'packages/create-hydra-ts/bin/create-hydra-ts.js');
  const dir = mkdtempSync(join(work, 'names-'));
  for (const name of ['Inventory', 'in ventory', 'a:b', '-x', '.x', 'ok-name.v2_x', 'x9']) {
    let coreRefuses = false;
    try {
      assertServiceName(name);
    } catch {
      coreRefuses = true;
    }
    const r = spawnSync(process.execPath, [bin, join(dir, `p${Math.random().toString(36).slice(2)}`), `--name=${name}`], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status !== 0, coreRefuses, `"${name}": core ${coreRefuses ? 'refuses' : 'accepts'} it; create-hydra-ts exited ${r.status}: ${r.stderr}`);
    if (coreRefuses) assert.match(r.stderr, new RegExp(`"${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" (has capitals|is not a valid service name)`));
  }
  assert.match(spawnSync(process.execPath, [bin, join(dir, 'Inventory')], { encoding: 'utf8' }).stderr, /"Inventory" has capitals: service names are lower case \(try "inventory"\) \(the name comes from the directory; pass --name <service-name>\)/);
  const used = spawnSync(process.execPath, [bin, ROOT], { encoding: 'utf8' });
  assert.equal(used.status, 1);
  assert.match(used.stderr, /exists and is not an empty directory/);
});
