/**
 * The load balancer in front of the routers, standing in for the article's AWS
 * ALB: Debian's HAProxy in the foreground, health-checking each router's
 * /v1/router/health (a router that is shutting down answers 503 there), and
 * sending a request whose connection failed to the next router.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child } from './child.js';

export const HAPROXY_HELP = 'HAProxy is not installed, so there is no balancer in front of the routers; use a router directly, or install it (Debian/Ubuntu: apt-get install haproxy) and start again';

export function haproxyInstalled(): boolean {
  return !spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).error;
}

export interface Backend {
  name: string;
  host: string;
  port: number;
}

export function haproxyConfig(bindHost: string, bindPort: number, routers: Backend[]): string {
  return [
    'global',
    '  maxconn 4096',
    '',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-keep-alive 10s',
    // A failed connection is tried again on another router (redispatch); so is an
    // answer that never came, for methods that may run twice.
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response response-timeout',
    '',
    'frontend balancer',
    `  bind ${bindHost}:${bindPort}`,
    '  default_backend routers',
    '',
    'backend routers',
    '  balance roundrobin',
    '  http-request disable-l7-retry if METH_POST || { method PATCH }',
    '  option httpchk GET /v1/router/health',
    '  http-check expect status 200',
    '  default-server inter 1s fall 2 rise 1',
    ...routers.map((r) => `  server ${r.name} ${r.host}:${r.port} check`),
    '',
  ].join('\n');
}

/** Writes the config, checks it with `haproxy -c`, and runs HAProxy in the foreground. */
export function startHaproxy(dir: string, bindHost: string, bindPort: number, routers: Backend[]): Child {
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(bindHost, bindPort, routers));
  const check = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy refused its config ${file}: ${(check.stderr || check.stdout).trim()}`);
  return new Child('haproxy', ['-db', '-f', file], process.env, join(dir, 'logs', 'haproxy.log'));
}
