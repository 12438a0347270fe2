/**
 * What the tests share: the app synthesized in memory with given context values, and
 * the user-data of an instance with its CloudFormation functions replaced by sample
 * values, as cloud-init on the instance would receive it.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readSettings } from '../lib/settings';
import { SwarmStack } from '../lib/swarm-stack';

export const OPERATOR_CIDR = '203.0.113.7/32';

/**
 * The stack with `operatorCidr` and the given context. CDK's built-in CloudFormation
 * schema check runs only when asked (`validate`): it takes tens of seconds a template,
 * so the template tests leave it to synth.test.ts.
 */
export function synth(context: Record<string, unknown> = {}, opts: { validate?: boolean } = {}): { template: Template; stack: SwarmStack } {
  const app = new App({ context: { operatorCidr: OPERATOR_CIDR, '@aws-cdk/core:validateAgainstDefaultRules': true, ...context } });
  const settings = readSettings((key) => app.node.tryGetContext(key));
  const env = settings.vpcId ? { account: '123456789012', region: 'eu-west-1' } : undefined;
  const stack = new SwarmStack(app, 'HydraSwarm', { settings, env });
  const saved = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = opts.validate ? 'true' : 'false';
  try {
    return { template: Template.fromStack(stack), stack };
  } finally {
    if (saved === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = saved;
  }
}

export type Resources = Record<string, { Type: string; Properties?: Record<string, any>; DependsOn?: string[] }>;

export function resources(template: Template): Resources {
  return template.toJSON().Resources as Resources;
}

export function ofType(template: Template, type: string): [string, Record<string, any>][] {
  return Object.entries(resources(template))
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

/** Sample values for what CloudFormation fills in at deploy time. */
const SAMPLE_ATTRIBUTES: Record<string, string> = {
  PrivateIp: '198.18.0.10',
  PublicIp: '198.19.0.10',
  'PrimaryEndPoint.Address': 'hydra-redis.abc123.ng.0001.euw1.cache.amazonaws.com',
  'PrimaryEndPoint.Port': '6379',
};
const SAMPLE_REFS: Record<string, string> = { 'AWS::Region': 'eu-west-1', 'AWS::Partition': 'aws', 'AWS::AccountId': '123456789012' };

/** Resolves Fn::Join, Ref and Fn::GetAtt (the only functions the user-data uses). */
export function resolveSample(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, any>;
  if (v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(resolveSample).join(sep);
  }
  if (v.Ref && SAMPLE_REFS[v.Ref]) return SAMPLE_REFS[v.Ref];
  if (v['Fn::GetAtt'] && SAMPLE_ATTRIBUTES[v['Fn::GetAtt'][1]]) return SAMPLE_ATTRIBUTES[v['Fn::GetAtt'][1]];
  throw new Error(`no sample value for ${JSON.stringify(value)}`);
}

/** The cloud-config an instance boots with (its UserData, Base64 as CloudFormation would encode it). */
export function userDataOf(template: Template, instanceId: string): string {
  const props = resources(template)[instanceId]?.Properties;
  if (!props) throw new Error(`no resource ${instanceId}`);
  return resolveSample(props.UserData['Fn::Base64']);
}

/** The instance logical ids whose ids start with `prefix` (Manager1…, Worker1…). */
export function instanceIds(template: Template, prefix: string): string[] {
  return ofType(template, 'AWS::EC2::Instance').map(([id]) => id).filter((id) => id.startsWith(prefix)).sort();
}
