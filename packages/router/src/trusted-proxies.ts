/**
 * Which address a client connects from. `X-Forwarded-For` is written by whoever sends
 * the request, so it is believed only when the connection comes from a configured
 * proxy (config `trustedProxies`: addresses and CIDR networks); then the right-most
 * address in it that is not itself a trusted proxy is the client.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) → `127.0.0.1`. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  /** Entries are validated by settings.ts (an address or `address/prefix`). */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(prefix), type);
    }
  }

  trusts(address: string): boolean {
    if (this.empty) return false;
    const a = plain(address);
    const type = isIP(a);
    return type !== 0 && this.list.check(a, type === 6 ? 'ipv6' : 'ipv4');
  }

  /** The client's address: the peer's, or from X-Forwarded-For when the peer is a trusted proxy. */
  clientAddress(req: IncomingMessage): string {
    const peer = plain(req.socket.remoteAddress ?? 'unknown');
    const header = req.headers['x-forwarded-for'];
    if (!header || !this.trusts(peer)) return peer;
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',').map((h) => h.trim()).filter((h) => isIP(plain(h)) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) if (!this.trusts(hops[i]!)) return plain(hops[i]!);
    return hops.length ? plain(hops[0]!) : peer;
  }
}
