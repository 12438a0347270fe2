/**
 * The synthesized template, asserted with CDK's assertions module: the nodes and their
 * roles, every security group rule (and nothing more), the load balancer's health
 * check, where the join tokens live, and what each role may do.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { readSettings } from '../lib/settings';
import { SwarmStack } from '../lib/swarm-stack';
import { OPERATOR_CIDR, instanceIds, ofType, resources, synth, userDataOf } from './helpers';

const { template } = synth();
const res = resources(template);

/** A security group's logical id → a short name for the expectations below. */
const SG_NAMES: Record<string, string> = {};
for (const [id] of ofType(template, 'AWS::EC2::SecurityGroup')) SG_NAMES[id] = id.replace(/Sg[0-9A-F]{8}$/, '');

function sgName(ref: any): string {
  const id = ref?.['Fn::GetAtt']?.[0] ?? ref?.Ref;
  assert.ok(SG_NAMES[id], `security group reference ${JSON.stringify(ref)}`);
  return SG_NAMES[id];
}

type Rule = string; // "<group> <proto>/<ports> from <source>"

function describeRule(group: string, r: Record<string, any>, dir: 'from' | 'to'): Rule {
  const proto = r.IpProtocol === '-1' ? 'all' : r.IpProtocol;
  const ports = r.IpProtocol === '-1' ? '' : r.FromPort === r.ToPort ? `/${r.FromPort}` : `/${r.FromPort}-${r.ToPort}`;
  const peer = r.CidrIp ?? r.CidrIpv6 ?? sgName(r.SourceSecurityGroupId ?? r.DestinationSecurityGroupId);
  return `${group} ${proto}${ports} ${dir} ${peer}`;
}

/** Every ingress (or egress) rule in the template, inline or standalone. */
function rules(kind: 'Ingress' | 'Egress', tmpl = template): Rule[] {
  const dir = kind === 'Ingress' ? 'from' : 'to';
  const out: Rule[] = [];
  for (const [id, p] of ofType(tmpl, 'AWS::EC2::SecurityGroup')) {
    for (const r of p[`SecurityGroup${kind}`] ?? []) out.push(describeRule(SG_NAMES[id], r, dir));
  }
  for (const [, p] of ofType(tmpl, `AWS::EC2::SecurityGroup${kind}`)) out.push(describeRule(sgName(p.GroupId), p, dir));
  return out.sort();
}

describe('nodes', () => {
  it('runs 3 managers and 5 workers on t3.small Amazon Linux 2023 with IMDSv2 only', () => {
    template.resourceCountIs('AWS::EC2::Instance', 8);
    assert.deepEqual(instanceIds(template, 'Manager').length, 3);
    assert.deepEqual(instanceIds(template, 'Worker').length, 5);
    const parameters = template.toJSON().Parameters;
    for (const [, p] of ofType(template, 'AWS::EC2::Instance')) {
      assert.equal(p.InstanceType, 't3.small');
      assert.match(parameters[p.ImageId.Ref].Default, /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-/);
    }
    for (const [, p] of ofType(template, 'AWS::EC2::LaunchTemplate')) {
      assert.equal(p.LaunchTemplateData.MetadataOptions.HttpTokens, 'required');
    }
  });

  it('gives the first manager, the other managers and the workers a role each', () => {
    const roleOf = (instanceId: string) => {
      const profileId = res[instanceId].Properties!.IamInstanceProfile.Ref;
      return res[profileId].Properties!.Roles[0].Ref as string;
    };
    const first = roleOf(instanceIds(template, 'Manager1')[0]);
    const managers = new Set(instanceIds(template, 'Manager').slice(1).map(roleOf));
    const workers = new Set(instanceIds(template, 'Worker').map(roleOf));
    assert.match(first, /^FirstManagerRole/);
    assert.deepEqual([...managers].map((r) => r.replace(/[0-9A-F]{8}$/, '')), ['ManagerRole']);
    assert.deepEqual([...workers].map((r) => r.replace(/[0-9A-F]{8}$/, '')), ['WorkerRole']);
    template.resourceCountIs('AWS::IAM::Role', 3);
    template.allResourcesProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } }] },
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('puts the nodes in public subnets with encrypted gp3 volumes', () => {
    for (const [, p] of ofType(template, 'AWS::EC2::Instance')) {
      assert.match(p.SubnetId.Ref, /^VpcPublicSubnet/);
      assert.deepEqual(p.BlockDeviceMappings[0].Ebs, { Encrypted: true, VolumeSize: 16, VolumeType: 'gp3' });
    }
  });

  it('takes counts and instance type from context', () => {
    const t = synth({ managers: 5, workers: 2, instanceType: 't3.medium' }).template;
    assert.equal(instanceIds(t, 'Manager').length, 5);
    assert.equal(instanceIds(t, 'Worker').length, 2);
    t.allResourcesProperties('AWS::EC2::Instance', { InstanceType: 't3.medium' });
    // the load balancer follows the managers
    const targets = ofType(t, 'AWS::ElasticLoadBalancingV2::TargetGroup')[0][1].Targets;
    assert.equal(targets.length, 5);
  });

  it('refuses settings that would make a bad cluster, naming the setting', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ managers: 2 }, /managers must be odd/],
      [{ managers: 0 }, /managers must be an integer from 1 to 7/],
      [{ workers: -1 }, /workers must be an integer from 0 to 50/],
      [{ workers: '3x' }, /workers must be an integer/],
      [{ operatorCidr: undefined }, /operatorCidr is required/],
      [{ operatorCidr: '203.0.113.7' }, /operatorCidr must be an IPv4 CIDR/],
      [{ operatorCidr: '300.0.113.7/32' }, /operatorCidr must be an IPv4 CIDR/],
      [{ operatorCidr: '0.0.0.0/0' }, /must not be \/0/],
      [{ redis: 'memcached' }, /redis must be "elasticache" or "instance"/],
      [{ vpcId: 'my-vpc' }, /vpcId must look like vpc-/],
    ];
    for (const [context, message] of bad) {
      const ctx: Record<string, unknown> = { operatorCidr: OPERATOR_CIDR, ...context };
      assert.throws(() => readSettings((k) => ctx[k]), message, JSON.stringify(context));
    }
  });
});

describe('security groups', () => {
  it('open exactly the swarm ports between nodes, 80 from the load balancer, SSH and the visualizer from the operator', () => {
    const swarm = (to: string, from: string) => [
      `${to} tcp/7946 from ${from}`, `${to} udp/7946 from ${from}`, `${to} udp/4789 from ${from}`,
    ];
    const expected = [
      'LoadBalancer tcp/80 from 0.0.0.0/0',
      'Manager tcp/2377 from Manager', 'Manager tcp/2377 from Worker',
      ...swarm('Manager', 'Manager'), ...swarm('Manager', 'Worker'),
      ...swarm('Worker', 'Manager'), ...swarm('Worker', 'Worker'),
      'Manager tcp/80 from LoadBalancer',
      `Manager tcp/22 from ${OPERATOR_CIDR}`, `Worker tcp/22 from ${OPERATOR_CIDR}`,
      `Manager tcp/8080 from ${OPERATOR_CIDR}`,
      'Redis tcp/6379 from Manager', 'Redis tcp/6379 from Worker',
    ].sort();
    assert.deepEqual(rules('Ingress'), expected);
  });

  it('let the load balancer talk only to the managers\' port 80, and Redis to nobody', () => {
    assert.deepEqual(rules('Egress'), [
      'LoadBalancer tcp/80 to Manager',
      'Manager all to 0.0.0.0/0', // packages, images, the SSM API
      // CDK's marker for "no egress at all" (an ICMP type that does not exist)
      'Redis icmp/252-86 to 255.255.255.255/32',
      'Worker all to 0.0.0.0/0',
    ].sort());
  });

  it('move the visualizer port with its setting', () => {
    const t = synth({ visualizerPort: 9090 }).template;
    assert.ok(rules('Ingress', t).includes(`Manager tcp/9090 from ${OPERATOR_CIDR}`));
    assert.ok(!rules('Ingress', t).some((r) => r.includes('/8080')));
  });
});

describe('load balancer', () => {
  it('is internet-facing HTTP on port 80, forwarding to the three managers\' port 80', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing', Type: 'application' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    const [[, tg]] = ofType(template, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    const managerRefs = instanceIds(template, 'Manager').map((id) => ({ Id: { Ref: id }, Port: 80 }));
    assert.deepEqual(tg.Targets, managerRefs);
    assert.equal(tg.Port, 80);
    assert.equal(tg.TargetType, 'instance');
  });

  it('checks health on the router\'s health path', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/v1/router/health',
      Matcher: { HttpCode: '200' },
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
    });
  });
});

describe('join tokens and IAM', () => {
  const statementsByRole = () => {
    const out: Record<string, unknown[]> = {};
    for (const [, p] of ofType(template, 'AWS::IAM::Policy')) {
      for (const role of p.Roles) {
        const name = role.Ref.replace(/[0-9A-F]{8}$/, '');
        (out[name] ??= []).push(...p.PolicyDocument.Statement);
      }
    }
    return out;
  };
  const tokenArn = (kind: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:parameter/hydra/HydraSwarm/swarm/${kind}-token`]],
  });

  it('keeps no token in the template: CloudFormation makes no SSM parameter at all', () => {
    template.resourceCountIs('AWS::SSM::Parameter', 0);
    assert.doesNotMatch(JSON.stringify(template.toJSON()), /SWMTKN/);
  });

  it('has the first manager store both tokens as SecureStrings under the stack\'s path', () => {
    const userData = userDataOf(template, instanceIds(template, 'Manager1')[0]);
    assert.match(userData, /SWARM_ROLE=first-manager\n/);
    assert.match(userData, /SWARM_PARAM_PATH=\/hydra\/HydraSwarm\/swarm\n/);
    assert.match(userData, /aws ssm put-parameter --name "\$SWARM_PARAM_PATH\/\$kind-token" --type SecureString/);
  });

  it('grants each role only what it needs: first manager writes the two tokens, managers read theirs, workers theirs', () => {
    assert.deepEqual(statementsByRole(), {
      FirstManagerRole: [{ Action: 'ssm:PutParameter', Effect: 'Allow', Resource: [tokenArn('manager'), tokenArn('worker')] }],
      ManagerRole: [{ Action: 'ssm:GetParameter', Effect: 'Allow', Resource: tokenArn('manager') }],
      WorkerRole: [{ Action: 'ssm:GetParameter', Effect: 'Allow', Resource: tokenArn('worker') }],
    });
    assert.doesNotMatch(JSON.stringify(ofType(template, 'AWS::IAM::Policy')), /"\*"|:\*"/);
  });

  it('points the other nodes at the first manager\'s private address', () => {
    const first = instanceIds(template, 'Manager1')[0];
    for (const id of [...instanceIds(template, 'Manager').slice(1), ...instanceIds(template, 'Worker')]) {
      assert.match(userDataOf(template, id), /MANAGER_ADDR=198\.18\.0\.10\n/);
      assert.ok(JSON.stringify(res[id].Properties!.UserData).includes(JSON.stringify({ 'Fn::GetAtt': [first, 'PrivateIp'] })));
    }
  });
});

describe('Redis', () => {
  it('is ElastiCache by default: a primary and a replica, encrypted, keyspace events on, in the isolated subnets', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'redis', CacheNodeType: 'cache.t3.micro', NumCacheClusters: 2, AutomaticFailoverEnabled: true,
      MultiAZEnabled: true, AtRestEncryptionEnabled: true, TransitEncryptionEnabled: true,
    });
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { Properties: { 'notify-keyspace-events': 'Kg$x' } });
    const [[, subnets]] = ofType(template, 'AWS::ElastiCache::SubnetGroup');
    for (const s of subnets.SubnetIds) assert.match(s.Ref, /^VpcDataSubnet/);
    template.resourceCountIs('AWS::EC2::Instance', 8);
  });

  it('reaches the managers as HYDRA_REDIS_URL over TLS', () => {
    const userData = userDataOf(template, instanceIds(template, 'Manager2')[0]);
    assert.match(userData, /export HYDRA_REDIS_URL=rediss:\/\/hydra-redis\.abc123\.ng\.0001\.euw1\.cache\.amazonaws\.com:6379\/15\n/);
    assert.doesNotMatch(userDataOf(template, instanceIds(template, 'Worker1')[0]), /HYDRA_REDIS_URL/);
  });

  it('can be one EC2 instance with an append-only file instead', () => {
    const t = synth({ redis: 'instance' }).template;
    t.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 0);
    t.resourceCountIs('AWS::EC2::Instance', 9);
    const [redisHost] = instanceIds(t, 'RedisHost');
    const props = resources(t)[redisHost].Properties!;
    assert.match(props.SubnetId.Ref, /^VpcDataSubnet/);
    // its role (CDK gives every instance one) may do nothing
    const profile = resources(t)[props.IamInstanceProfile.Ref].Properties!;
    const role = profile.Roles[0].Ref;
    assert.equal(resources(t)[role].Properties!.ManagedPolicyArns, undefined);
    assert.ok(!ofType(t, 'AWS::IAM::Policy').some(([, p]) => JSON.stringify(p.Roles).includes(role)));
    const userData = userDataOf(t, redisHost);
    assert.match(userData, /appendonly yes/);
    assert.match(userData, /notify-keyspace-events Kg\$x/);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: Match.objectLike({}), VpcEndpointType: 'Gateway' });
    t.hasOutput('RedisUrl', { Value: { 'Fn::Join': ['', ['redis://', { 'Fn::GetAtt': [redisHost, 'PrivateIp'] }, ':6379/15']] } });
  });
});

describe('an existing VPC', () => {
  it('is looked up by id instead of creating one', () => {
    // First synthesis: CDK reports the lookup it needs; the test answers it as the
    // AWS lookup would, without credentials or network.
    const vpcId = 'vpc-0abc1234def567890';
    const app = new App({ context: { operatorCidr: OPERATOR_CIDR, vpcId } });
    const settings = readSettings((k) => app.node.tryGetContext(k));
    new SwarmStack(app, 'HydraSwarm', { settings, env: { account: '123456789012', region: 'eu-west-1' } });
    process.env.CDK_VALIDATION = 'false';
    const missing = app.synth().manifest.missing ?? [];
    assert.equal(missing.length, 1);
    assert.equal(missing[0].provider, 'vpc-provider');
    const subnet = (id: string, az: string) => ({ subnetId: id, cidr: '198.18.0.0/24', availabilityZone: az, routeTableId: `rtb-${id}` });
    const lookup = {
      vpcId, vpcCidrBlock: '198.18.0.0/16', availabilityZones: [], ownerAccountId: '123456789012',
      subnetGroups: [
        { name: 'Public', type: 'Public', subnets: [subnet('subnet-0a0000000000000a1', 'eu-west-1a'), subnet('subnet-0a0000000000000a2', 'eu-west-1b')] },
        { name: 'Data', type: 'Isolated', subnets: [subnet('subnet-0b0000000000000b1', 'eu-west-1a'), subnet('subnet-0b0000000000000b2', 'eu-west-1b')] },
      ],
    };
    const t = synth({ vpcId, [missing[0].key]: lookup }).template;
    t.resourceCountIs('AWS::EC2::VPC', 0);
    t.resourceCountIs('AWS::EC2::Instance', 8);
    t.allResourcesProperties('AWS::EC2::SecurityGroup', { VpcId: vpcId });
    for (const [, p] of ofType(t, 'AWS::EC2::Instance')) assert.match(p.SubnetId, /^subnet-0a/);
    t.hasResourceProperties('AWS::ElastiCache::SubnetGroup', { SubnetIds: ['subnet-0b0000000000000b1', 'subnet-0b0000000000000b2'] });
  });
});

describe('outputs', () => {
  it('give the load balancer address, the Redis endpoint and the commands to run next', () => {
    template.hasOutput('LoadBalancerDns', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LoadBalancer'), 'DNSName'] } });
    template.hasOutput('RedisEndpoint', Match.anyValue());
    template.hasOutput('RedisUrl', Match.anyValue());
    template.hasOutput('JoinTokenPath', { Value: '/hydra/HydraSwarm/swarm' });
    const next = JSON.stringify(template.toJSON().Outputs.NextSteps.Value);
    for (const command of ['docker node ls', 'docker secret create hydra_redis_url', 'hydra-cli:0.1.0 cfg push hello-service:0.0.2', 'docker stack deploy', '/v1/router/health']) {
      assert.ok(next.includes(command), `NextSteps mentions ${command}`);
    }
  });
});
