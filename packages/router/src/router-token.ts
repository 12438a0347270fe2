/**
 * The router token (config `routerToken`): when set, the router API, the dashboard,
 * `/metrics` and WebSocket upgrades need it, as `?token=<token>` or
 * `Authorization: Bearer <token>`. Compared as SHA-256 digests in constant time, so
 * neither the length nor a prefix of the token leaks through timing.
 */
import type { IncomingMessage } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class RouterToken {
  private readonly digest?: Buffer;

  constructor(token: string) {
    if (token) this.digest = digest(token);
  }

  /** True when no token is configured, or the request presents the right one. */
  admits(req: IncomingMessage): boolean {
    if (!this.digest) return true;
    const auth = req.headers.authorization;
    let given = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (given === undefined) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      given = q < 0 ? undefined : new URLSearchParams(url.slice(q + 1)).get('token') ?? undefined;
    }
    return given !== undefined && timingSafeEqual(digest(given), this.digest);
  }

  /** Whether a token is configured (a caller that passed admits() then holds it). */
  get configured(): boolean {
    return this.digest !== undefined;
  }
}
