// Lays out one workspace for its image, run in the Dockerfile's `app` stage after
// `npm prune --omit=dev`:  node assemble.mjs <workspace dir> <bin> <out dir>
//
// <out>/node_modules   the production dependencies (of all workspaces: npm cannot prune
//                      per workspace; the others' add ~3 MB) and the links to the
//                      workspaces this one uses
// <out>/<workspace>/   for the workspace and each workspace it depends on: package.json,
//                      dist/src, bin, config (no sources, tests or build info)
// <out>/service        a link to the workspace's bin, the image's entrypoint
// <out>/healthcheck.js the image's HEALTHCHECK
import { cpSync, existsSync, lstatSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const [workspace, bin, out] = process.argv.slice(2);
if (!workspace || !bin || !out) {
  console.error('usage: node assemble.mjs <workspace dir> <bin> <out dir>');
  process.exit(2);
}
const root = process.cwd();
const RUNTIME_PARTS = ['package.json', 'dist/src', 'bin', 'config'];

const readPackage = (dir) => JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
const workspaceDirs = new Map(
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces.map((dir) => [readPackage(dir).name, dir]),
);

// The workspace and the workspaces its production dependencies reach.
const needed = new Set();
const visit = (dir) => {
  if (needed.has(dir)) return;
  needed.add(dir);
  for (const dep of Object.keys(readPackage(dir).dependencies ?? {})) if (workspaceDirs.has(dep)) visit(workspaceDirs.get(dep));
};
if (!existsSync(join(root, workspace, 'package.json'))) {
  console.error(`assemble: ${workspace} is not a workspace of ${root}`);
  process.exit(1);
}
visit(workspace);

cpSync(join(root, 'node_modules'), join(out, 'node_modules'), { recursive: true, verbatimSymlinks: true });
// npm links every workspace into node_modules; drop the links to those this image leaves out.
for (const [name, dir] of workspaceDirs) {
  const link = join(out, 'node_modules', name);
  if (!needed.has(dir) && existsSync(dirname(link)) && lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(link);
}
for (const dir of needed) {
  for (const part of RUNTIME_PARTS) {
    const from = join(root, dir, part);
    if (existsSync(from)) cpSync(from, join(out, dir, part), { recursive: true });
  }
}

const binPath = readPackage(workspace).bin?.[bin];
if (!binPath) {
  console.error(`assemble: ${workspace}/package.json has no bin "${bin}" (has: ${Object.keys(readPackage(workspace).bin ?? {}).join(', ') || 'none'})`);
  process.exit(1);
}
symlinkSync(relative(out, join(out, workspace, binPath)), join(out, 'service'));
cpSync(join(root, 'deploy/docker/healthcheck.js'), join(out, 'healthcheck.js'));
console.log(`assembled ${workspace} (with ${[...needed].filter((d) => d !== workspace).join(', ') || 'no other workspace'}) in ${out}; entrypoint ${binPath}`);
