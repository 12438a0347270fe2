/**
 * When trying a request again on another instance cannot run it twice: the one
 * home of these facts for makeAPIRequest and the router's proxy.
 */

/** Methods whose repetition has the effect of one call (RFC 9110 9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Error codes meaning the connection was never established, so nothing reached the instance. */
const NEVER_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/** True when `err` says the connection was never made, so the request cannot have run: safe to try elsewhere. */
export function neverSent(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NEVER_SENT_CODES.has(code);
}
