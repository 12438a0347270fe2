/**
 * Child processes started by tests, tracked so that an `after` hook ends every one
 * of them by pid, also when a test failed half way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

const running = new Set<ChildProcess>();

export interface Started {
  child: ChildProcess;
  /** Complete stdout lines so far. */
  lines: string[];
  /** The tail of everything written (stdout and stderr), for failure messages. */
  output(): string;
}

/** Runs `node <args>` with `env` over the current environment. */
export function startProcess(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Started {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let out = '';
  let partial = '';
  child.stdout!.on('data', (c: Buffer) => {
    out = (out + c.toString()).slice(-8000);
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-8000)));
  running.add(child);
  child.once('exit', () => running.delete(child));
  return { child, lines, output: () => out };
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process is gone. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
}

export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map(stopProcess));
}

/** A port that was free a moment ago on 127.0.0.1 (for processes that need a fixed port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}
