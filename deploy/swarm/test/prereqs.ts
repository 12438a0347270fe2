/**
 * What the swarm test needs on this machine, and how to get each missing piece.
 * (`.ci/run` installs them.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const NEEDS: Array<{ what: string; ok: () => boolean; get: string }> = [
  { what: 'root (network namespaces, dockerd)', ok: () => process.getuid?.() === 0, get: 'run as root (e.g. sudo npm run test:swarm)' },
  { what: 'dockerd 20.10 (Debian docker.io)', ok: () => has('dockerd'), get: 'apt-get install docker.io' },
  { what: 'docker CLI', ok: () => has('docker'), get: 'apt-get install docker.io' },
  { what: 'containerd and runc', ok: () => has('containerd') && has('runc'), get: 'apt-get install docker.io' },
  { what: 'docker-init (init: true)', ok: () => has('docker-init'), get: 'apt-get install docker.io' },
  { what: 'docker-registry (Distribution)', ok: () => has('docker-registry'), get: 'apt-get install docker-registry' },
  { what: 'htpasswd', ok: () => has('htpasswd'), get: 'apt-get install apache2-utils' },
  { what: 'a static busybox at /bin/busybox (the local base image)', ok: () => existsSync('/bin/busybox') && !dynamic('/bin/busybox'), get: 'apt-get install busybox-static' },
  { what: 'ip (iproute2) and unshare (util-linux)', ok: () => has('ip') && has('unshare'), get: 'apt-get install iproute2 util-linux' },
  { what: 'redis-server and redis-cli', ok: () => has('redis-server') && has('redis-cli'), get: 'apt-get install redis-server' },
  { what: 'HAProxy (the load balancer in front of the routers)', ok: () => has('haproxy'), get: 'apt-get install haproxy' },
];

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function dynamic(path: string): boolean {
  try {
    execFileSync('ldd', [path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Throws one error listing everything missing, each with the command that brings it. */
export function checkPrerequisites(): void {
  const missing = NEEDS.filter((n) => !n.ok());
  if (missing.length === 0) return;
  throw new Error(`the swarm test cannot run here; missing:\n${missing.map((m) => `  - ${m.what}: ${m.get}`).join('\n')}`);
}
