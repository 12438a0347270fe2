/**
 * Every bin of every workspace answers --help and --version, and a wrong argument gets a
 * usage error, never an attempt to start (`hydra-router --help` once tried to read a
 * config file named "--help"). The bins are read from the workspaces' package.json, so a
 * new package's bins are covered without editing this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const workspaces = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;

interface Manifest {
  name: string;
  version: string;
  bin?: Record<string, string>;
}

const bins = workspaces.flatMap((dir) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest;
  return Object.entries(pkg.bin ?? {}).map(([name, path]) => ({ name, path: join(ROOT, dir, path), pkg }));
});

function run(path: string, ...args: string[]) {
  // A bin that mistook an argument for a config would try to reach Redis: nothing answers on this port.
  const env = { ...process.env, HYDRA_REDIS_URL: 'redis://127.0.0.1:1/0' };
  return spawnSync(process.execPath, [path, ...args], { encoding: 'utf8', timeout: 30_000, env });
}

test('the workspaces have bins to check', () => {
  assert.ok(bins.length >= 5, `bins found: ${bins.map((b) => b.name).join(', ')}`);
});

for (const bin of bins) {
  test(`${bin.name} --help prints its usage, --version its package's version, a wrong flag a usage error`, () => {
    const help = run(bin.path, '--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^usage: ${bin.name}\\b`, 'im'));

    const version = run(bin.path, '--version');
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout, `${bin.pkg.version}\n`);

    const wrong = run(bin.path, '--no-such-flag');
    assert.notEqual(wrong.status, 0, wrong.stdout);
    assert.match(wrong.stderr, /--no-such-flag/);
    assert.doesNotMatch(wrong.stderr, /no such file|cannot start|ECONNREFUSED/);
  });
}
