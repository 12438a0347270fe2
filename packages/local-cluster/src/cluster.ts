/**
 * The article's cluster on one machine. Managers and workers are simulated hosts,
 * each a loopback address; every process the cluster starts is a real one (a
 * router, a service, HAProxy, maybe redis-server), registered in Redis the way a
 * swarm's would be. The cluster follows the registry through core's Discovery, so
 * "up" means what routers see: presence in Redis.
 *
 * Changes (scale, rollout) run one at a time; kill and status answer at once.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Hydra, defaultLogger, errorMessage, keys, redactUrl, type Instance as Registered } from '@hydra-ts/core';
import { Child } from './child.js';
import { chooseRedis, type RedisChoice } from './redis-source.js';
import { HAPROXY_HELP, haproxyInstalled, startHaproxy } from './haproxy.js';
import { cliBin, nextVersion, routerSpec, workerSpec, type ServiceSpec } from './services.js';
import { OTLP_BASE_PATH } from '@hydra-ts/router';
import { resolveOptions, type ClusterOptions, type ResolvedOptions } from './options.js';
import { serveControl, SOCKET_NAME } from './control.js';
import { runCommand } from './commands.js';
import type { Server } from 'node:net';

const run = promisify(execFile);
const ROUTER = 'hydra-router';
/** How long every router has to list a new instance, or drop a stopped one. */
const ROUTERS_CONVERGE_MS = 10_000;
const HTTP_TIMEOUT_MS = 2000;

export interface Host {
  name: string;
  role: 'manager' | 'worker';
  ip: string;
  /** Killed: its processes got SIGKILL and nothing is placed on it any more. */
  down: boolean;
}

export type InstanceState = 'starting' | 'up' | 'stopping';

/** One process of the cluster on one host. */
export interface ClusterInstance {
  host: Host;
  service: string;
  version: string;
  port: number;
  child: Child;
  state: InstanceState;
  /** The registry's instance id, once it registered. */
  instanceId?: string;
}

export interface InstanceStatus {
  host: string;
  ip: string;
  service: string;
  version: string;
  port: number;
  pid: number;
  state: InstanceState;
  instanceId?: string;
}

export interface ClusterStatus {
  redisUrl: string;
  dir: string;
  controlSocket?: string;
  balancer?: string;
  routers: string[];
  hosts: Array<{ name: string; role: string; ip: string; down: boolean }>;
  instances: InstanceStatus[];
  versions: Record<string, string>;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Cluster {
  readonly hosts: Host[];
  readonly specs = new Map<string, ServiceSpec>();
  /** The version each service runs (what a scale-up starts). */
  readonly versions = new Map<string, string>();
  private readonly instances = new Set<ClusterInstance>();
  private readonly registered = new Map<ClusterInstance, Waiter>();
  /** Instance id → label, kept after the instance is gone so its 'down' line can name it. */
  private readonly labels = new Map<string, string>();
  /** Instance id → service, of every instance this cluster started that registered: what stop() cleans up. */
  private readonly ownIds = new Map<string, string>();
  private hydra?: Hydra;
  private redis?: RedisChoice;
  private balancerChild?: Child;
  /** Whether HAProxy goes in front of the routers (decided at start). */
  private withBalancer = false;
  private queue: Promise<unknown> = Promise.resolve();
  private stopping?: Promise<void>;
  private control?: Server;
  private markStopped!: () => void;
  /** Resolves once stop() has finished (also when a `stop` command came through the control socket). */
  readonly stopped = new Promise<void>((resolve) => (this.markStopped = resolve));
  /** Instance lines are reported once the start-up table is out. */
  private announcing = false;
  readonly dir: string;
  readonly opts: ResolvedOptions;
  /** Notes for the start-up report (a missing HAProxy or service). */
  readonly notes: string[] = [];
  startedInMs = 0;

  constructor(options: ClusterOptions) {
    this.opts = resolveOptions(options);
    this.dir = mkdtempSync(join(tmpdir(), 'hydra-cluster-'));
    mkdirSync(join(this.dir, 'logs'));
    mkdirSync(join(this.dir, 'configs'));
    const o = this.opts;
    this.hosts = [
      ...Array.from({ length: o.managers }, (_, i) => ({ name: `manager-${i + 1}`, role: 'manager' as const, ip: `${o.managerPrefix}${i + 1}`, down: false })),
      ...Array.from({ length: o.workers }, (_, i) => ({ name: `worker-${i + 1}`, role: 'worker' as const, ip: `${o.workerPrefix}${i + 1}`, down: false })),
    ];
  }

  get redisUrl(): string {
    return this.redis?.url ?? '';
  }

  get redisOrigin(): string {
    return this.redis?.origin ?? '';
  }

  get balancerUrl(): string | undefined {
    return this.balancerChild ? `http://${this.opts.balancerHost}:${this.opts.balancerPort}` : undefined;
  }

  get balancerPid(): number | undefined {
    return this.balancerChild?.pid;
  }

  /** Router base URLs of live managers. */
  routerUrls(): string[] {
    return this.hosts.filter((h) => h.role === 'manager' && !h.down).map((h) => `http://${h.ip}:${this.opts.routerPort}`);
  }

  list(service?: string): ClusterInstance[] {
    return [...this.instances].filter((i) => service === undefined || i.service === service);
  }

  /** Everything up, in this order: Redis, configs, routers and services (together), HAProxy. */
  async start(): Promise<void> {
    const started = Date.now();
    const o = this.opts;
    // The children run in process groups of their own (a terminal's Ctrl-C reaches only
    // us), so nothing else ends them: should this process exit without stop() (an error,
    // a test runner giving up), they go with it.
    process.once('exit', this.killAllNow);
    const installed = haproxyInstalled();
    this.withBalancer = o.balancer ?? installed;
    if (this.withBalancer && !installed) throw new Error(HAPROXY_HELP);
    this.specs.set(ROUTER, routerSpec());
    for (const name of o.services) {
      const spec = workerSpec(name);
      if (spec) this.specs.set(name, spec);
      else this.notes.push(`${name} is not built in this checkout (no examples/${name}/dist); running without it`);
    }
    for (const [name, spec] of this.specs) this.versions.set(name, spec.defaultVersion);

    this.redis = await chooseRedis(o.redisUrl, this.dir);
    this.hydra = await Hydra.create({ hydra: { serviceName: 'hydra-cluster', redis: { url: this.redis.url } } }, { env: {}, logger: silentLogger(), discovery: 'all' });
    this.hydra.discovery.on('up', (i) => this.onUp(i));
    this.hydra.discovery.on('down', (i) => this.onDown(i));

    await Promise.all([...this.specs.keys()].map((name) => this.pushConfig(name, this.versions.get(name)!)));

    const starting: Array<Promise<unknown>> = [];
    for (const host of this.hosts.filter((h) => h.role === 'manager')) starting.push(this.startInstance(host, ROUTER, this.versions.get(ROUTER)!));
    for (const name of this.specs.keys()) {
      if (name === ROUTER) continue;
      for (let n = 0; n < o.instances; n++) starting.push(this.startInstance(this.placeFor(name), name, this.versions.get(name)!));
    }
    await Promise.all(starting);
    await Promise.all(this.routerUrls().map((url) => waitForOk(`${url}/v1/router/health`, o.startTimeoutMs)));
    await this.untilRoutersSee(this.list().filter((i) => i.service !== ROUTER));

    if (this.withBalancer) {
      const routers = this.hosts.filter((h) => h.role === 'manager').map((h) => ({ name: h.name, host: h.ip, port: o.routerPort }));
      const balancer = (this.balancerChild = startHaproxy(this.dir, o.balancerHost, o.balancerPort, routers));
      void balancer.exited.then(({ code, signal }) => {
        if (!this.stopping) this.opts.onEvent(`! haproxy exited on its own (${signal ?? `code ${code}`}); log: ${balancer.logFile}`);
      });
      try {
        await waitForOk(`${this.balancerUrl}/v1/router/health`, o.startTimeoutMs, this.balancerChild);
      } catch (err) {
        throw new Error(`${errorMessage(err)}\n${this.balancerChild.logTail()}`);
      }
    } else if (o.balancer === undefined) {
      this.notes.push(HAPROXY_HELP);
    }
    if (o.controlSocket) {
      this.control = await serveControl(join(this.dir, SOCKET_NAME), async (line) => {
        const result = await runCommand(this, line);
        // What scripts change shows at the cluster's terminal too.
        if (!/^\s*(status|help)?\s*$/.test(line)) this.opts.onEvent(`ctl ${line.trim()}: ${result.ok ? '' : 'refused: '}${result.text}`);
        if (result.stop) setImmediate(() => void this.stop());
        return result;
      });
    }
    this.startedInMs = Date.now() - started;
  }

  /** From now on, report each instance that comes or goes. */
  announce(): void {
    this.announcing = true;
  }

  /** Writes `<svc>:<version>` with hydra-cli cfg push, as the article does. */
  async pushConfig(service: string, version: string): Promise<void> {
    const spec = this.specs.get(service);
    if (!spec) throw new Error(`unknown service "${service}"; running: ${[...this.specs.keys()].join(', ')}`);
    const doc = structuredClone(spec.baseConfig) as { hydra: Record<string, unknown> };
    doc.hydra.serviceVersion = version;
    doc.hydra.redis = { url: this.redisUrl };
    const file = join(this.dir, 'configs', `${service}-${version}.json`);
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    try {
      await run(process.execPath, [cliBin(), '--redis', this.redisUrl, 'cfg', 'push', `${service}:${version}`, file], { timeout: this.opts.startTimeoutMs });
    } catch (err) {
      const e = err as { stderr?: string; killed?: boolean };
      const why = e.killed ? `no answer within ${this.opts.startTimeoutMs} ms` : e.stderr?.trim() || errorMessage(err);
      throw new Error(`hydra-cli cfg push ${service}:${version} failed: ${why}`);
    }
  }

  /** Runs changes one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  /** The live worker with the fewest instances of `service` (then of anything), lowest number first. */
  private placeFor(service: string, avoid?: Host): Host {
    const workers = this.hosts.filter((h) => h.role === 'worker' && !h.down && h !== avoid);
    if (workers.length === 0) throw new Error(`no live worker host to run ${service} on`);
    const count = (h: Host, svc?: string) => this.list(svc).filter((i) => i.host === h).length;
    return workers.reduce((best, h) => {
      const a = [count(h, service), count(h)];
      const b = [count(best, service), count(best)];
      return a[0]! < b[0]! || (a[0] === b[0] && a[1]! < b[1]!) ? h : best;
    });
  }

  private portFor(host: Host, service: string): number {
    const base = service === ROUTER ? this.opts.routerPort : this.opts.servicePorts[service]!;
    const used = new Set(this.list().filter((i) => i.host === host).map((i) => i.port));
    let port = base;
    while (used.has(port)) port++;
    return port;
  }

  /**
   * OpenTelemetry's environment for a process whose spans go to the routers' dashboards:
   * the routers' OTLP/JSON endpoint, through the balancer (any router takes them and
   * shares them with the rest), else the first router. Spans leave every second, not
   * the SDK's default five, so a game shows up on the page while one watches.
   */
  private dashboardTraceEnv(): Record<string, string> {
    const o = this.opts;
    const front = this.withBalancer ? `http://${o.balancerHost}:${o.balancerPort}` : `http://${o.managerPrefix}1:${o.routerPort}`;
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: `${front}${OTLP_BASE_PATH}`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: process.env.OTEL_BSP_SCHEDULE_DELAY ?? '1000',
    };
  }

  /** Starts one instance and resolves once it is in the registry (its presence written). */
  private async startInstance(host: Host, service: string, version: string): Promise<ClusterInstance> {
    if (this.stopping) throw new Error('the cluster is stopping');
    const spec = this.specs.get(service)!;
    const port = this.portFor(host, service);
    const env = {
      ...process.env,
      ...(this.opts.dashboardTraces ? this.dashboardTraceEnv() : {}),
      HYDRA_REDIS_URL: this.redisUrl,
      HYDRA_SERVICE: `${service}:${version}`,
      HYDRA_SERVICE_IP: host.ip,
      HYDRA_SERVICE_PORT: String(port),
    };
    const child = new Child(spec.bin, [], env, join(this.dir, 'logs', `${host.name}-${service}-${port}.log`));
    const inst: ClusterInstance = { host, service, version, port, child, state: 'starting' };
    this.instances.add(inst);
    const registered = new Promise<void>((resolve, reject) => this.registered.set(inst, { resolve, reject }));
    void child.exited.then(({ code, signal }) => this.onExit(inst, code, signal));
    const timer = setTimeout(() => this.registered.get(inst)?.reject(new Error(`${label(inst)} did not register within ${this.opts.startTimeoutMs} ms; its log (${child.logFile}):\n${child.logTail()}`)), this.opts.startTimeoutMs);
    try {
      await registered;
    } finally {
      clearTimeout(timer);
      this.registered.delete(inst);
    }
    return inst;
  }

  private match(i: Registered): ClusterInstance | undefined {
    return this.list(i.serviceName).find((c) => c.host.ip === i.ip && c.port === i.port && c.child.running && c.instanceId === undefined);
  }

  private onUp(i: Registered): void {
    const inst = this.match(i);
    if (!inst) return;
    inst.instanceId = i.instanceID;
    inst.state = 'up';
    this.ownIds.set(i.instanceID, i.serviceName);
    this.labels.set(i.instanceID, label(inst));
    this.registered.get(inst)?.resolve();
    if (this.announcing) this.opts.onEvent(`+ up    ${label(inst)} ${short(i.instanceID)}`);
  }

  private onDown(i: Registered): void {
    const name = this.labels.get(i.instanceID);
    if (name && this.announcing) this.opts.onEvent(`- down  ${name} ${short(i.instanceID)}`);
  }

  private onExit(inst: ClusterInstance, code: number | null, signal: NodeJS.Signals | null): void {
    this.instances.delete(inst);
    const how = signal ?? `code ${code}`;
    this.registered.get(inst)?.reject(new Error(`${label(inst)} exited (${how}) before it registered; its log (${inst.child.logFile}):\n${inst.child.logTail()}`));
    if (inst.state !== 'stopping' && !inst.host.down && !this.stopping) {
      this.opts.onEvent(`! ${label(inst)} exited on its own (${how}); log: ${inst.child.logFile}`);
    }
  }

  /** Every live router lists all of `added` and none of `removed` (their instance ids). */
  private async untilRoutersSee(added: ClusterInstance[], removed: string[] = []): Promise<void> {
    const want = added.map((i) => i.instanceId).filter((id): id is string => id !== undefined);
    await Promise.all(this.routerUrls().map(async (url) => {
      const deadline = Date.now() + ROUTERS_CONVERGE_MS;
      for (;;) {
        const ids = await routerInstanceIds(url).catch(() => undefined);
        if (ids && want.every((id) => ids.has(id)) && removed.every((id) => !ids.has(id))) return;
        if (Date.now() > deadline) throw new Error(`the router at ${url} did not converge within ${ROUTERS_CONVERGE_MS} ms (waiting for ${want.length} new and ${removed.length} removed instances)`);
        await sleep(50);
      }
    }));
  }

  /** SIGTERM: the instance withdraws its presence, drains in-flight requests, exits. */
  private async stopInstance(inst: ClusterInstance): Promise<void> {
    inst.state = 'stopping';
    await inst.child.stop('SIGTERM');
  }

  /** Runs `n` instances of `service`: new ones on the least loaded live workers, or the newest stopped gracefully. */
  scale(service: string, n: number): Promise<string> {
    return this.serial(async () => {
      if (service === ROUTER) throw new Error('routers run one per manager; choose the manager count at start (--managers)');
      if (!this.specs.has(service)) throw new Error(`unknown service "${service}"; running: ${[...this.specs.keys()].filter((s) => s !== ROUTER).join(', ')}`);
      if (!Number.isInteger(n) || n < 0 || n > 100) throw new Error(`scale needs a whole number of instances from 0 to 100, not ${n}`);
      const current = this.list(service).filter((i) => i.state !== 'stopping');
      if (n > current.length) {
        const version = this.versions.get(service)!;
        const added: Array<Promise<ClusterInstance>> = [];
        for (let k = current.length; k < n; k++) {
          // Placed one by one so that each sees the ones before it.
          const host = this.placeFor(service);
          added.push(this.startInstance(host, service, version));
        }
        await this.untilRoutersSee(await Promise.all(added));
      } else if (n < current.length) {
        const victims = this.pickVictims(current, current.length - n);
        const ids = victims.map((v) => v.instanceId).filter((id): id is string => id !== undefined);
        await Promise.all(victims.map((v) => this.stopInstance(v)));
        await this.untilRoutersSee([], ids);
      }
      return `${service}: ${n} instance${n === 1 ? '' : 's'}, seen by every router`;
    });
  }

  /** The instances to stop: from the most loaded hosts, newest first. */
  private pickVictims(current: ClusterInstance[], count: number): ClusterInstance[] {
    const left = [...current];
    const out: ClusterInstance[] = [];
    while (out.length < count) {
      const perHost = (h: Host) => left.filter((i) => i.host === h).length;
      const victim = [...left].reverse().reduce((a, b) => (perHost(b.host) > perHost(a.host) ? b : a));
      out.push(victim);
      left.splice(left.indexOf(victim), 1);
    }
    return out;
  }

  /**
   * A rolling update: `<service>:<version>` pushed, one new instance started per
   * old one (on the same host), all registered and listed by every router; then
   * the old ones stopped one by one with SIGTERM, each draining before the next.
   */
  rollout(service: string, version?: string): Promise<string> {
    return this.serial(async () => {
      if (service === ROUTER) throw new Error('rolling the routers is not supported here; roll a worker service');
      if (!this.specs.has(service)) throw new Error(`unknown service "${service}"; running: ${[...this.specs.keys()].filter((s) => s !== ROUTER).join(', ')}`);
      const from = this.versions.get(service)!;
      const to = version ?? nextVersion(from);
      if (to === from) throw new Error(`${service} already runs ${to}`);
      const old = this.list(service).filter((i) => i.state !== 'stopping');
      this.opts.onEvent(`rollout ${service} ${from} -> ${to}: pushing config ${service}:${to}, starting ${old.length} new instance${old.length === 1 ? '' : 's'}`);
      await this.pushConfig(service, to);
      const fresh = await Promise.all(old.map((o) => this.startInstance(o.host.down ? this.placeFor(service) : o.host, service, to)));
      await this.untilRoutersSee(fresh);
      this.versions.set(service, to);
      this.opts.onEvent(`rollout ${service}: ${fresh.length} new instance${fresh.length === 1 ? '' : 's'} taking traffic; stopping the old ones one by one`);
      for (const o of old) {
        await this.stopInstance(o);
        if (o.instanceId) await this.untilRoutersSee([], [o.instanceId]);
      }
      return `${service} rolled from ${from} to ${to} (${fresh.length} instance${fresh.length === 1 ? '' : 's'})`;
    });
  }

  /** A host dies: SIGKILL of every process on it; nothing is placed on it afterwards. */
  async kill(hostName: string): Promise<string> {
    const host = this.hosts.find((h) => h.name === hostName);
    if (!host) throw new Error(`no host "${hostName}"; hosts: ${this.hosts.map((h) => h.name).join(', ')}`);
    if (host.down) throw new Error(`${hostName} is already down`);
    host.down = true;
    const victims = this.list().filter((i) => i.host === host);
    await Promise.all(victims.map((i) => i.child.kill()));
    return `${hostName} (${host.ip}) killed: ${victims.map((v) => `${v.service} pid ${v.child.pid}`).join(', ') || 'nothing ran there'}`;
  }

  /** A killed host comes back, empty: a manager gets its router again; scale places services on a worker. */
  restart(hostName: string): Promise<string> {
    return this.serial(async () => {
      const host = this.hosts.find((h) => h.name === hostName);
      if (!host) throw new Error(`no host "${hostName}"; hosts: ${this.hosts.map((h) => h.name).join(', ')}`);
      if (!host.down) throw new Error(`${hostName} is running; only a killed host can be restarted`);
      host.down = false;
      if (host.role === 'worker') return `${hostName} (${host.ip}) is back, empty; scale a service to place instances on it`;
      const router = await this.startInstance(host, ROUTER, this.versions.get(ROUTER)!);
      await waitForOk(`http://${host.ip}:${this.opts.routerPort}/v1/router/health`, this.opts.startTimeoutMs, router.child);
      return `${hostName} (${host.ip}) is back with its router (pid ${router.child.pid})`;
    });
  }

  status(): ClusterStatus {
    // By host, then service in start order, then port.
    const services = [...this.specs.keys()];
    const order = (i: ClusterInstance) => (this.hosts.indexOf(i.host) * 100 + services.indexOf(i.service)) * 100_000 + i.port;
    return {
      redisUrl: redactUrl(this.redisUrl),
      dir: this.dir,
      controlSocket: this.control ? join(this.dir, SOCKET_NAME) : undefined,
      balancer: this.balancerUrl,
      routers: this.routerUrls(),
      hosts: this.hosts.map((h) => ({ name: h.name, role: h.role, ip: h.ip, down: h.down })),
      instances: this.list().sort((a, b) => order(a) - order(b)).map((i) => ({
        host: i.host.name, ip: i.host.ip, service: i.service, version: i.version, port: i.port, pid: i.child.pid, state: i.state, instanceId: i.instanceId,
      })),
      versions: Object.fromEntries(this.versions),
    };
  }

  /**
   * Stops everything it started, gracefully and by pid: every instance gets
   * SIGTERM (presence withdrawn, requests drained), then HAProxy, then what is
   * left of the cluster's own keys (presence of SIGKILLed instances, nodes
   * entries) is removed, then a private Redis stops and the directory goes.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      process.off('exit', this.killAllNow);
      this.announcing = false;
      this.control?.close();
      await Promise.all(this.list().map((i) => this.stopInstance(i)));
      await this.balancerChild?.stop('SIGUSR1', 5000);
      if (this.hydra) {
        const redis = this.hydra.redis;
        const own = [...this.ownIds];
        try {
          if (own.length && redis.isReady) {
            await redis.del(own.flatMap(([id, svc]) => [keys.presence(svc, id), keys.health(svc, id)]));
            await redis.hDel(keys.nodes(), own.map(([id]) => id));
          }
        } catch (err) {
          this.opts.onEvent(`could not remove the cluster's registry entries: ${errorMessage(err)}`);
        }
        await this.hydra.close();
      }
      await this.redis?.server?.stop('SIGTERM', 5000);
      rmSync(this.dir, { recursive: true, force: true });
      this.markStopped();
    })();
    return this.stopping;
  }

  /** Last resort when hydra-cluster itself is going down hard: SIGKILL every child, synchronously. */
  readonly killAllNow = (): void => {
    for (const i of this.instances) if (i.child.running) i.child.process.kill('SIGKILL');
    if (this.balancerChild?.running) this.balancerChild.process.kill('SIGKILL');
    if (this.redis?.server?.running) this.redis.server.process.kill('SIGKILL');
  };
}

function label(i: ClusterInstance): string {
  return `${i.service} ${i.version} on ${i.host.name} (${i.host.ip}:${i.port}, pid ${i.child.pid})`;
}

const short = (id: string) => `[${id.slice(0, 8)}]`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function silentLogger(name = 'hydra-cluster') {
  const logger = defaultLogger(name);
  logger.level = 'silent';
  return logger;
}

/** The instance ids a router routes to (its own in-memory view, hydra-router's list/services). */
export async function routerInstanceIds(base: string): Promise<Set<string>> {
  const res = await fetch(`${base}/v1/router/list/services`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const body = (await res.json()) as { result?: Array<{ instanceID?: string }> };
  return new Set((body.result ?? []).map((i) => i.instanceID ?? ''));
}

async function waitForOk(url: string, timeoutMs: number, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = errorMessage(err);
    }
    if (child && !child.running) throw new Error(`${child.command} exited before ${url} answered`);
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
    await sleep(100);
  }
}

/** Builds and starts a cluster; on failure, whatever started is stopped again. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = new Cluster(options);
  try {
    await cluster.start();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
