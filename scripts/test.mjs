// Runs every compiled test file (`dist/test/**/*.test.js` of each workspace, and
// test/dist) with node's own runner, one file at a time: the files share one Redis
// server and start real processes, so running them side by side would only add noise.
//
// The shared Redis is 127.0.0.1:6379 (or HYDRA_TEST_REDIS_PORT). When nothing answers
// there, a private redis-server is started in a temp dir for this run and stopped after
// it, so `npm test` needs nothing running beforehand.
//
// `node scripts/test.mjs <part-of-path>…` runs only the files whose path contains one of them.
import { readdirSync, statSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const ROOT = join(import.meta.dirname, '..');
const { workspaces } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const roots = workspaces.map((w) => join(ROOT, w, 'dist/test')).concat([join(ROOT, 'test/dist')]);

function collect(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

/** A redis-server of this run's own, or null when one already answers on the shared port. */
async function privateRedisIfNeeded() {
  const port = sharedRedisPort();
  if (await answersPing(port)) return null;
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
    console.error(`no Redis answers on 127.0.0.1:${port} and redis-server is not installed: apt-get install redis-server (or start one and set HYDRA_TEST_REDIS_PORT)`);
    process.exit(1);
  }
  const privatePort = await freePort();
  const server = await startRedisServer(privatePort);
  console.log(`no Redis on 127.0.0.1:${port}: started a private redis-server on ${privatePort} for this run`);
  return { port: privatePort, stop: server.stop };
}

const only = process.argv.slice(2);
const files = roots.flatMap(collect).filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
// The testing package's helpers, from its build (which `npm test` has just made).
const { answersPing, freePort, sharedRedisPort, startRedisServer } = await import(join(ROOT, 'packages/testing/dist/src/index.js'));
const redis = await privateRedisIfNeeded();
const env = redis ? { ...process.env, HYDRA_TEST_REDIS_PORT: String(redis.port) } : process.env;
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
// Ctrl-C reaches the runner too; the private Redis goes once the runner has gone.
process.on('SIGINT', () => {});
child.once('exit', async (code, signal) => {
  await redis?.stop();
  process.exit(code ?? (signal ? 1 : 0));
});
