/**
 * Commands the swarm test runs: asynchronous while the GET load runs (a synchronous
 * call would stall the load's timers), synchronous only for the clean-up that must
 * also work from an exit handler. Every call has a timeout.
 */
import { execFile, spawnSync } from 'node:child_process';

export interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

/** Runs `cmd args`, resolves with its trimmed stdout; rejects naming the command and its stderr. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.killed ? `no answer within ${opts.timeoutMs ?? 120_000} ms` : `exit ${err.code}`}: ${stderr.trim() || stdout.trim()}`));
      else resolve(stdout.trim());
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Synchronous, for clean-up: returns whether it succeeded and never throws. */
export function runSync(cmd: string, args: string[], timeoutMs = 30_000): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: timeoutMs });
  return r.status === 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
