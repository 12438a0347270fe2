/**
 * What the cluster can run: the router on managers, the article's services on
 * workers. Each is a workspace package run through its committed bin launcher
 * (so the router keeps its node flags), configured from a document stored in
 * Redis under `<svc>:<version>`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface ServiceSpec {
  /** Registry name, also the config label's service part. */
  name: string;
  /** Absolute path of the bin launcher. */
  bin: string;
  /** The config document pushed as `<name>:<version>` (version and Redis filled in). */
  baseConfig: Record<string, unknown>;
  /** The version in the package's own config. */
  defaultVersion: string;
  /** A GET path worth trying through the routers, for the start-up hints. */
  tryPath: string;
}

function packageDir(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** A worker service from its package: bin `bin/<name>.js`, config `config/config.json`. */
function workerService(name: string, tryPath: string): ServiceSpec | undefined {
  const dir = packageDir(name);
  if (!dir || !existsSync(join(dir, 'dist'))) return undefined;
  const baseConfig = readJson(join(dir, 'config', 'config.json'));
  const hydra = baseConfig.hydra as { serviceVersion?: string };
  return { name, bin: join(dir, 'bin', `${name}.js`), baseConfig, defaultVersion: hydra.serviceVersion ?? '0.0.0', tryPath };
}

export function routerSpec(): ServiceSpec {
  const dir = packageDir('@hydra-ts/router');
  if (!dir) throw new Error('the @hydra-ts/router package is not installed (run npm ci)');
  const version = (readJson(join(dir, 'package.json')).version as string | undefined) ?? '0.0.0';
  return {
    name: 'hydra-router',
    bin: join(dir, 'bin', 'hydra-router.js'),
    baseConfig: {
      hydra: { serviceName: 'hydra-router', serviceDescription: 'Service Router', serviceType: 'router', serviceVersion: version, serviceIP: '', servicePort: 8000 },
      // One line per proxied request would dominate the routers' CPU and their log files under load.
      accessLog: false,
    },
    defaultVersion: version,
    tryPath: '/v1/router/health',
  };
}

/** The worker services known to the cluster, in start order. */
export const WORKER_SERVICES: Record<string, { tryPath: string; basePort: number }> = {
  'hello-service': { tryPath: '/v1/hello/test', basePort: 5000 },
  'hpp-service': { tryPath: '/v1/hpp/startgame', basePort: 6000 },
};

/** Whether `name` is one of WORKER_SERVICES (its own keys: "constructor" is none). */
export function isWorkerService(name: string): boolean {
  return Object.hasOwn(WORKER_SERVICES, name);
}

/** The spec of a worker service, or undefined when its package is absent or not built. */
export function workerSpec(name: string): ServiceSpec | undefined {
  return isWorkerService(name) ? workerService(name, WORKER_SERVICES[name]!.tryPath) : undefined;
}

/** `0.0.2` → `0.0.3`; anything else gets `-next` appended. */
export function nextVersion(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : `${version}-next`;
}

/** The bin of the workspace's hydra-cli. */
export function cliBin(): string {
  const dir = packageDir('@hydra-ts/cli');
  if (!dir) throw new Error('the @hydra-ts/cli package is not installed (run npm ci)');
  return join(dir, 'bin', 'hydra-cli.js');
}
