/**
 * Test helpers: real processes (the compiled router bin, backend services) on a
 * real Redis. Every process started is registered for cleanup and killed by pid
 * in `after`, also when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createClient } from 'redis';
import { redisUrl, freePort, waitFor } from '@hydra-ts/testing';
import { request as undiciRequest, Agent } from 'undici';

export const ROUTER_BIN = join(__dirname, '..', '..', 'bin', 'hydra-router.js');

/** The node flags of the bin's shebang (`#!/usr/bin/env -S node <flags>`): tests run it as the bin runs. */
export function binNodeFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0]!;
  const words = first.replace(/^#!\S*env\s+(-S\s+)?/, '').split(/\s+/).filter(Boolean);
  return words.slice(1);
}
export const BACKEND = join(__dirname, 'fixtures', 'backend.js');
/** Plain-JS peers built on the published hydra / hydra-express (not compiled: run from the sources). */
export const JS_FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
/** Screenshots and other artefacts for people to look at (gitignored). */
export const TEST_OUTPUT = join(__dirname, '..', '..', '..', '..', 'test-output', 'router');

export { redisUrl, freePort, waitFor } from '@hydra-ts/testing';

const openRedis = (db: number) => createClient({ url: redisUrl(db) });
export type TestRedis = ReturnType<typeof openRedis>;

export async function flushDb(db: number): Promise<void> {
  const client = openRedis(db);
  await client.connect();
  await client.flushDb();
  await client.close();
}

export async function withRedis<T>(db: number, fn: (c: TestRedis) => Promise<T>): Promise<T> {
  const client = openRedis(db);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export class Proc {
  readonly lines: string[] = [];
  private readonly waiters = new Set<() => void>();
  exited = false;
  exitCode: number | null = null;

  constructor(readonly name: string, readonly child: ChildProcess) {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      for (const w of this.waiters) w();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      this.exited = true;
      this.exitCode = code;
      for (const w of this.waiters) w();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first output line (parsed as JSON when it is) that satisfies `pred`. */
  waitLine<T = Record<string, unknown>>(what: string, pred: (json: T) => boolean, timeoutMs = 30_000): Promise<T> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < this.lines.length; seen++) {
          let json: T;
          try {
            json = JSON.parse(this.lines[seen]!) as T;
          } catch {
            continue;
          }
          if (pred(json)) {
            done();
            resolve(json);
            return;
          }
        }
        if (this.exited) {
          done();
          reject(new Error(`${this.name} exited (code ${this.exitCode}) before ${what}:\n${this.lines.slice(-20).join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: timed out waiting for ${what}:\n${this.lines.slice(-20).join('\n')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.exited) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
  }

  waitExit(timeoutMs = 30_000): Promise<number | null> {
    if (this.exited) return Promise.resolve(this.exitCode);
    return waitFor(`${this.name} to exit`, () => this.exited, timeoutMs).then(() => this.exitCode);
  }
}

/** Every process started by a test file; `killAll` in `after`. */
export class Processes {
  private readonly all: Proc[] = [];

  start(name: string, script: string, args: string[], env: Record<string, string>, nodeFlags: string[] = []): Proc {
    return this.command(name, process.execPath, [...nodeFlags, script, ...args], env);
  }

  command(name: string, cmd: string, args: string[], env: Record<string, string> = {}): Proc {
    const child = spawn(cmd, args, {
      env: { PATH: process.env.PATH ?? '', HYDRA_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new Proc(name, child);
    this.all.push(proc);
    return proc;
  }

  /** A redis-server of the test's own on `port` (0 = a free one), keeping nothing on disk. */
  async redisServer(port = 0): Promise<{ proc: Proc; port: number; url: (db: number) => string }> {
    const chosen = port || (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'router-redis-'));
    const proc = this.command(`redis-server ${chosen}`, 'redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
    proc.child.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    await waitFor(`redis-server on ${chosen}`, async () => {
      const c = createClient({ url: `redis://127.0.0.1:${chosen}`, socket: { reconnectStrategy: false } });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return (await c.ping()) === 'PONG';
      } finally {
        c.destroy();
      }
    });
    return { proc, port: chosen, url: (db) => `redis://127.0.0.1:${chosen}/${db}` };
  }

  /** Starts the compiled router bin; resolves with its port once it is ready. */
  async router(db: number, opts: { config?: string; env?: Record<string, string>; redis?: string } = {}): Promise<{ proc: Proc; port: number; base: string; instanceId: string }> {
    const proc = this.start('router', ROUTER_BIN, opts.config ? [opts.config] : [], {
      HYDRA_REDIS_URL: opts.redis ?? redisUrl(db),
      HYDRA_SERVICE: JSON.stringify({ servicePort: 0, serviceIP: '127.0.0.1' }),
      ...opts.env,
    }, binNodeFlags(ROUTER_BIN));
    const ready = await proc.waitLine<{ msg?: string; port?: number; instance?: string }>('router ready', (j) => j.msg === 'hydra-router ready');
    return { proc, port: ready.port!, base: `http://127.0.0.1:${ready.port}`, instanceId: ready.instance! };
  }

  /** Starts a backend service instance; resolves once it is registered (routes included). */
  async backend(db: number, serviceName: string, routes: string[] = [], env: Record<string, string> = {}): Promise<{ proc: Proc; port: number; instanceId: string }> {
    const proc = this.start(`backend ${serviceName}`, BACKEND, [], {
      HYDRA_LOG_LEVEL: 'warn',
      HYDRA_REDIS_URL: redisUrl(db),
      HYDRA_SERVICE: JSON.stringify({ serviceName, servicePort: 0, serviceIP: '127.0.0.1', serviceVersion: '1.2.3' }),
      BACKEND_ROUTES: JSON.stringify(routes),
      ...env,
    });
    const ready = await proc.waitLine<{ ready?: boolean; port?: number; instanceId?: string }>('backend ready', (j) => j.ready === true);
    return { proc, port: ready.port!, instanceId: ready.instanceId! };
  }

  /** Starts a peer built on the published hydra / hydra-express packages. */
  async hydraPeer(db: number, kind: 'hydra-express-service' | 'hydra-service', serviceName: string, redis = redisUrl(db)): Promise<{ proc: Proc; port: number; instanceId: string }> {
    const proc = this.start(`${kind} ${serviceName}`, join(JS_FIXTURES, `${kind}.js`), [], { REDIS_URL: redis, SERVICE_NAME: serviceName });
    const ready = await proc.waitLine<{ ready?: boolean; port?: number; instanceID?: string }>(`${kind} ready`, (j) => j.ready === true, 15_000);
    return { proc, port: ready.port ?? 0, instanceId: ready.instanceID! };
  }

  async killAll(): Promise<void> {
    for (const p of this.all) p.kill('SIGKILL');
    await Promise.all(this.all.map((p) => p.waitExit(5000).catch(() => undefined)));
  }
}

/** A keep-alive HTTP client for the tests (its own pool, closed by the test file). */
export const agent = new Agent({ keepAliveTimeout: 1000, connections: 64 });

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Record<string, any>>(): T;
}

export async function http(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer | AsyncIterable<Buffer> } = {}): Promise<Answer> {
  const res = await undiciRequest(url, {
    dispatcher: agent,
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers,
    body: init.body as string | undefined,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}
