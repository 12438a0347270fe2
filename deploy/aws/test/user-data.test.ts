/**
 * The instances' user-data, taken from the synthesized template with sample values for
 * what CloudFormation fills in, checked by Debian's cloud-init (`cloud-init schema`);
 * the node script and the wrapper scripts by shellcheck. Each checker is first shown a
 * broken input so a silent checker cannot pass the test.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cloudInitFile, NODE_SCRIPT_PATH } from '../lib/user-data';
import { instanceIds, synth, userDataOf } from './helpers';

const AWS_DIR = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'hydra-aws-userdata-'));

function cloudInitSchema(text: string, name: string): { ok: boolean; output: string } {
  const file = join(dir, name);
  writeFileSync(file, text);
  const r = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

function shellcheck(file: string): { ok: boolean; output: string } {
  // from deploy/aws, where the scripts' `source=` hints are relative to
  const r = spawnSync('shellcheck', ['--severity=style', '--external-sources', file], { encoding: 'utf8', cwd: AWS_DIR });
  if (r.error) throw r.error;
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

/** Top-level keys of a cloud-config: cloud-init ignores unknown ones, so the test lists them. */
function topLevelKeys(text: string): string[] {
  return [...text.matchAll(/^([a-z_]+):/gm)].map((m) => m[1]);
}

/** A write_files entry's content block, un-indented. */
function writtenFile(cloudConfig: string, path: string): string {
  const start = cloudConfig.indexOf(`  - path: ${path}\n`);
  assert.ok(start >= 0, `${path} is written`);
  const body = cloudConfig.slice(cloudConfig.indexOf('content: |\n', start) + 'content: |\n'.length);
  const lines: string[] = [];
  for (const line of body.split('\n')) {
    if (line !== '' && !line.startsWith('      ')) break;
    lines.push(line.slice(6));
  }
  // a `|` block keeps exactly one final newline
  return lines.join('\n').replace(/\n*$/, '\n');
}

describe('cloud-init user-data', () => {
  const { template } = synth({ workers: 1 });
  const redisTemplate = synth({ redis: 'instance', managers: 1, workers: 0 }).template;
  const cases: [string, string][] = [
    ['first manager', userDataOf(template, instanceIds(template, 'Manager1')[0])],
    ['manager', userDataOf(template, instanceIds(template, 'Manager2')[0])],
    ['worker', userDataOf(template, instanceIds(template, 'Worker1')[0])],
    ['Redis host', userDataOf(redisTemplate, instanceIds(redisTemplate, 'RedisHost')[0])],
  ];

  it('the checker rejects a wrong type and a misspelt key', () => {
    const wrongType = cloudInitSchema('#cloud-config\npackages: docker\n', 'wrong-type.yaml');
    assert.equal(wrongType.ok, false);
    assert.match(wrongType.output, /packages: 'docker' is not of type 'array'/);
    const typo = cloudInitSchema('#cloud-config\nwrite_files:\n  - path: /etc/x\n    permision: "0644"\n    content: x\n', 'typo.yaml');
    assert.equal(typo.ok, false);
    assert.match(typo.output, /'permision' was unexpected/);
  });

  for (const [role, text] of cases) {
    it(`of the ${role} is a valid cloud-config`, () => {
      assert.ok(text.startsWith('#cloud-config\n'));
      const r = cloudInitSchema(text, `${role.replace(/ /g, '-')}.yaml`);
      assert.ok(r.ok, r.output);
      assert.match(r.output, /Valid cloud-config/);
      assert.deepEqual(topLevelKeys(text), ['package_update', 'packages', 'write_files', 'runcmd']);
    });
  }

  it('installs the node script exactly as it is in the repository, and runs it after Docker starts', () => {
    for (const [, text] of cases.slice(0, 3)) {
      assert.equal(writtenFile(text, NODE_SCRIPT_PATH), cloudInitFile('swarm-node.sh'));
      assert.match(text, /runcmd:\n {2}- \[systemctl, enable, --now, docker\]\n.*\n {2}- \[\/usr\/local\/sbin\/hydra-swarm-node\]\n/);
    }
  });

  it('writes a settings file the node script can source, with nothing secret in it', () => {
    const env = writtenFile(cases[2][1], '/etc/hydra/swarm.env');
    assert.equal(env, 'SWARM_ROLE=worker\nSWARM_PARAM_PATH=/hydra/HydraSwarm/swarm\nMANAGER_ADDR=198.18.0.10\nAWS_REGION=eu-west-1\n');
    const file = join(dir, 'swarm.env');
    writeFileSync(file, env);
    const sourced = execFileSync('bash', ['-c', `set -eu; . "${file}"; echo "$SWARM_ROLE $MANAGER_ADDR"`], { encoding: 'utf8' });
    assert.equal(sourced, 'worker 198.18.0.10\n');
  });
});

describe('shell scripts', () => {
  it('shellcheck finds a fault when there is one', () => {
    const bad = join(dir, 'bad.sh');
    writeFileSync(bad, '#!/bin/bash\nfor f in $(ls *.txt); do echo $f; done\n');
    const r = shellcheck(bad);
    assert.equal(r.ok, false);
    assert.match(r.output, /SC2045|SC2086/);
  });

  for (const script of ['cloud-init/swarm-node.sh', 'scripts/deploy.sh', 'scripts/destroy.sh', 'scripts/aws-env.sh']) {
    it(`${script} passes shellcheck`, () => {
      const r = shellcheck(join(AWS_DIR, script));
      assert.ok(r.ok, r.output);
    });
  }
});
