#!/usr/bin/env node
// Builds (and with --push, pushes) the images images.json lists, from the repository root,
// with the classic builder. Each is tagged <registry>/<name>:<version of its package.json>.
//
//   node deploy/docker/build-images.mjs --registry registry.example.com:5000 [--push]
//        [--only hello-service,hydra-router] [--tag 0.0.3] [--node-image <image>] [-- <docker build args>]
//
// --tag replaces the package versions (a rollout test builds the same code under a new tag);
// --node-image replaces the Dockerfile's NODE_IMAGE (e.g. the one local-node-base.sh makes);
// arguments after -- go to every `docker build` (e.g. --network host).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..', '..');
const images = JSON.parse(readFileSync(join(import.meta.dirname, 'images.json'), 'utf8'));

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    registry: { type: 'string' },
    push: { type: 'boolean', default: false },
    only: { type: 'string' },
    tag: { type: 'string' },
    'node-image': { type: 'string' },
  },
});
if (!values.registry) {
  console.error('build-images: --registry <host:port or prefix> is required (images are named <registry>/<name>:<version>)');
  process.exit(2);
}
const names = values.only ? values.only.split(',') : Object.keys(images);
for (const name of names) {
  if (!images[name]) {
    console.error(`build-images: no image "${name}" in images.json (have: ${Object.keys(images).join(', ')})`);
    process.exit(2);
  }
}

function run(args) {
  const started = Date.now();
  const r = spawnSync('docker', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DOCKER_BUILDKIT: '0' } });
  if (r.error) throw new Error(`docker ${args[0]}: ${r.error.message} (is the docker CLI installed?)`);
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.status}`);
  return Date.now() - started;
}

for (const name of names) {
  const spec = images[name];
  const version = values.tag ?? JSON.parse(readFileSync(join(root, spec.workspace, 'package.json'), 'utf8')).version;
  const ref = `${values.registry}/${name}:${version}`;
  // A tool (spec.target "tool") has no port and no health path: those arguments are left out.
  const buildArgs = { WORKSPACE: spec.workspace, BIN: spec.bin, PORT: spec.port, HEALTH_PATH: spec.healthPath, NODE_IMAGE: values['node-image'] };
  const ms = run([
    'build', '-q', '-f', 'deploy/docker/Dockerfile', '-t', ref,
    '--label', `org.opencontainers.image.title=${name}`, '--label', `org.opencontainers.image.version=${version}`,
    ...(spec.target ? ['--target', spec.target] : []),
    ...Object.entries(buildArgs).filter(([, v]) => v !== undefined).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...positionals, '.',
  ]);
  console.log(`built ${ref} in ${(ms / 1000).toFixed(1)} s`);
  if (values.push) console.log(`pushed ${ref} in ${(run(['push', '-q', ref]) / 1000).toFixed(1)} s`);
}
