/** Shared by the core tests: a Redis database per file, bounded waiting, captured logs. */
import { Writable } from 'node:stream';
import { connect } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createClient } from 'redis';
import { Hydra, type HydraOptions, type Logger } from '../src/index.js';

export const redisUrl = (db: number, port = 6379) => `redis://127.0.0.1:${port}/${db}`;

/** A plain client on `db`, emptied: each test file owns one database. */
export async function freshDb(db: number) {
  const client = createClient({ url: redisUrl(db) });
  await client.connect();
  await client.flushDb();
  return client;
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A logger whose lines a test can read. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export const quietLogger = (): Logger => pino({ level: 'silent' });

/** A registered service on `db`, bound to loopback. */
export async function startService(db: number, serviceName: string, extra: Record<string, unknown> = {}, options: HydraOptions = {}): Promise<Hydra> {
  const hydra = await Hydra.create(
    { hydra: { serviceName, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(db) }, ...extra } },
    { logger: quietLogger(), env: {}, ...options },
  );
  await hydra.registerService();
  return hydra;
}

/** True when something on the port answers a raw PING (+PONG, or -NOAUTH behind a password). */
function answersPing(port: number): Promise<boolean> {
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

/** A redis-server of the test's own on `port`, in a temp dir, keeping nothing on disk. */
export async function startRedisServer(port: number, extraArgs: string[] = []): Promise<{ proc: ChildProcess; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hydra-ts-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], { stdio: 'ignore' });
  await waitFor(`redis-server on ${port}`, () => answersPing(port));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { proc, stop };
}
