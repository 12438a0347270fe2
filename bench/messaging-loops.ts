/**
 * The measurement code both benchmark peers run (hydra-ts in messaging-ts-peer,
 * Hydra in messaging-hydra-peer.js, which requires the compiled copy of this file),
 * so both implementations are driven by exactly the same loops. Each peer only
 * supplies how to send one message and how to make one request.
 */
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';

export interface Transport {
  /** Publishes one message to the receiver service. */
  send(body: Record<string, unknown>): Promise<unknown>;
  /** Sends one message and resolves when its reply (correlated by rmid) arrives. */
  request(body: Record<string, unknown>, timeoutMs: number): Promise<unknown>;
}

/** Sends `n` one-way messages, `batch` at a time, stopping at `maxMs`. */
export async function sendOneWay(t: Transport, n: number, batch: number, payload: string, maxMs: number): Promise<{ sent: number; ms: number }> {
  const start = performance.now();
  let sent = 0;
  while (sent < n && performance.now() - start < maxMs) {
    const size = Math.min(batch, n - sent);
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < size; i++) pending.push(t.send({ seq: sent + i, payload }));
    await Promise.all(pending);
    sent += size;
  }
  return { sent, ms: performance.now() - start };
}

export interface RoundTrips {
  /** Latency of each completed request, ms. */
  latencies: number[];
  elapsedMs: number;
  errors: number;
}

/**
 * `concurrency` workers each issue requests back to back until `n` have been
 * started or `maxMs` has passed.
 */
export async function requestReply(t: Transport, n: number, concurrency: number, payload: string, maxMs: number, timeoutMs: number): Promise<RoundTrips> {
  const latencies: number[] = [];
  let started = 0;
  let errors = 0;
  const start = performance.now();
  const worker = async () => {
    while (started < n && performance.now() - start < maxMs) {
      const seq = started++;
      const t0 = performance.now();
      try {
        await t.request({ seq, payload }, timeoutMs);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, elapsedMs: performance.now() - start, errors };
}

/** Counts received messages; `expect(n)` resolves when the count reaches n or at the deadline. */
export class Counter {
  private count = 0;
  private target = Infinity;
  private done?: () => void;

  hit(): void {
    if (++this.count >= this.target) this.done?.();
  }

  expect(n: number, timeoutMs: number): Promise<{ received: number }> {
    this.count = 0;
    this.target = n;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.done = undefined;
        this.target = Infinity;
        resolve({ received: this.count });
      };
      this.done = finish;
    });
  }
}

export type Ops = Record<string, (args: Record<string, unknown>) => unknown>;

/**
 * Serves the driver: one JSON command per stdin line `{id, op, ...args}`, one JSON
 * answer per stdout line `{id, ok, result|error}`. Libraries that print go to
 * stderr (the peer redirects console), so stdout carries only answers.
 */
export function servePeer(ops: Ops, write: (line: string) => void): void {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    let cmd: { id: number; op: string; [k: string]: unknown };
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      return;
    }
    try {
      const op = ops[cmd.op];
      if (!op) throw new Error(`unknown op ${cmd.op}`);
      const result = await op(cmd);
      write(`${JSON.stringify({ id: cmd.id, ok: true, result: result ?? null })}\n`);
    } catch (err) {
      write(`${JSON.stringify({ id: cmd.id, ok: false, error: err instanceof Error ? err.message : String(err) })}\n`);
    }
  });
  rl.on('close', () => process.exit(0));
}

/** Keeps stdout for the protocol: whatever a library prints goes to stderr. */
export function protocolStdout(): (line: string) => void {
  const write = process.stdout.write.bind(process.stdout);
  for (const name of ['log', 'info', 'dir', 'debug', 'warn'] as const) console[name] = (...args: unknown[]) => console.error(...args);
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => (process.stderr.write as (...a: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write;
  return (line) => void write(line);
}
