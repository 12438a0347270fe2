// `npm start`: the local cluster demo. One router on 127.0.0.1:8000 in front of two
// hello-service instances (5000, 5001), all on redis://127.0.0.1:6379/15 (Hydra's default
// database). It shows a few routed requests, then keeps running until Ctrl-C, when every
// process it started is stopped gracefully (SIGTERM) by its pid.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const REDIS_URL = process.env.HYDRA_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
const ROUTER_PORT = 8000;
const HELLO_PORTS = [5000, 5001];
const children = [];

/** Runs one of the workspace bins (their launchers carry the node flags they need). */
function start(name, bin, servicePort) {
  const child = spawn(join(ROOT, bin), [], {
    env: { ...process.env, HYDRA_REDIS_URL: REDIS_URL, HYDRA_SERVICE: JSON.stringify({ serviceIP: '127.0.0.1', servicePort }), HYDRA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
    // Its own process group: Ctrl-C reaches only the demo, which then stops each child once, in order.
    detached: true,
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      console.error(`demo: ${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the demo`);
      void stop(1);
    }
  });
  children.push({ name, child });
}

async function waitForHttp(url, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return res;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms`);
}

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await Promise.all(children.map(({ child }) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGTERM');
  }))));
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
// Should the demo itself die, do not leave the cluster running.
process.on('exit', () => children.forEach(({ child }) => child.exitCode === null && child.kill('SIGTERM')));
process.on('SIGTERM', () => void stop(0));

try {
  start('hydra-router', 'packages/router/bin/hydra-router.js', ROUTER_PORT);
  for (const port of HELLO_PORTS) start(`hello-service:${port}`, 'examples/hello-service/bin/hello-service.js', port);
  await waitForHttp(`http://127.0.0.1:${ROUTER_PORT}/v1/router/health`, 'the router');
  for (const port of HELLO_PORTS) await waitForHttp(`http://127.0.0.1:${port}/v1/hello/test`, `hello-service on ${port}`);
  const url = `http://127.0.0.1:${ROUTER_PORT}/v1/hello/test`;
  await waitForHttp(url, 'the route through the router');
  console.log(`\nhydra-ts local cluster on ${REDIS_URL}: hydra-router :${ROUTER_PORT}, hello-service :${HELLO_PORTS.join(', :')}`);
  console.log(`Four requests through the router (round robin over the instances):`);
  for (let i = 0; i < 4; i++) console.log(`  GET ${url} -> ${(await (await fetch(url)).json()).result.msg}`);
  console.log(`\nDashboard:  http://127.0.0.1:${ROUTER_PORT}/`);
  console.log(`Try:        curl ${url}`);
  console.log(`            curl http://127.0.0.1:${ROUTER_PORT}/v1/router/list/services`);
  console.log(`Ctrl-C stops the cluster.\n`);
} catch (err) {
  console.error(`demo: ${err.message}`);
  await stop(1);
}
