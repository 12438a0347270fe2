/**
 * `cdk synth`, the real CLI, with no AWS credentials and (as root) no network at all:
 * it runs in a network namespace of its own with only a loopback device. CDK's
 * built-in CloudFormation schema check is set to fail the synthesis (cdk.json), so a
 * wrong property or type in any resource fails here too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OPERATOR_CIDR, synth } from './helpers';

const AWS_DIR = join(__dirname, '..', '..');
const CDK = join(AWS_DIR, 'node_modules', '.bin', 'cdk');

/** The environment without anything AWS, with an empty home (no ~/.aws). */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  env.HOME = mkdtempSync(join(tmpdir(), 'hydra-aws-home-'));
  env.CDK_DISABLE_CLI_TELEMETRY = 'true';
  return env;
}

function cdkSynth(args: string[]): { status: number | null; output: string; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'hydra-aws-cdkout-'));
  const command = [CDK, 'synth', '--no-notices', '--no-version-reporting', '--quiet', '-o', outdir, ...args];
  // As root (CI), unshare gives the command a network namespace with no way out.
  const [file, argv] = process.getuid?.() === 0 ? ['unshare', ['--net', ...command]] : [command[0], command.slice(1)];
  const r = spawnSync(file, argv, { cwd: AWS_DIR, env: offlineEnv(), encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: r.stdout + r.stderr, outdir };
}

describe('cdk synth offline', () => {
  it('synthesizes the default cluster without credentials or network, and CloudFormation\'s schema check passes', () => {
    const r = cdkSynth(['-c', `operatorCidr=${OPERATOR_CIDR}`]);
    assert.equal(r.status, 0, r.output);
    const template = JSON.parse(readFileSync(join(r.outdir, 'HydraSwarm.template.json'), 'utf8'));
    const count = (type: string) => Object.values(template.Resources as Record<string, { Type: string }>).filter((x) => x.Type === type).length;
    assert.equal(count('AWS::EC2::Instance'), 8);
    assert.equal(count('AWS::ElasticLoadBalancingV2::LoadBalancer'), 1);
    assert.equal(count('AWS::ElastiCache::ReplicationGroup'), 1);
    const report = JSON.parse(readFileSync(join(r.outdir, 'validation-report.json'), 'utf8'));
    const violations = report.pluginReports.flatMap((p: { violations: unknown[] }) => p.violations);
    assert.deepEqual(violations, []);
  });

  it('stops with a message naming the missing operator range', () => {
    const r = cdkSynth([]);
    assert.notEqual(r.status, 0);
    assert.match(r.output, /context value operatorCidr is required/);
    assert.ok(!existsSync(join(r.outdir, 'HydraSwarm.template.json')));
  });

  it('the schema check finds exactly one fault in the Redis-instance variant given one wrong property', () => {
    // In memory, one synthesis for two facts: the check is really on (it fails the
    // misspelt property) and the variant has no other fault (nothing else is reported).
    const { stack } = synth({ redis: 'instance' });
    const instance = stack.managers[0].node.defaultChild as import('aws-cdk-lib').CfnResource;
    instance.addPropertyOverride('InstanceTyp', 't3.small');
    let report: { pluginReports: { violations: { ruleName: string; description: string; violatingResources: { locations: string[] }[] }[] }[] } | undefined;
    assert.throws(() => synthValidated(stack), (err: Error) => {
      const file = /report can be found in: (\S+\.json)/.exec(err.message)?.[1];
      assert.ok(file, err.message);
      report = JSON.parse(readFileSync(file, 'utf8'));
      return true;
    });
    const violations = report!.pluginReports.flatMap((p) => p.violations);
    assert.equal(violations.length, 1, JSON.stringify(violations, null, 2));
    assert.match(JSON.stringify(violations[0]), /InstanceTyp/);
    assert.match(JSON.stringify(violations[0]), /Additional properties are not allowed/);
  });
});

/** Synthesizes the stack's app again with the CloudFormation check on, failing on errors. */
function synthValidated(stack: import('aws-cdk-lib').Stack): void {
  const saved = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'true';
  try {
    (stack.node.root as import('aws-cdk-lib').App).synth({ force: true });
  } finally {
    if (saved === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = saved;
  }
}
