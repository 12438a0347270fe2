/**
 * What one WebSocket client may cost the router. ws itself caps one message at
 * `wsMaxPayload` (closing with 1009); on top of that:
 *
 * - bytes of messages still arriving (not yet complete) are counted per connection and
 *   in total: when the total would pass `wsMaxBuffered`, the connection adding the bytes
 *   is closed with 1013 (try again later), so many concurrent large frames cannot take
 *   the router's memory;
 * - messages per connection are metered by a token bucket of `wsMessageRate` per second
 *   (a burst of one second's worth): a faster client is closed with 1008;
 * - bytes queued to a client that it has not read (ws's `bufferedAmount`, growing once
 *   the kernel's buffers are full) are looked at before each send: a client with more than
 *   `wsMaxBackpressure` queued is closed with 1008 instead of being sent more, so a client
 *   that stops reading cannot make the router hold everything sent to it. (A single message
 *   larger than the limit still goes to a client that keeps up.)
 *
 * An offender's socket stops being read at once (nothing more is buffered for it) and is
 * destroyed a moment after its close frame went out.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

export const CLOSE_POLICY = 1008;
export const CLOSE_TRY_AGAIN = 1013;
/** Time an offender's close frame gets to leave before the socket is destroyed. */
const LINGER_MS = 500;

export interface WsLimitSettings {
  wsMaxBuffered: number;
  wsMessageRate: number;
  wsMaxBackpressure: number;
}

/** One connection's budget: bytes of its message in progress, and its message tokens. */
class Budget {
  pending = 0;
  tokens: number;
  refilledAt = Date.now();
  closed = false;

  constructor(rate: number, readonly socket: Duplex) {
    this.tokens = rate;
  }
}

export class WsLimits {
  /** Bytes of incomplete messages over all connections. */
  private total = 0;
  private readonly budgets = new WeakMap<WebSocket, Budget>();

  constructor(private readonly s: WsLimitSettings) {}

  get bufferedBytes(): number {
    return this.total;
  }

  /** Starts metering a new connection on `socket` (the upgraded TCP socket). */
  track(ws: WebSocket, socket: Duplex): void {
    const budget = new Budget(this.s.wsMessageRate, socket);
    this.budgets.set(ws, budget);
    socket.on('data', (chunk: Buffer) => {
      if (budget.closed) return;
      budget.pending += chunk.length;
      this.total += chunk.length;
      if (this.total > this.s.wsMaxBuffered) {
        this.offend(ws, socket, budget, CLOSE_TRY_AGAIN, 'the router is buffering too many incoming bytes (wsMaxBuffered); try again later');
      }
    });
    ws.on('close', () => this.release(budget));
    // Control frames end what was pending too (they are not messages).
    const settled = () => {
      this.total -= budget.pending;
      budget.pending = 0;
    };
    ws.on('ping', settled);
    ws.on('pong', settled);
  }

  /**
   * A complete message arrived: its bytes are no longer pending. Returns false (and
   * closes the connection) when the client sends faster than wsMessageRate.
   */
  admit(ws: WebSocket, socket: Duplex): boolean {
    const budget = this.budgets.get(ws);
    if (!budget || budget.closed) return false;
    this.total -= budget.pending;
    budget.pending = 0;
    const now = Date.now();
    const rate = this.s.wsMessageRate;
    budget.tokens = Math.min(rate, budget.tokens + ((now - budget.refilledAt) / 1000) * rate);
    budget.refilledAt = now;
    if (budget.tokens < 1) {
      this.offend(ws, socket, budget, CLOSE_POLICY, `more than ${rate} messages a second (wsMessageRate)`);
      return false;
    }
    budget.tokens -= 1;
    return true;
  }

  /**
   * Before sending to `ws`: when the client left more than wsMaxBackpressure bytes unread,
   * it is closed (1008) and the answer is the reason; undefined means send.
   */
  backlogged(ws: WebSocket): string | undefined {
    if (ws.bufferedAmount <= this.s.wsMaxBackpressure) return undefined;
    const budget = this.budgets.get(ws);
    const reason = `not reading: more than ${this.s.wsMaxBackpressure} bytes queued to it (wsMaxBackpressure)`;
    if (budget && !budget.closed) this.offend(ws, budget.socket, budget, CLOSE_POLICY, reason);
    return reason;
  }

  private release(budget: Budget): void {
    this.total -= budget.pending;
    budget.pending = 0;
    budget.closed = true;
  }

  private offend(ws: WebSocket, socket: Duplex, budget: Budget, code: number, reason: string): void {
    this.release(budget);
    socket.pause();
    ws.close(code, reason);
    setTimeout(() => ws.terminate(), LINGER_MS).unref();
  }
}
