/**
 * The published packages as a new user gets them: every non-private workspace packed
 * with `npm pack`, the tarballs checked for what they hold, installed offline into a
 * fresh project outside the repository, a strict TypeScript service compiled against
 * them (nodenext and bundler resolution) and run against Redis behind the packed
 * hydra-router, and every packed bin asked for --help and --version.
 * A package added to the workspaces is covered without editing this file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectRedis, closeRedis, keys } from '@hydra-ts/core';
import { freePort, quietLogger, startProcess, stopAllProcesses, stopProcess, waitFor } from '@hydra-ts/testing';
import { ROOT } from './helpers/processes.js';
import { installFresh, packedSetup, rootLockVersion, type Packed, type PackedSetup } from './helpers/packed.js';

let setup: PackedSetup | undefined;
let work: string;
let packed: Packed[];
let redisUrl: string;

before(async () => {
  setup = await packedSetup('hydra-ts-packages-');
  ({ work, packed, redisUrl } = setup);
});

after(async () => {
  await stopAllProcesses();
  await setup?.cleanup();
});

/** Every string target of an `exports` map (conditions and subpaths). */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

const NOT_SHIPPED: Array<[RegExp, string]> = [
  [/(^|\/)test\//, 'a test'],
  [/\.map$/, 'a source map'],
  [/\.(png|jpe?g|gif)$/, 'an image'],
  [/(^|\/)tsconfig[^/]*\.json$/, 'a tsconfig'],
  [/\.tsbuildinfo$/, 'build info'],
  [/(?<!\.d)\.ts$/, 'TypeScript source'],
];

test('every published package is packed', () => {
  assert.ok(packed.length >= 4, `packed: ${packed.map((p) => p.name).join(', ')}`);
  for (const name of ['@hydra-ts/core', '@hydra-ts/express', '@hydra-ts/router', '@hydra-ts/cli']) {
    assert.ok(packed.some((p) => p.name === name), `${name} is packed`);
  }
});

test('each tarball holds what its package runs and documents, and nothing else', () => {
  const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
  const versions = new Map(packed.map((p) => [p.name, p.version]));
  for (const p of packed) {
    const has = new Set(p.files);
    const m = p.manifest;
    for (const f of ['package.json', 'LICENSE', 'README.md']) assert.ok(has.has(f), `${p.name} ships ${f}`);
    assert.equal(execFileSync('tar', ['-xOzf', p.tarball, 'package/LICENSE'], { encoding: 'utf8' }), license, `${p.name}'s LICENSE is the repository's`);
    for (const f of p.files) {
      // A scaffolder's templates are the projects it writes: sources, tests and tsconfig included.
      if (f.startsWith('templates/')) continue;
      for (const [pattern, what] of NOT_SHIPPED) assert.doesNotMatch(f, pattern, `${p.name} ships ${what}: ${f}`);
    }
    const targets = [m.main, m.types, ...Object.values(m.bin ?? {}), ...exportTargets(m.exports)].filter((t): t is string => typeof t === 'string');
    for (const t of targets) assert.ok(has.has(t.replace(/^\.\//, '')), `${p.name} names ${t}, which its tarball holds`);
    if (m.types !== undefined || m.main !== undefined) {
      assert.ok(m.exports && typeof m.exports === 'object' && '.' in m.exports, `${p.name} has an exports map with "."`);
      assert.ok(exportTargets((m.exports as Record<string, unknown>)['.']).some((t) => t.endsWith('.d.ts')), `${p.name}'s "." export names its types`);
    }
    assert.deepEqual(m.repository, { type: 'git', url: (m.repository as { url: string }).url, directory: p.dir }, `${p.name} names its repository and directory`);
    assert.match(String(m.homepage), /^https:\/\//, `${p.name} has a homepage`);

    // Each of our packages it depends on at the version packed beside it.
    for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
      if (versions.has(dep)) assert.ok(range === versions.get(dep) || range === `^${versions.get(dep)}`, `${p.name} depends on ${dep}@${range}; packed: ${versions.get(dep)}`);
    }
    // Every package its code requires is declared (a builtin aside).
    const declared = new Set([...Object.keys(m.dependencies ?? {}), ...Object.keys(m.peerDependencies ?? {}), ...Object.keys(m.optionalDependencies ?? {}), m.name]);
    const js = p.files.filter((f) => f.endsWith('.js'));
    const source = execFileSync('tar', ['-xOzf', p.tarball, ...js.map((f) => `package/${f}`)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    // tsc emits require("x") with double quotes; comments quoting require('x') are not code.
    for (const [, spec] of source.matchAll(/\brequire\("([^"./][^"]*)"\)/g)) {
      const name = spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!;
      if (name.startsWith('node:') || builtinModules.includes(name)) continue;
      assert.ok(declared.has(name), `${p.name} requires ${spec} without declaring ${name}`);
    }
  }
});

// A service as a user writes one: strict, ESM, importing every published package.
const SERVICE = `import { Router } from 'express';
import { createService, hydraOf, sendOk } from '@hydra-ts/express';
import { closeOnSignals, defaultLogger, type UMFMessage } from '@hydra-ts/core';
import { loaded } from './all.js';

interface Doubled {
  doubled: number;
}

const logger = defaultLogger('fresh-service');
const routes = Router();
routes.get('/hello', (req, res) => {
  sendOk(res, { result: { from: hydraOf(req).serviceName } });
});
const service = await createService({ hydra: { serviceName: 'fresh-service', serviceIP: '127.0.0.1', servicePort: 0 } }, { logger, routes: { '/v1/fresh': routes } });
service.hydra.onMessage((m: UMFMessage) => {
  void service.hydra.sendReplyMessage(m, { body: { doubled: (m.body.n as number) * 2 } satisfies Doubled });
});
closeOnSignals(service, logger);
const reply = await service.hydra.request({ to: 'fresh-service:/', body: { n: 21 } }, 5000);
console.log(JSON.stringify({ port: service.port, doubled: (reply.body as unknown as Doubled).doubled, loaded }));
`;

test('the tarballs install offline into a fresh project; a strict TypeScript service compiles against them (nodenext and bundler) and runs behind the packed router', async () => {
  const app = join(work, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });
  const ours = Object.fromEntries(packed.map((p) => [p.name, p.version]));
  installFresh(app, packed, {
    name: 'fresh-service',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { ...ours, express: `^${rootLockVersion('express')}` },
    devDependencies: { typescript: rootLockVersion('typescript'), '@types/node': `^${rootLockVersion('@types/node')}` },
  });

  // Each package with an entry point, imported and looked into at run time.
  const libs = packed.filter((p) => p.manifest.types !== undefined);
  writeFileSync(join(app, 'src/all.ts'), [
    ...libs.map((p, i) => `import p${i} from '${p.name}';`),
    `/** How many names each package exports at run time. */`,
    `export const loaded: Record<string, number> = { ${libs.map((p, i) => `'${p.name}': Object.keys(p${i}).length`).join(', ')} };`,
    '',
  ].join('\n'));
  writeFileSync(join(app, 'src/service.ts'), SERVICE);
  const strict = { strict: true, skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, target: 'ES2022', types: ['node'] };
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext', outDir: 'dist', rootDir: 'src' }, include: ['src'] }));
  writeFileSync(join(app, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'esnext', moduleResolution: 'bundler', noEmit: true }, include: ['src'] }));
  const tsc = join(app, 'node_modules/typescript/bin/tsc');
  for (const project of ['tsconfig.json', 'tsconfig.bundler.json']) {
    const r = spawnSync(process.execPath, [tsc, '-p', project], { cwd: app, encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, `tsc -p ${project}:\n${r.stdout}${r.stderr}`);
  }

  const svc = startProcess([join(app, 'dist/service.js')], { HYDRA_REDIS_URL: redisUrl, HYDRA_LOG_LEVEL: 'warn' }, app);
  const line = await waitFor(() => `the service's start line (output: ${svc.output()})`, () => svc.lines.find((l) => l.startsWith('{"port"')), 60_000);
  const started = JSON.parse(line) as { port: number; doubled: number; loaded: Record<string, number> };
  assert.equal(started.doubled, 42, 'request/reply through Redis');
  for (const p of libs) assert.ok(started.loaded[p.name]! > 0, `${p.name} loads from ESM with named exports (${started.loaded[p.name]})`);

  const routerPort = await freePort();
  const routerBin = join(app, 'node_modules/.bin/hydra-router');
  const router = startProcess([routerBin], {
    HYDRA_REDIS_URL: redisUrl,
    HYDRA_SERVICE: JSON.stringify({ serviceIP: '127.0.0.1', servicePort: routerPort }),
    HYDRA_LOG_LEVEL: 'warn',
  }, app);
  const answer = await waitFor(() => `an answer through the router (router: ${router.output()})`, async () => {
    const res = await fetch(`http://127.0.0.1:${routerPort}/v1/fresh/hello`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    return res?.status === 200 ? ((await res.json()) as { result: { from: string } }) : undefined;
  }, 60_000);
  assert.deepEqual(answer.result, { from: 'fresh-service' });

  await stopProcess(svc.child);
  assert.equal(svc.child.exitCode, 0, svc.output());
  const client = await connectRedis({ url: redisUrl }, quietLogger(), 'test');
  try {
    assert.deepEqual(await client.keys(keys.presence('fresh-service', '*')), [], 'presence withdrawn on SIGTERM');
  } finally {
    await closeRedis(client);
  }
  await stopProcess(router.child);

  // Every packed bin, as npm linked it.
  for (const p of packed) {
    for (const bin of Object.keys(p.manifest.bin ?? {})) {
      const path = join(app, 'node_modules/.bin', bin);
      const help = spawnSync(path, ['--help'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(help.status, 0, `${bin} --help: ${help.stderr}`);
      assert.match(help.stdout, new RegExp(`^usage: ${bin}\\b`, 'im'));
      const version = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(version.status, 0, `${bin} --version: ${version.stderr}`);
      assert.equal(version.stdout, `${p.version}\n`);
    }
  }
});
