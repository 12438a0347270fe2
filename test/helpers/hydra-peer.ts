/**
 * Drives a real Hydra process (test/peers/hydra-peer.js) from a test: one JSON
 * command per line on its stdin, answers and received messages on its stdout.
 * Every peer started is tracked so that `stopAllPeers()` in an `after` hook
 * ends them even when a test failed half way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The compiled helper lives in test/dist/helpers; the peer script stays in the source tree. */
export const PEER_SCRIPT = join(__dirname, '..', '..', 'peers', 'hydra-peer.js');

/** A short-form UMF message as Hydra emits it. */
export interface ShortMessage {
  to: string;
  frm: string;
  mid: string;
  rmid?: string;
  ts: string;
  ver: string;
  typ?: string;
  via?: string;
  bdy: Record<string, unknown>;
  [field: string]: unknown;
}

interface Answer {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

const running = new Set<HydraPeer>();

export class HydraPeer {
  readonly messages: ShortMessage[] = [];
  private nextId = 1;
  private readonly answers = new Map<number, (a: Answer) => void>();
  private readonly messageWaiters = new Set<() => void>();
  private readonly exited: Promise<void>;
  private stderrTail = '';

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000);
      if (process.env.HYDRA_PEER_DEBUG) process.stderr.write(`[${label}] ${chunk.toString()}`);
    });
    child.once('exit', (code, signal) => {
      running.delete(this);
      for (const [id, resolve] of this.answers) resolve({ id, ok: false, error: `peer ${label} exited (${code ?? signal}); stderr: ${this.stderrTail}` });
      this.answers.clear();
    });
  }

  /** Starts a peer process; `env` is added to this process's environment (e.g. HYDRA_SERVICE). */
  static start(label: string, env: Record<string, string> = {}): HydraPeer {
    const child = spawn(process.execPath, [PEER_SCRIPT], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const peer = new HydraPeer(label, child);
    running.add(peer);
    return peer;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private onLine(line: string): void {
    let data: { id?: number; event?: string; message?: ShortMessage } & Partial<Answer>;
    try {
      data = JSON.parse(line) as typeof data;
    } catch {
      return; // not protocol output
    }
    if (data.event === 'message' && data.message) {
      this.messages.push(data.message);
      for (const wake of this.messageWaiters) wake();
      return;
    }
    if (typeof data.id === 'number') {
      this.answers.get(data.id)?.(data as Answer);
      this.answers.delete(data.id);
    }
  }

  /** Runs one Hydra operation in the peer; rejects with Hydra's error or after `timeoutMs`. */
  call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.reject(new Error(`peer ${this.label} is not running; stderr: ${this.stderrTail}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answers.delete(id);
        reject(new Error(`peer ${this.label}: ${op} gave no answer within ${timeoutMs} ms; stderr: ${this.stderrTail}`));
      }, timeoutMs);
      this.answers.set(id, (a) => {
        clearTimeout(timer);
        if (a.ok) resolve(a.result as T);
        else reject(new Error(`peer ${this.label}: ${op} failed: ${a.error}`));
      });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** Resolves with the first received message (already received or arriving) that matches. */
  waitForMessage(match: (m: ShortMessage) => boolean, timeoutMs = 10_000): Promise<ShortMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(match);
        if (!found) return false;
        clearTimeout(timer);
        this.messageWaiters.delete(wake);
        resolve(found);
        return true;
      };
      const wake = () => void check();
      const timer = setTimeout(() => {
        this.messageWaiters.delete(wake);
        reject(new Error(`peer ${this.label}: no matching message within ${timeoutMs} ms (received ${this.messages.length})`));
      }, timeoutMs);
      if (!check()) this.messageWaiters.add(wake);
    });
  }

  /** Closes stdin (the peer exits), then SIGKILL if it has not gone within 3 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function stopAllPeers(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}
