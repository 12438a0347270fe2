/**
 * Which addresses the router will open connections to. Instances come from Redis, and
 * whoever can write a nodes entry could otherwise make the router connect anywhere
 * (SSRF): to itself (one request turning into a storm of nested ones), to Redis (which
 * then runs the request's lines as commands), or into any network it can reach. So an
 * instance is refused as an upstream when it is this router's own listening address,
 * when it is the Redis server's, or when `upstreamNetworks` is set and does not contain
 * it. Loops through other hops (a load balancer in front of the routers) are caught by
 * the Via header instead (see router.ts).
 */
import { BlockList, isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { RedisConfig } from '@hydra-ts/core';

function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

const family = (ip: string) => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

/** Addresses that reach this machine: loopback, the wildcard, every interface's own address. */
function localList(): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('0.0.0.0', 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addAddress('::', 'ipv6');
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) list.addAddress(plain(a.address), a.family === 'IPv6' ? 'ipv6' : 'ipv4');
  return list;
}

const LOCAL_NAMES = new Set(['localhost', hostname().toLowerCase()]);

export class UpstreamGuard {
  private allowed?: BlockList;
  private readonly local = localList();
  /** host:port pairs refused outright (Redis, this router's bound address). */
  private readonly exact = new Set<string>();
  /** Ports at which any local address is refused (services bound to every interface). */
  private readonly localPorts = new Set<number>();

  /** The allow-list (validated by settings.ts) and the Redis server(s) of the config. */
  configure(upstreamNetworks: readonly string[], redis: RedisConfig): void {
    if (upstreamNetworks.length) {
      this.allowed = new BlockList();
      for (const entry of upstreamNetworks) {
        const [address, prefix] = entry.split('/') as [string, string | undefined];
        if (prefix === undefined) this.allowed.addAddress(address, family(address));
        else this.allowed.addSubnet(address, Number(prefix), family(address));
      }
    }
    const servers = redis.sentinel ? redis.sentinel.sentinels : redis.url ? [new URL(redis.url)].map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })) : [];
    for (const { host, port } of servers) this.refuse(host.replace(/^\[|\]$/g, ''), port);
  }

  /** This router's listening address (`host` undefined = every interface). */
  own(port: number, host: string | undefined): void {
    if (host === undefined) this.localPorts.add(port);
    else this.refuse(host, port);
  }

  private refuse(host: string, port: number): void {
    const h = plain(host.toLowerCase());
    if (LOCAL_NAMES.has(h) || (isIP(h) && this.local.check(h, family(h)))) this.localPorts.add(port);
    else this.exact.add(`${h}:${port}`);
  }

  /** Why `ip:port` may not be an upstream, or undefined when it may. */
  refusal(ip: string, port: number): string | undefined {
    const h = plain(ip.toLowerCase());
    const isLocal = LOCAL_NAMES.has(h) || (isIP(h) !== 0 && this.local.check(h, family(h)));
    if ((isLocal && this.localPorts.has(port)) || this.exact.has(`${h}:${port}`)) {
      return `${ip}:${port} is this router's own listening address or the Redis server's`;
    }
    if (this.allowed) {
      if (isIP(h) === 0) return `${ip} is a host name; with upstreamNetworks set, instances must register an address`;
      if (!this.allowed.check(h, family(h))) return `${ip} is outside upstreamNetworks`;
    }
    return undefined;
  }
}
