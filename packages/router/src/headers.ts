/** Header rules the router applies to every message it passes on or accepts. */

/**
 * Connection-level headers: they describe one hop and are never forwarded (RFC 9110 7.6.1).
 * `expect: 100-continue` was already answered by this router's server, and undici refuses it.
 */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'host', 'expect']);
/**
 * Further hop-by-hop names a message lists in its own Connection header (RFC 9110 7.6.1),
 * e.g. `Connection: close, X-Drop-Me`; undefined for the usual `keep-alive` / `close`, so
 * the common request allocates nothing.
 */
export function connectionNamed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return undefined;
  let names: Set<string> | undefined;
  for (const token of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') (names ??= new Set()).add(name);
  }
  return names;
}

/** Node keeps the first of several Host headers; a request naming two hosts is ambiguous and refused. */
export function duplicateHost(raw: string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}
