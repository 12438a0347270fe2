/**
 * The reference documents follow the code: every environment variable the libraries
 * read, every field of the `hydra` section and of the options, and every router
 * setting is in docs/configuration.md; every relative link of every README and
 * document leads to a file of the repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { DEFAULT_SETTINGS } from '@hydra-ts/router';
import { ROOT } from './helpers/processes.js';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const configuration = read('docs/configuration.md');

/** Files under `dir` (relative to ROOT) whose name passes `keep`, skipping builds and dependencies. */
function files(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    if (['node_modules', 'dist', '.git', 'api', 'test-output'].includes(name)) return [];
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return files(path, keep);
    return keep(name) ? [path] : [];
  });
}

/** The field names of `interface <name> {...}` in a source file. */
function interfaceFields(source: string, name: string): string[] {
  const body = new RegExp(`interface ${name}\\b[^{]*\\{([\\s\\S]*?)\\n\\}`).exec(source)?.[1];
  assert.ok(body, `interface ${name} not found`);
  return [...body.matchAll(/^ {2}(?:readonly )?(\w+)\??:/gm)].map((m) => m[1]!);
}

const documented = (name: string) => configuration.includes(`\`${name}\``);

test('every HYDRA_* variable the libraries and bins read is in docs/configuration.md', () => {
  const sources = ['packages/core/src', 'packages/express/src', 'packages/router/src', 'packages/cli/src', 'packages/local-cluster/src'].flatMap((d) => files(d, (n) => n.endsWith('.ts')));
  const names = new Set(sources.flatMap((f) => [...read(f).matchAll(/\benv\.(HYDRA_[A-Z_]+)/g)].map((m) => m[1]!)));
  assert.ok(names.has('HYDRA_LOG_LEVEL') && names.has('HYDRA_SERVICE'), `found: ${[...names].join(', ')}`);
  const missing = [...names].filter((n) => !documented(n));
  assert.deepEqual(missing, [], `not in docs/configuration.md: ${missing.join(', ')}`);
});

test('every field of the hydra section and of the options is in docs/configuration.md', () => {
  const fields = [
    ...interfaceFields(read('packages/core/src/config.ts'), 'HydraConfig'),
    ...interfaceFields(read('packages/core/src/config.ts'), 'SentinelConfig'),
    ...interfaceFields(read('packages/core/src/hydra.ts'), 'HydraOptions'),
    ...interfaceFields(read('packages/express/src/service.ts'), 'ExpressServiceOptions'),
  ];
  assert.ok(fields.includes('serviceName') && fields.includes('prepare'), `found: ${fields.join(', ')}`);
  const missing = fields.filter((f) => !documented(f) && !documented(`redis.${f}`));
  assert.deepEqual(missing, [], `not in docs/configuration.md: ${missing.join(', ')}`);
});

test('every router setting is in docs/configuration.md under the name its config field has', () => {
  // The settings carry their unit in the name (requestTimeoutMs); the config field does not (requestTimeout).
  const fields = Object.keys(DEFAULT_SETTINGS).map((k) => k.replace(/(Ms|Bytes|S)$/, ''));
  const missing = fields.filter((f) => !configuration.includes(`| \`${f}\` |`));
  assert.deepEqual(missing, [], `not in the router table of docs/configuration.md: ${missing.join(', ')}`);
});

test('every relative link in the READMEs and docs leads to a file of the repository', () => {
  const documents = files('.', (n) => n.endsWith('.md'));
  assert.ok(documents.includes('docs/wire.md') && documents.includes('README.md'));
  const broken: string[] = [];
  for (const doc of documents) {
    const text = read(doc);
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!) || target!.startsWith('#')) continue;
      const path = resolve(ROOT, dirname(doc), decodeURI(target!.replace(/#.*$/, '')));
      const inside = !relative(ROOT, path).startsWith('..');
      if (!inside || !existsSync(path)) broken.push(`${doc}: ${target}`);
    }
    if (/\.\.\/shared\/|\/work\//.test(text)) broken.push(`${doc}: names a path outside the repository`);
  }
  assert.deepEqual(broken, []);
});

test('docs/README.md links every document of docs/', () => {
  const index = read('docs/README.md');
  const documents = readdirSync(join(ROOT, 'docs')).filter((n) => n.endsWith('.md') && n !== 'README.md' && n !== 'api-readme.md');
  assert.ok(documents.includes('guide.md'));
  const missing = documents.filter((d) => !index.includes(`](${d})`));
  assert.deepEqual(missing, [], `docs/README.md does not link: ${missing.join(', ')}`);
});
