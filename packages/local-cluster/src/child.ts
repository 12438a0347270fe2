/**
 * One process the cluster started: its own process group (a Ctrl-C at the
 * terminal reaches only hydra-cluster, which then stops each child once, in
 * order), output to a log file of its own, and stopped by its pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** How long a graceful stop may take before SIGKILL. */
export const STOP_TIMEOUT_MS = 15_000;

export class Child {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private gone = false;

  constructor(
    readonly command: string,
    readonly args: string[],
    readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {
    const fd = openSync(logFile, 'a');
    try {
      this.process = spawn(command, args, { env, stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.gone = true;
        resolve({ code, signal });
      });
      // spawn failures (ENOENT) come as 'error' without 'exit'.
      this.process.once('error', () => {
        this.gone = true;
        resolve({ code: null, signal: null });
      });
    });
  }

  get pid(): number {
    return this.process.pid ?? 0;
  }

  get running(): boolean {
    return !this.gone;
  }

  /** The last lines of its log, for error messages. */
  logTail(lines = 15): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** `signal` (SIGTERM: drain and exit), then SIGKILL after `timeoutMs`; resolves once it is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    if (!this.running) return;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL: a host dying. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGKILL');
    await this.exited;
  }
}
