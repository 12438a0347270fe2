/**
 * The published packages as a user gets them: `npm pack` of every non-private workspace,
 * and a fresh project outside the repository that installs those tarballs with npm, offline.
 *
 * Offline: a fresh machine after the root `npm ci` has every third-party tarball in
 * npm's cache but no registry metadata (npm ci reads the lockfile, never the registry),
 * so an `npm install` that resolves ranges would fail with ENOTCACHED. The fresh project
 * therefore gets a lockfile: our packages resolved to their tarballs, and the closure of
 * what they declare (dependencies and required peers) taken from the root lockfile, at
 * the versions the workspace was built and tested with. A dependency a package uses but
 * does not declare is not in that closure, so the fresh project's build or run fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { freePort, startRedisServer } from '@hydra-ts/testing';
import { ROOT } from './processes.js';

/** What `npm pack --json` says of one tarball. */
export interface Packed {
  /** The workspace directory, relative to the root. */
  dir: string;
  name: string;
  version: string;
  /** The tarball's absolute path. */
  tarball: string;
  integrity: string;
  /** The paths inside the tarball (relative to its package/ directory). */
  files: string[];
  /** The package.json packed (as the tarball has it). */
  manifest: Manifest;
}

/** The package.json fields these helpers read. */
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, unknown>;
  files?: string[];
  license?: string;
  repository?: unknown;
  homepage?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

export const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** The workspaces that are published (not private), from the root package.json. */
export function publishedWorkspaces(): string[] {
  const { workspaces } = readJson<{ workspaces: string[] }>(join(ROOT, 'package.json'));
  return workspaces.filter((dir) => !readJson<Manifest>(join(ROOT, dir, 'package.json')).private);
}

/** `npm pack` of every published workspace (built beforehand) into `dest`. */
export function packWorkspaces(dest: string): Packed[] {
  const dirs = publishedWorkspaces();
  const args = ['pack', '--json', '--pack-destination', dest, ...dirs.flatMap((d) => ['-w', d])];
  const out = JSON.parse(execFileSync('npm', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Array<{
    name: string;
    version: string;
    filename: string;
    integrity: string;
    files: Array<{ path: string }>;
  }>;
  const dirOf = new Map(dirs.map((d) => [readJson<Manifest>(join(ROOT, d, 'package.json')).name, d]));
  return out.map((p) => ({
    dir: dirOf.get(p.name)!,
    name: p.name,
    version: p.version,
    tarball: join(dest, p.filename),
    integrity: p.integrity,
    files: p.files.map((f) => f.path).sort(),
    // The manifest packed is the workspace's own (npm pack changes none of the fields read here).
    manifest: readJson<Manifest>(join(ROOT, dirOf.get(p.name)!, 'package.json')),
  }));
}

/** What a test of the packed packages starts from (packedSetup). */
export interface PackedSetup {
  /** A temp directory outside the repository; the tarballs are in its `tarballs/`. */
  work: string;
  packed: Packed[];
  /** A redis-server of the test's own. */
  redisUrl: string;
  /** Stops the redis-server and removes `work`. */
  cleanup(): Promise<void>;
}

/** Every published workspace packed into a fresh temp directory, and a redis-server started. */
export async function packedSetup(prefix: string): Promise<PackedSetup> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(work, { recursive: true, force: true });
  try {
    if (!relative(ROOT, work).startsWith('..')) throw new Error(`${work} is inside the repository`);
    mkdirSync(join(work, 'tarballs'));
    const packed = packWorkspaces(join(work, 'tarballs'));
    const port = await freePort();
    const redis = await startRedisServer(port);
    return {
      work,
      packed,
      redisUrl: `redis://127.0.0.1:${port}/0`,
      async cleanup() {
        await redis.stop();
        remove();
      },
    };
  } catch (err) {
    remove();
    throw err;
  }
}

/**
 * Writes `package.json` (our packages as `file:` tarballs) and the lockfile described at
 * the top into `dir`, then runs `npm ci --offline` there. Third-party names in
 * `dependencies`/`devDependencies` must be in the root lockfile (e.g. typescript).
 */
export function installFresh(dir: string, packed: Packed[], manifest: Manifest): void {
  const ours = new Map(packed.map((p) => [p.name, p]));
  const fileSpec = (p: Packed) => `file:${relative(dir, p.tarball)}`;
  const withTarballs = (deps: Record<string, string> | undefined) =>
    deps && Object.fromEntries(Object.entries(deps).map(([n, v]) => [n, ours.has(n) ? fileSpec(ours.get(n)!) : v]));
  const pkg: Manifest = { ...manifest, dependencies: withTarballs(manifest.dependencies), devDependencies: withTarballs(manifest.devDependencies) };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lockfileFor(pkg, packed, dir), null, 2)}\n`);
  try {
    execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm ci --offline in ${dir} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

function lockfileFor(pkg: Manifest, packed: Packed[], dir: string) {
  const root = readJson<{ packages: Record<string, LockEntry> }>(join(ROOT, 'package-lock.json')).packages;
  const ours = new Map(packed.map((p) => [p.name, p]));
  const out: Record<string, LockEntry> = {
    '': { name: pkg.name, version: pkg.version, dependencies: pkg.dependencies, devDependencies: pkg.devDependencies },
  };

  // Node's resolution over the root lockfile's locations: <from>/node_modules/<name>, then
  // each enclosing node_modules up to the root's.
  const resolve = (from: string, name: string): string | undefined => {
    for (let at = from; ; ) {
      const candidate = `${at ? `${at}/` : ''}node_modules/${name}`;
      if (root[candidate] && !root[candidate].link) return candidate;
      if (!at) return undefined;
      const up = at.lastIndexOf('/node_modules/');
      at = up >= 0 ? at.slice(0, up) : '';
    }
  };
  // A root-lockfile location in the fresh project: a workspace's own node_modules moves
  // under the package's install location; the hoisted tree stays where it is.
  const workspaceAt = new Map(packed.map((p) => [p.dir, `node_modules/${p.name}`]));
  const relocate = (location: string) => {
    for (const [wsDir, at] of workspaceAt) if (location.startsWith(`${wsDir}/`)) return `${at}${location.slice(wsDir.length)}`;
    return location;
  };

  const visit = (from: string, deps: Record<string, string>, optional: Set<string>, who: string) => {
    for (const name of Object.keys(deps)) {
      const mine = ours.get(name);
      if (mine) {
        addOurs(mine);
        continue;
      }
      const location = resolve(from, name);
      if (!location) {
        if (optional.has(name)) continue;
        throw new Error(`${who} needs ${name}, which the root package-lock.json does not hold: declare it in a workspace and run npm install`);
      }
      const at = relocate(location);
      if (out[at]) continue;
      const { dev: _dev, optional: _optional, devOptional: _devOptional, peer: _peer, ...entry } = root[location]!;
      out[at] = entry;
      visit(location, { ...entry.dependencies, ...entry.optionalDependencies, ...requiredPeers(entry) }, new Set(Object.keys(entry.optionalDependencies ?? {})), location);
    }
  };
  const addOurs = (p: Packed) => {
    const at = `node_modules/${p.name}`;
    if (out[at]) return;
    const m = p.manifest;
    out[at] = {
      version: p.version,
      resolved: `file:${relative(dir, p.tarball)}`,
      integrity: p.integrity,
      license: m.license,
      dependencies: m.dependencies,
      peerDependencies: m.peerDependencies,
      peerDependenciesMeta: m.peerDependenciesMeta,
      bin: m.bin,
      engines: m.engines,
    };
    visit(p.dir, { ...m.dependencies, ...requiredPeers(m) }, new Set(), p.name);
  };
  visit('', { ...pkg.dependencies, ...pkg.devDependencies }, new Set(), 'the fresh project');
  return { name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages: out };
}

/** Peers a package needs installed (npm installs those that are not optional). */
function requiredPeers(m: { peerDependencies?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }> }) {
  return Object.fromEntries(Object.entries(m.peerDependencies ?? {}).filter(([n]) => !m.peerDependenciesMeta?.[n]?.optional));
}

/** The version the root lockfile holds of a hoisted third-party package (e.g. typescript). */
export function rootLockVersion(name: string): string {
  const entry = readJson<{ packages: Record<string, LockEntry> }>(join(ROOT, 'package-lock.json')).packages[`node_modules/${name}`];
  if (!entry?.version) throw new Error(`the root package-lock.json has no ${name}`);
  return entry.version;
}
