// Lays out one workspace for its image, run in the Dockerfile's `app` stage:
//   node assemble.mjs <workspace dir> <bin> <out dir>
//
// <out>/node_modules   exactly the packages the workspace needs at run time: the closure of
//                      its production dependencies, read from package-lock.json (npm prune
//                      cannot prune per workspace: it would keep every workspace's
//                      dependencies, e.g. the test helpers' 65 MB Chromium), and links to
//                      the workspaces it uses
// <out>/<workspace>/   for the workspace and each workspace it depends on: package.json,
//                      dist/src, bin, config (no sources, tests or build info)
// <out>/service        a link to the workspace's bin, the image's entrypoint
// <out>/healthcheck.js the image's HEALTHCHECK
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const [workspace, bin, out] = process.argv.slice(2);
if (!workspace || !bin || !out) {
  console.error('usage: node assemble.mjs <workspace dir> <bin> <out dir>');
  process.exit(2);
}
const root = process.cwd();
const RUNTIME_PARTS = ['package.json', 'dist/src', 'bin', 'config'];
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages;
if (!lock?.[workspace]) {
  console.error(`assemble: ${workspace} is not a workspace in ${join(root, 'package-lock.json')}`);
  process.exit(1);
}

// Node's resolution over the lockfile's locations: <from>/node_modules/<name>, then each
// enclosing node_modules up to the root's.
function resolve(from, name) {
  for (let dir = from; ; ) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (lock[candidate]) return candidate;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up >= 0 ? dir.slice(0, up) : '';
  }
}

// Walk the run-time dependencies from the workspace: packages (lockfile locations) and the
// workspaces reached through npm's links.
const packages = new Set();
const workspaces = new Set();
const visit = (location) => {
  const entry = lock[location];
  if (entry.link) return visitWorkspace(entry.resolved);
  if (packages.has(location)) return;
  packages.add(location);
  follow(location, entry);
};
const visitWorkspace = (dir) => {
  if (workspaces.has(dir)) return;
  workspaces.add(dir);
  follow(dir, lock[dir]);
};
function follow(location, entry) {
  const optional = new Set([...Object.keys(entry.optionalDependencies ?? {}), ...Object.keys(entry.peerDependenciesMeta ?? {})]);
  for (const name of new Set([...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {})])) {
    const found = resolve(location, name);
    if (found) visit(found);
    else if (!optional.has(name)) throw new Error(`assemble: ${location} needs ${name}, which package-lock.json does not hold`);
  }
}
visitWorkspace(workspace);

for (const location of packages) {
  // A package's own nested node_modules holds other locations, copied only if reached.
  const nested = join(root, location, 'node_modules');
  cpSync(join(root, location), join(out, location), { recursive: true, verbatimSymlinks: true, filter: (src) => src !== nested });
}
for (const dir of workspaces) {
  for (const part of RUNTIME_PARTS) {
    const from = join(root, dir, part);
    if (existsSync(from)) cpSync(from, join(out, dir, part), { recursive: true });
  }
  const link = join(out, 'node_modules', JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).name);
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(relative(dirname(link), join(out, dir)), link);
}

const binPath = JSON.parse(readFileSync(join(root, workspace, 'package.json'), 'utf8')).bin?.[bin];
if (!binPath) {
  console.error(`assemble: ${workspace}/package.json has no bin "${bin}"`);
  process.exit(1);
}
symlinkSync(relative(out, join(out, workspace, binPath)), join(out, 'service'));
cpSync(join(root, 'deploy/docker/healthcheck.js'), join(out, 'healthcheck.js'));
console.log(`assembled ${workspace} (with ${[...workspaces].filter((d) => d !== workspace).join(', ') || 'no other workspace'}) and ${packages.size} packages in ${out}; entrypoint ${binPath}`);
