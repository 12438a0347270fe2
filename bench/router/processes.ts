/**
 * What the router's benchmarks share: child processes that are always killed at
 * exit (a stopped one is continued first), a redis-server of the run's own
 * (loopback, free port, nothing on disk), the bench backend, the router bin as it
 * runs, and a process tree's CPU time and resident memory read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectRedis, closeRedis } from '@hydra-ts/core';

export const BENCH_PATH = '/v1/bench/hello';
const ROUTER_BIN = join(__dirname, '..', '..', '..', 'packages', 'router', 'bin', 'hydra-router.js');
const BACKEND = join(__dirname, 'backend.js');

export const quiet = pino({ level: 'silent' });
const children = new Set<ChildProcess>();
const stopped = new Set<ChildProcess>();
export const work = mkdtempSync(join(tmpdir(), 'bench-router-'));

/** Whatever happens, nothing is left stopped or running. */
function cleanup(): void {
  for (const c of stopped) {
    if (c.pid && c.exitCode === null) {
      try {
        process.kill(c.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  }
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => process.exit(1));

/** SIGSTOP, remembering to SIGCONT it at exit. */
export function stopProcess(child: ChildProcess): void {
  stopped.add(child);
  process.kill(child.pid!, 'SIGSTOP');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Kills `child` at exit if it is still running then. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Signals `child` and resolves when it has exited. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Spawns node with `args` and resolves with its first stdout JSON line satisfying `ready`. */
export function start(args: string[], env: Record<string, string>, ready: (j: Record<string, any>) => boolean): Promise<{ child: ChildProcess; line: Record<string, any> }> {
  const child = track(spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} not ready in 60 s: ${err.slice(-500)}`)), 60_000);
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-5000)));
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const j = JSON.parse(text) as Record<string, any>;
          if (ready(j)) {
            clearTimeout(timer);
            child.stdout!.off('data', onData);
            child.stdout!.resume();
            resolve({ child, line: j });
            return;
          }
        } catch {
          // not JSON
        }
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${err.slice(-500)}`)));
  });
}

/** A redis-server of this run's own; resolves with its URL (database 0). */
export async function redisServer(): Promise<string> {
  return (await startRedisServer()).url;
}

/** A redis-server of this run's own with `extraArgs` (e.g. --maxclients); resolves once it answers, with its URL and process. */
export async function startRedisServer(extraArgs: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work, ...extraArgs], { stdio: 'ignore' }));
  const url = `redis://127.0.0.1:${port}/0`;
  for (let i = 0; i < 100; i++) {
    try {
      const c = await connectRedis({ url }, quiet, 'probe');
      await closeRedis(c);
      return { url, child };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('redis-server did not start');
}

/** One instance of the bench backend (bench/router/backend.ts) registered as `service`, serving `route`. */
export function startBackend(redisUrl: string, service: string, route = BENCH_PATH): Promise<{ child: ChildProcess; line: Record<string, any> }> {
  return start([BACKEND], {
    HYDRA_LOG_LEVEL: 'warn', HYDRA_REDIS_URL: redisUrl, BENCH_ROUTE: route,
    HYDRA_SERVICE: JSON.stringify({ serviceName: service, servicePort: 0, serviceIP: '127.0.0.1' }),
  }, (j) => j.ready === true);
}

/** The node flags of the bin's shebang (`#!/usr/bin/env -S node <flags>`), so the router runs as its bin does. */
export function binNodeFlags(): string[] {
  return readFileSync(ROUTER_BIN, 'utf8').split('\n', 1)[0]!.replace(/^#!\S*env\s+(-S\s+)?/, '').split(/\s+/).filter(Boolean).slice(1);
}

/** The router bin with `configFile` (or none), run with `nodeFlags` (the bin's by default); resolves once it serves. */
export async function startRouter(redisUrl: string, configFile?: string, nodeFlags = binNodeFlags(), options: RouterRun = {}): Promise<{ child: ChildProcess; port: number }> {
  const r = await start([...nodeFlags, options.bin ?? ROUTER_BIN, ...(configFile ? [configFile] : [])], {
    HYDRA_LOG_LEVEL: 'info', HYDRA_REDIS_URL: redisUrl, HYDRA_SERVICE: JSON.stringify({ servicePort: 0, serviceIP: '127.0.0.1' }), ...options.env,
  }, (j) => j.msg === 'hydra-router ready');
  return { child: r.child, port: r.line.port as number };
}

/** How startRouter runs a router beside the defaults. */
export interface RouterRun {
  /** Another router bin (another checkout's, for a baseline). */
  bin?: string;
  /** Environment added (e.g. OTEL_EXPORTER_OTLP_ENDPOINT). */
  env?: Record<string, string>;
}

/**
 * The checkout named by BENCH_BASELINE_DIR (built), whose router and peers run beside
 * this one's in the same run, as the baseline of a change; undefined when unset.
 */
export function baselineDir(): string | undefined {
  return process.env.BENCH_BASELINE_DIR || undefined;
}

/**
 * An OTLP/HTTP receiver that accepts every export and keeps nothing: traced targets
 * export their spans here, so their CPU includes making, batching and encoding spans.
 */
export async function otlpSink(): Promise<{ url: string; exports: () => number; close: () => void }> {
  let exports = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, exports: () => exports, close: () => void server.close() };
}

/** `pid` and its descendants (a cluster primary's workers, nginx's worker); [] once it is gone. */
export function processTree(pid: number): number[] {
  let kids: number[];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // gone
  }
  return [pid, ...kids.flatMap(processTree)];
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const TICKS_PER_S = 100;

/** CPU seconds (user + system) `pid` and its descendants have used so far. */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      // Fields after the command name, which may itself hold spaces and parentheses.
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited between listing and reading
    }
  }
  return ticks / TICKS_PER_S;
}

/** Resident memory of `pid` and its descendants, MB. */
export function rssMb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited between listing and reading
    }
  }
  return kb / 1024;
}
