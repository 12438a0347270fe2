/** A Redis database, or a whole redis-server, of a test's own. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { waitFor } from './wait.js';

/**
 * The shared Redis the tests talk to: 127.0.0.1:6379, or the port in HYDRA_TEST_REDIS_PORT
 * (set by scripts/test.mjs when it had to start a private server, or by a developer who
 * runs two test runs side by side).
 */
export const sharedRedisPort = (): number => Number(process.env.HYDRA_TEST_REDIS_PORT || 6379);

export const redisUrl = (db: number, port = sharedRedisPort()) => `redis://127.0.0.1:${port}/${db}`;

/** A client on `db` of the shared Redis, emptied first: each test file owns one database. */
export async function freshDb(db: number) {
  const client = createClient({ url: redisUrl(db) });
  await client.connect();
  await client.flushDb();
  return client;
}

/** True when something on the port answers a raw PING (+PONG, or -NOAUTH behind a password). */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500, () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      resolve(/^(\+PONG|-NOAUTH)/.test(d.toString()));
      socket.destroy();
    });
  });
}

/** A redis-server on `port`, in a temp dir, keeping nothing on disk; stop() kills it by pid. */
export async function startRedisServer(port: number, extraArgs: string[] = []): Promise<{ stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hydra-ts-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], { stdio: 'ignore' });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`redis-server on ${port}`, () => answersPing(port));
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
