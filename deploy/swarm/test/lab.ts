/**
 * What the swarm test builds on this machine, and its removal: a bridge on the host
 * (198.19.200.1/24), one network namespace per swarm node joined to it by a veth pair,
 * a dockerd per node plus a build engine on the host, a private registry that needs a
 * login, Redis with a password, and HAProxy in front of the managers' routers (the
 * article's load balancer), all three on the bridge address. Every engine has its
 * own data root, exec root, socket, pidfile and daemon.json, so a Docker engine already
 * running here is left alone. Everything lives under LAB_DIR or carries the `hsw`
 * prefix; clean() removes it all, including what a killed earlier run left behind.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haproxyConfig } from '@hydra-ts/local-cluster';
import { run, runSync, sleep } from './run.js';

export const LAB_DIR = '/tmp/hydra-ts-swarm';
const PIDS_FILE = join(LAB_DIR, 'pids');
export const BRIDGE = 'hsw0';
export const HOST_IP = '198.19.200.1';
/** Two managers (a router on each, behind the balancer) and two workers. */
export const NODES = [
  { name: 'mgr', ip: '198.19.200.2', role: 'manager' },
  { name: 'mgr2', ip: '198.19.200.5', role: 'manager' },
  { name: 'wk1', ip: '198.19.200.3', role: 'worker' },
  { name: 'wk2', ip: '198.19.200.4', role: 'worker' },
] as const;
export type NodeName = (typeof NODES)[number]['name'];
const netns = (name: string) => `hsw-${name}`;

/** The CLI environment every docker call uses: its own config dir (the registry login lands there). */
export const DOCKER_ENV = { DOCKER_CONFIG: join(LAB_DIR, 'client'), DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' };

export class Engine {
  constructor(readonly name: string, readonly dir: string) {}
  get host(): string {
    return `unix://${join(this.dir, 'docker.sock')}`;
  }
  /** `docker -H <this engine> ...` */
  docker(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<string> {
    return run('docker', ['-H', this.host, ...args], { ...opts, env: { ...DOCKER_ENV, ...opts.env } });
  }
}

function remember(name: string, pid: number): void {
  appendFileSync(PIDS_FILE, `${name} ${pid}\n`);
}

/** Starts `cmd` in the background, output to <LAB_DIR>/<log>, and records its pid for clean(). */
function startDaemon(name: string, cmd: string, args: string[]): number {
  const log = openSync(join(LAB_DIR, `${name}.log`), 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  if (!child.pid) throw new Error(`cannot start ${cmd}`);
  child.unref();
  remember(name, child.pid);
  return child.pid;
}

async function waitUntil(what: string, probe: () => Promise<unknown>, timeoutMs: number, logName?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      await probe();
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  const tail = logName ? `\n--- last lines of ${logName}.log ---\n${readFileSync(join(LAB_DIR, `${logName}.log`), 'utf8').split('\n').slice(-15).join('\n')}` : '';
  throw new Error(`${what} not ready within ${timeoutMs} ms: ${last}${tail}`);
}

function dockerdArgs(dir: string, extra: string[]): string[] {
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json') }));
  return [
    '--config-file', join(dir, 'daemon.json'), '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'dockerd.pid'), '-H', `unix://${join(dir, 'docker.sock')}`, '--storage-driver', 'overlay2', ...extra,
  ];
}


/** The build engine, in the host's network (its builds reach the npm registry as npm here does) but touching none of it. */
export async function startBuilder(registry: string): Promise<Engine> {
  const dir = join(LAB_DIR, 'builder');
  mkdirSync(dir, { recursive: true });
  // A private mount namespace: the engine's mounts vanish with it.
  startDaemon('builder', 'unshare', ['--mount', '--propagation', 'private', 'dockerd', ...dockerdArgs(dir, ['--bridge', 'none', '--iptables=false', '--ip-masq=false', '--insecure-registry', registry])]);
  const engine = new Engine('builder', dir);
  await waitUntil('the build engine', () => engine.docker(['version']), 60_000, 'builder');
  return engine;
}

export function makeBridge(): void {
  mustSync('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  mustSync('ip', ['addr', 'add', `${HOST_IP}/24`, 'dev', BRIDGE]);
  mustSync('ip', ['link', 'set', BRIDGE, 'up']);
}

/** A swarm node: a network namespace on the bridge and a dockerd inside it. */
export async function startNode(node: (typeof NODES)[number], registry: string): Promise<Engine> {
  const ns = netns(node.name);
  const veth = `${ns}-h`;
  mustSync('ip', ['netns', 'add', ns]);
  mustSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  mustSync('ip', ['link', 'set', veth, 'master', BRIDGE, 'up']);
  mustSync('ip', ['-n', ns, 'addr', 'add', `${node.ip}/24`, 'dev', 'eth0']);
  mustSync('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  mustSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // No default route: nothing in the namespace can reach past the bridge's /24.
  const dir = join(LAB_DIR, node.name);
  mkdirSync(dir, { recursive: true });
  // nsenter, not `ip netns exec`: that one remounts /sys, hiding the cgroup mounts dockerd needs.
  startDaemon(node.name, 'nsenter', [`--net=/run/netns/${ns}`, 'unshare', '--mount', '--propagation', 'private', 'dockerd', ...dockerdArgs(dir, [
    // Addresses docker hands out stay in 198.18.0.0/15. DOCKER_SERVICE_PREFER_OFFLINE_IMAGE is
    // not set: it stops swarm from pulling at all, and the workers must pull from the registry.
    '--bip', '198.19.255.1/24', '--default-address-pool', 'base=198.18.0.0/16,size=24', '--insecure-registry', registry,
  ])]);
  const engine = new Engine(node.name, dir);
  await waitUntil(`dockerd of ${node.name}`, () => engine.docker(['version']), 60_000, node.name);
  return engine;
}

/** Debian's docker-registry with htpasswd auth on the bridge address. */
export async function startRegistry(port: number, user: string, password: string): Promise<string> {
  const dir = join(LAB_DIR, 'registry');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const htpasswd = await run('htpasswd', ['-Bbn', user, password]);
  writeFileSync(join(dir, 'htpasswd'), `${htpasswd}\n`);
  writeFileSync(join(dir, 'config.yml'), [
    'version: 0.1',
    'log: { level: warn }',
    `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} } }`,
    `http: { addr: "${HOST_IP}:${port}", secret: "${password}" }`,
    `auth: { htpasswd: { realm: hydra-ts-swarm, path: ${join(dir, 'htpasswd')} } }`,
    '',
  ].join('\n'));
  startDaemon('registry', 'docker-registry', ['serve', join(dir, 'config.yml')]);
  const address = `${HOST_IP}:${port}`;
  await waitUntil('the registry', async () => {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2000) });
    if (res.status !== 401) throw new Error(`GET /v2/ answered ${res.status}, not 401`);
  }, 30_000, 'registry');
  return address;
}

/** The load balancer in front of the routers (the local cluster's HAProxy config): resolves with its URL. */
export async function startBalancer(port: number, routers: Array<{ name: string; ip: string }>): Promise<string> {
  const file = join(LAB_DIR, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(HOST_IP, port, routers.map((r) => ({ name: r.name, host: r.ip, port: 80 }))));
  startDaemon('haproxy', 'haproxy', ['-db', '-f', file]);
  const url = `http://${HOST_IP}:${port}`;
  await waitUntil('the balancer', async () => {
    const res = await fetch(`${url}/v1/router/health`, { signal: AbortSignal.timeout(2000) });
    if (res.status !== 200) throw new Error(`GET /v1/router/health answered ${res.status}`);
  }, 120_000, 'haproxy');
  return url;
}

/** Redis outside the swarm, as in the article: on the bridge address, with a password. */
export async function startRedis(port: number, password: string): Promise<string> {
  const dir = join(LAB_DIR, 'redis');
  mkdirSync(dir, { recursive: true });
  startDaemon('redis', 'redis-server', ['--bind', HOST_IP, '--port', String(port), '--requirepass', password, '--save', '', '--appendonly', 'no', '--dir', dir]);
  await waitUntil('redis', () => run('redis-cli', ['-h', HOST_IP, '-p', String(port), '--no-auth-warning', '-a', password, 'ping']), 20_000, 'redis');
  return `redis://:${password}@${HOST_IP}:${port}/15`;
}

function mustSync(cmd: string, args: string[]): void {
  if (!runSync(cmd, args)) throw new Error(`${cmd} ${args.join(' ')} failed`);
}

// ---- clean-up: synchronous, idempotent, safe to run at start and from exit handlers ----

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** A process of this lab: its command line or its working directory (redis-server rewrites its title) names LAB_DIR. */
function ours(pid: number): boolean {
  try {
    return cmdline(pid).includes(LAB_DIR) || readlinkSync(`/proc/${pid}/cwd`).startsWith(LAB_DIR);
  } catch {
    return false;
  }
}

function waitGone(pid: number, ms: number): boolean {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  return !alive(pid);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function childrenOf(pid: number): number[] {
  return allPids().filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pid;
    } catch {
      return false;
    }
  });
}

/** Stops what this test started (by recorded pid, checked against its command line), removes namespaces, links, mounts and files. */
export function clean(log: (line: string) => void = () => {}): void {
  const recorded = existsSync(PIDS_FILE)
    ? readFileSync(PIDS_FILE, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')).map(([name, pid]) => ({ name: name!, pid: Number(pid) }))
    : [];
  // Engines first, all at once (each stops its containers), then the registry, Redis and HAProxy.
  const services = new Set(['registry', 'redis', 'haproxy']);
  const engineFirst = [recorded.filter((r) => !services.has(r.name)), recorded.filter((r) => services.has(r.name))];
  for (const group of engineFirst) {
    const mine = group.filter(({ pid }) => alive(pid) && ours(pid)); // else a reused pid: not ours
    for (const { pid } of mine) signal(pid, 'SIGTERM');
    for (const { name, pid } of mine) {
      if (waitGone(pid, 30_000)) continue;
      log(`${name} (pid ${pid}) did not stop on SIGTERM within 30 s; killing it`);
      signal(pid, 'SIGKILL');
      waitGone(pid, 5_000);
    }
  }
  // Container shims of a killed engine outlive it: end each container's init, then the shim.
  for (const pid of allPids().filter((p) => cmdline(p).startsWith('/usr/bin/containerd-shim') && cmdline(p).includes(LAB_DIR))) {
    for (const child of childrenOf(pid)) signal(child, 'SIGKILL');
    signal(pid, 'SIGKILL');
    waitGone(pid, 5_000);
  }
  for (const node of NODES) runSync('ip', ['netns', 'del', netns(node.name)]);
  runSync('ip', ['link', 'del', BRIDGE]);
  if (existsSync('/proc/self/mounts')) {
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(LAB_DIR));
    for (const m of mounts.reverse()) runSync('umount', ['-l', m]);
  }
  rmSync(LAB_DIR, { recursive: true, force: true });
}

/** True when an earlier run left something behind (clean() then removes it). */
export function leftovers(): boolean {
  return existsSync(LAB_DIR) || runSync('ip', ['link', 'show', BRIDGE]) || NODES.some((n) => existsSync(`/run/netns/${netns(n.name)}`));
}

export function prepareDir(): void {
  mkdirSync(join(LAB_DIR, 'client'), { recursive: true });
  writeFileSync(PIDS_FILE, '');
}
