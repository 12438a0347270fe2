// The gateway against a real Redis: HYDRA_REDIS_URL, else redis://127.0.0.1:6379/0.
// Starts hydra-router with config/config.json on a free port, checks that it answers its
// health check and lists the services it sees, then stops it with SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const REDIS_URL = process.env.HYDRA_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

test('the router starts with its config, answers its health check, lists services, stops on SIGTERM', async (t) => {
  const port = await freePort();
  const router = spawn(process.execPath, ['node_modules/@hydra-ts/router/bin/hydra-router.js', 'config/config.json'], {
    cwd: ROOT,
    env: { ...process.env, HYDRA_REDIS_URL: REDIS_URL, HYDRA_SERVICE: JSON.stringify({ servicePort: port }), HYDRA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve) => router.once('exit', (code) => resolve(code)));
  t.after(() => router.kill('SIGKILL'));

  let health;
  for (let i = 0; i < 150 && !health; i++) {
    health = await fetch(`http://127.0.0.1:${port}/v1/router/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    if (!health) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(health?.status, 200, 'the router answers its health check within 30 s');
  const list = await fetch(`http://127.0.0.1:${port}/v1/router/list/routes`);
  assert.equal(list.status, 200);

  router.kill('SIGTERM');
  assert.equal(await exited, 0);
});
