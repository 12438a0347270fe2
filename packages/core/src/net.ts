/**
 * Where a service says it can be reached (serviceIP) and binding its port
 * (servicePort) the way Hydra configures them. Ports are bound by listening,
 * not probed first, so two services starting together cannot both pick the same one.
 */
import { networkInterfaces } from 'node:os';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Server } from 'node:http';
import type { HydraConfig } from './config.js';
import { HydraError } from './errors.js';

/**
 * serviceDNS if set; '' → the first non-loopback IPv4; 'a.b.*' → the first IPv4
 * starting with 'a.b.'; a host name → its address; otherwise the IP as given.
 */
export async function resolveServiceIP(config: Pick<HydraConfig, 'serviceIP' | 'serviceDNS' | 'serviceInterface'>): Promise<string> {
  if (config.serviceDNS) return config.serviceDNS;
  const ip = config.serviceIP;
  const v4 = Object.entries(networkInterfaces()).flatMap(([name, addrs]) => (addrs ?? []).filter((a) => a.family === 'IPv4').map((a) => ({ name, ...a })));
  if (ip.includes('*')) {
    const prefix = ip.slice(0, ip.indexOf('*'));
    const hit = v4.find((a) => a.address.startsWith(prefix));
    if (!hit) throw new HydraError('INVALID_CONFIG', `config field hydra.serviceIP "${ip}" matches no IPv4 interface (have: ${v4.map((a) => a.address).join(', ')})`);
    return hit.address;
  }
  if (ip === '') {
    if (config.serviceInterface) {
      const [name, mask] = config.serviceInterface.split('/');
      const hit = v4.find((a) => a.name === name && a.netmask === mask);
      if (!hit) throw new HydraError('INVALID_CONFIG', `config field hydra.serviceInterface "${config.serviceInterface}" matches no interface (form: <name>/<netmask>)`);
      return hit.address;
    }
    return v4.find((a) => !a.internal)?.address ?? '127.0.0.1';
  }
  if (isIP(ip)) return ip;
  try {
    return (await lookup(ip, { family: 4 })).address;
  } catch (err) {
    throw new HydraError('INVALID_CONFIG', `config field hydra.serviceIP "${ip}" does not resolve: ${(err as Error).message}`);
  }
}

function listenOnce(server: Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Listens on servicePort (a number, 0 for any, or a range 'a-b' tried in order)
 * and returns the port bound. `host` is the address to bind; undefined = all.
 */
export async function listenOnServicePort(server: Server, servicePort: number | string, host?: string): Promise<number> {
  if (typeof servicePort === 'number') {
    try {
      return await listenOnce(server, servicePort, host);
    } catch (err) {
      throw new HydraError('INVALID_CONFIG', `cannot listen on port ${servicePort}${host ? ` of ${host}` : ''}: ${(err as Error).message}`);
    }
  }
  const [lo, hi] = servicePort.split('-').map(Number) as [number, number];
  for (let port = lo; port <= hi; port++) {
    try {
      return await listenOnce(server, port, host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new HydraError('INVALID_CONFIG', `cannot listen on port ${port}: ${(err as Error).message}`);
    }
  }
  throw new HydraError('INVALID_CONFIG', `no free port in hydra.servicePort range ${servicePort}`);
}
