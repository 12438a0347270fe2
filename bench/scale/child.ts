/**
 * The orchestrator's side of bench:scale's IPC (see ipc.ts): a forked child with
 * request/answer calls, events, a ready signal, and a kill by pid at exit.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { track } from '../router/processes.js';

/** A child process of the bench, driven over IPC; always SIGKILLed at exit if still running. */
export class Child {
  readonly process: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(m: Record<string, unknown>) => void>();
  private stderr = '';
  private readonly readyEvent: Promise<Record<string, unknown>>;

  constructor(
    readonly label: string,
    readonly script: string,
    args: string[],
    execArgv: string[] = [],
  ) {
    this.process = track(fork(script, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { PATH: process.env.PATH ?? '' }, execArgv }));
    this.readyEvent = new Promise((resolve, reject) => {
      const off = this.onEvent((m) => {
        if (m.event === 'ready') off(), resolve(m);
      });
      this.process.once('exit', (code, signal) => reject(new Error(`${label} exited (${signal ?? code}) before it was ready: ${this.stderr.trim()}`)));
    });
    this.readyEvent.catch(() => undefined); // awaited (or not) through ready()
    this.process.stderr!.on('data', (d: Buffer) => void (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.process.on('message', (m: Record<string, unknown>) => {
      if (typeof m.event === 'string') {
        for (const l of this.listeners) l(m);
        return;
      }
      const w = this.waiting.get(m.id as number);
      this.waiting.delete(m.id as number);
      if (m.ok) w?.resolve(m.result);
      else w?.reject(new Error(`${this.label}: ${String(m.error)}`));
    });
    this.process.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`${this.label} exited (${signal ?? code}): ${this.stderr.trim()}`));
      this.waiting.clear();
    });
  }

  /** Resolves with the child's `ready` event (sent once it can take requests). */
  ready(timeoutMs = 60_000): Promise<Record<string, unknown>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} not ready within ${timeoutMs} ms: ${this.stderr.trim()}`)), timeoutMs);
    });
    return Promise.race([this.readyEvent, timeout]).finally(() => clearTimeout(timer));
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Sends `op` and resolves with the answer; rejects after `timeoutMs` or when the child exits. */
  call<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        reject(new Error(`${this.label} has exited: ${this.stderr.trim()}`));
        return;
      }
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.label}: ${op} gave no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.process.send({ id, op, args });
    });
  }

  /** Calls `listener` with every event the child sends; returns the unsubscribe. */
  onEvent(listener: (m: Record<string, unknown>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Asks the child to exit by itself (the `exit` op) and resolves once it has, or after `timeoutMs`. */
  async exit(timeoutMs: number): Promise<void> {
    const p = this.process;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    await this.call('exit', {}, timeoutMs).catch(() => undefined);
    await Promise.race([gone, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** SIGKILL by pid; resolves when it has exited. */
  kill(): Promise<void> {
    const p = this.process;
    if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }
}
