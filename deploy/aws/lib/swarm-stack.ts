/**
 * The article's AWS cluster: Docker Swarm managers and workers on EC2, an Application
 * Load Balancer in front of the managers' port 80 (where the swarm publishes
 * hydra-router), and Redis (ElastiCache, or one EC2 instance with an append-only file).
 */
import { Aws, CfnOutput, Duration, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { InstanceTarget } from 'aws-cdk-lib/aws-elasticloadbalancingv2-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { SwarmSettings } from './settings';
import { redisHostCloudConfig, swarmNodeCloudConfig, type SwarmRole } from './user-data';

/** The path hydra-router answers its health check on (packages/router). */
export const ROUTER_HEALTH_PATH = '/v1/router/health';
/** Hydra's default Redis database; the services' URL selects it. */
const REDIS_DB = 15;

/** Docker Swarm's ports between nodes (docs.docker.com, "Swarm mode overlay networks"). */
export const SWARM_PORTS = {
  management: ec2.Port.tcp(2377),
  gossipTcp: ec2.Port.tcp(7946),
  gossipUdp: ec2.Port.udp(7946),
  overlay: ec2.Port.udp(4789),
};

/** SSM Parameter Store path of the swarm's join tokens. */
export function tokenParamPath(stackName: string): string {
  return `/hydra/${stackName}/swarm`;
}

export interface SwarmStackProps extends StackProps {
  settings: SwarmSettings;
}

export class SwarmStack extends Stack {
  readonly managers: ec2.Instance[] = [];
  readonly workers: ec2.Instance[] = [];

  constructor(scope: Construct, id: string, props: SwarmStackProps) {
    super(scope, id, props);
    const s = props.settings;

    const vpc = s.vpcId
      ? ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: s.vpcId })
      : new ec2.Vpc(this, 'Vpc', {
          maxAzs: 2, // the load balancer needs two zones
          natGateways: 0, // nodes have public addresses; Redis needs no way out
          subnetConfiguration: [
            { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
            { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
          ],
        });
    const nodeSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PUBLIC };
    const dataSubnets: ec2.SubnetSelection = {
      subnetType: vpc.isolatedSubnets.length > 0 ? ec2.SubnetType.PRIVATE_ISOLATED
        : vpc.privateSubnets.length > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PUBLIC,
    };

    // Security groups: nothing is open but what each line below adds.
    const lbSg = new ec2.SecurityGroup(this, 'LoadBalancerSg', { vpc, allowAllOutbound: false, description: 'hydra swarm load balancer: HTTP in, managers port 80 out' });
    const managerSg = new ec2.SecurityGroup(this, 'ManagerSg', { vpc, description: 'hydra swarm managers' });
    const workerSg = new ec2.SecurityGroup(this, 'WorkerSg', { vpc, description: 'hydra swarm workers' });
    // The Redis host (instance mode) reaches its package repository through the S3
    // endpoint of its isolated subnet; ElastiCache needs no way out at all.
    const redisSg = new ec2.SecurityGroup(this, 'RedisSg', { vpc, allowAllOutbound: s.redis === 'instance', description: 'hydra Redis: 6379 from swarm nodes only' });
    const nodeSgs = [managerSg, workerSg];
    for (const from of nodeSgs) {
      managerSg.connections.allowFrom(from, SWARM_PORTS.management, 'swarm management (raft, joins)');
      for (const to of nodeSgs) {
        to.connections.allowFrom(from, SWARM_PORTS.gossipTcp, 'swarm node gossip');
        to.connections.allowFrom(from, SWARM_PORTS.gossipUdp, 'swarm node gossip');
        to.connections.allowFrom(from, SWARM_PORTS.overlay, 'swarm overlay network (VXLAN)');
      }
      redisSg.connections.allowFrom(from, ec2.Port.tcp(6379), 'Redis from swarm nodes');
    }
    lbSg.connections.allowTo(managerSg, ec2.Port.tcp(80), 'hydra-router, published by the swarm on the managers');
    const operator = ec2.Peer.ipv4(s.operatorCidr);
    for (const sg of nodeSgs) sg.addIngressRule(operator, ec2.Port.tcp(22), 'SSH from the operator');
    managerSg.addIngressRule(operator, ec2.Port.tcp(s.visualizerPort), 'swarm visualizer from the operator');

    // Redis first: the managers' profile carries its URL.
    const redis = s.redis === 'elasticache'
      ? this.elastiCache(vpc, dataSubnets, redisSg, s)
      : this.redisInstance(vpc, dataSubnets, redisSg, s);

    // Join tokens: written by the first manager as SecureStrings (CloudFormation cannot
    // create those), read back by the others. Each role may touch only what it must.
    const paramPath = tokenParamPath(this.stackName);
    const tokenArn = (kind: 'manager' | 'worker') =>
      this.formatArn({ service: 'ssm', resource: 'parameter', resourceName: `${paramPath.slice(1)}/${kind}-token` });
    const firstManagerRole = this.nodeRole('FirstManagerRole', 'the swarm\'s first manager: stores the join tokens');
    firstManagerRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:PutParameter'], resources: [tokenArn('manager'), tokenArn('worker')] }));
    const managerRole = this.nodeRole('ManagerRole', 'swarm managers: read the manager join token');
    managerRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [tokenArn('manager')] }));
    const workerRole = this.nodeRole('WorkerRole', 'swarm workers: read the worker join token');
    workerRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [tokenArn('worker')] }));

    const node = (id: string, role: SwarmRole, sg: ec2.SecurityGroup, iamRole: iam.Role, managerAddr: string) =>
      new ec2.Instance(this, id, {
        vpc,
        vpcSubnets: nodeSubnets,
        instanceType: new ec2.InstanceType(s.instanceType),
        machineImage: ec2.MachineImage.latestAmazonLinux2023(),
        securityGroup: sg,
        role: iamRole,
        requireImdsv2: true,
        keyPair: s.keyName ? ec2.KeyPair.fromKeyPairName(this, `${id}Key`, s.keyName) : undefined,
        blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(16, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true }) }],
        userData: ec2.UserData.custom(swarmNodeCloudConfig({ role, paramPath, managerAddr, region: Aws.REGION, redisUrl: redis.url })),
      });
    const first = node('Manager1', 'first-manager', managerSg, firstManagerRole, '');
    this.managers.push(first);
    for (let i = 2; i <= s.managers; i++) this.managers.push(node(`Manager${i}`, 'manager', managerSg, managerRole, first.instancePrivateIp));
    for (let i = 1; i <= s.workers; i++) this.workers.push(node(`Worker${i}`, 'worker', workerSg, workerRole, first.instancePrivateIp));

    // The load balancer: HTTP from anywhere to the routers on the managers' port 80.
    const lb = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', { vpc, internetFacing: true, securityGroup: lbSg, vpcSubnets: nodeSubnets });
    const listener = lb.addListener('Http', { port: 80, open: true });
    listener.addTargets('Routers', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: this.managers.map((m) => new InstanceTarget(m, 80)),
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: ROUTER_HEALTH_PATH,
        healthyHttpCodes: '200',
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });

    const firstIp = first.instancePublicIp;
    new CfnOutput(this, 'LoadBalancerDns', { value: lb.loadBalancerDnsName, description: 'open http://<this>/ once the stack is deployed on the swarm' });
    new CfnOutput(this, 'RedisEndpoint', { value: redis.endpoint, description: 'Redis host:port, reachable from the swarm nodes only' });
    new CfnOutput(this, 'RedisUrl', { value: redis.url, description: 'HYDRA_REDIS_URL for the services (exported on the managers)' });
    new CfnOutput(this, 'FirstManagerIp', { value: firstIp, description: 'public address of the first swarm manager (SSH as ec2-user)' });
    new CfnOutput(this, 'JoinTokenPath', { value: paramPath, description: 'SSM path of the SecureString join tokens' });
    new CfnOutput(this, 'NextSteps', {
      description: 'what to run next (deploy/aws/README.md)',
      value: Fn.join('', [
        'ssh ec2-user@', firstIp, ' docker node ls ; ',
        'scp deploy/swarm/stack.yml deploy/swarm/configs/*.json ec2-user@', firstIp, ': ; ',
        'on it: export REGISTRY=<your registry> ; docker network create --driver overlay --subnet 198.19.160.0/24 hydra-net ; ',
        'printf %s "$HYDRA_REDIS_URL" | docker secret create hydra_redis_url - ; ',
        'docker run --rm -e HYDRA_REDIS_URL -v "$PWD:/configs:ro" $REGISTRY/hydra-cli:0.1.0 cfg push hello-service:0.0.2 /configs/hello-service.json (and each config) ; ',
        'docker stack deploy --with-registry-auth -c stack.yml hydra ; ',
        'curl http://', lb.loadBalancerDnsName, ROUTER_HEALTH_PATH,
      ]),
    });
  }

  private nodeRole(id: string, description: string): iam.Role {
    return new iam.Role(this, id, { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'), description });
  }

  private elastiCache(vpc: ec2.IVpc, subnets: ec2.SubnetSelection, sg: ec2.SecurityGroup, s: SwarmSettings): RedisEndpoint {
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'RedisSubnets', {
      description: 'hydra Redis subnets',
      subnetIds: vpc.selectSubnets(subnets).subnetIds,
    });
    const parameters = new elasticache.CfnParameterGroup(this, 'RedisParameters', {
      cacheParameterGroupFamily: 'redis7',
      description: 'hydra Redis: keyspace events for discovery',
      // ElastiCache refuses CONFIG SET, so the events hydra-ts discovery follows are set here.
      properties: { 'notify-keyspace-events': 'Kg$x' },
    });
    const group = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupDescription: 'hydra-ts registry, messaging and config',
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: s.redisNodeType,
      numCacheClusters: 2, // a primary and a replica in another zone
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      cacheSubnetGroupName: subnetGroup.ref,
      cacheParameterGroupName: parameters.ref,
      securityGroupIds: [sg.securityGroupId],
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      snapshotRetentionLimit: 1,
    });
    const endpoint = `${group.attrPrimaryEndPointAddress}:${group.attrPrimaryEndPointPort}`;
    return { endpoint, url: `rediss://${endpoint}/${REDIS_DB}` };
  }

  private redisInstance(vpc: ec2.IVpc, subnets: ec2.SubnetSelection, sg: ec2.SecurityGroup, s: SwarmSettings): RedisEndpoint {
    // Amazon Linux's package repositories live in S3: a gateway endpoint (no charge) lets
    // the Redis host in its isolated subnet install redis6 without a NAT gateway.
    if (vpc instanceof ec2.Vpc) vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [subnets] });
    const host = new ec2.Instance(this, 'RedisHost', {
      vpc,
      vpcSubnets: subnets,
      instanceType: new ec2.InstanceType(s.redisInstanceType),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      securityGroup: sg,
      requireImdsv2: true,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(20, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true }) }],
      userData: ec2.UserData.custom(redisHostCloudConfig()),
    });
    const endpoint = `${host.instancePrivateIp}:6379`;
    return { endpoint, url: `redis://${endpoint}/${REDIS_DB}` };
  }
}

interface RedisEndpoint {
  endpoint: string;
  url: string;
}
