/**
 * Which Redis the cluster uses, first that fits: the URL given (option or
 * HYDRA_REDIS_URL); the Redis on 127.0.0.1:6379 when it answers; a private
 * redis-server started in the cluster's directory (stopped with the cluster);
 * else an error that says how to get one.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { Child } from './child.js';

export interface RedisChoice {
  url: string;
  /** How it was chosen, for the start-up report. */
  origin: string;
  /** Set when the cluster started it. */
  server?: Child;
}

const HYDRA_DB = 15;

/** True when something on host:port answers a raw PING (+PONG, or -NOAUTH behind a password). */
export function answersPing(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      resolve(/^(\+PONG|-NOAUTH)/.test(d.toString()));
      socket.destroy();
    });
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      server.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export const NO_REDIS_HELP =
  'no Redis: nothing answers on 127.0.0.1:6379 and redis-server is not installed. ' +
  'Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), ' +
  'or point to one with HYDRA_REDIS_URL=redis://host:port/15 (or --redis <url>)';

/** `usualPort` is where a developer's Redis usually answers (a test passes a port where none does). */
export async function chooseRedis(given: string | undefined, dir: string, { env = process.env, usualPort = 6379, timeoutMs = 10_000 } = {}): Promise<RedisChoice> {
  if (given) return { url: given, origin: 'given' };
  if (env.HYDRA_REDIS_URL) return { url: env.HYDRA_REDIS_URL, origin: 'HYDRA_REDIS_URL' };
  if (await answersPing(usualPort)) return { url: `redis://127.0.0.1:${usualPort}/${HYDRA_DB}`, origin: `the Redis answering on 127.0.0.1:${usualPort}` };
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) throw new Error(NO_REDIS_HELP);

  const port = await freePort();
  const redisDir = join(dir, 'redis');
  mkdirSync(redisDir, { recursive: true });
  const server = new Child('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], process.env, join(dir, 'logs', 'redis-server.log'));
  const deadline = Date.now() + timeoutMs;
  while (!(await answersPing(port))) {
    if (!server.running || Date.now() > deadline) {
      await server.kill();
      throw new Error(`the private redis-server on 127.0.0.1:${port} did not start:\n${server.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}/${HYDRA_DB}`, origin: `a private redis-server (pid ${server.pid}), stopped with the cluster`, server };
}
