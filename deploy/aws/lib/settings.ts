/**
 * The app's parameters. They are CDK context values (cdk.json holds the defaults,
 * `-c name=value` overrides them) rather than CloudFormation parameters, because the
 * node counts decide how many resources the template holds. Each is checked here so a
 * wrong value stops `cdk synth` with a message naming it, before anything is deployed.
 */
export type RedisMode = 'elasticache' | 'instance';

export interface SwarmSettings {
  /** Swarm managers (odd, so Raft keeps a majority when one is lost). */
  managers: number;
  workers: number;
  instanceType: string;
  /** The only source allowed to reach SSH and the visualizer, e.g. 203.0.113.7/32. */
  operatorCidr: string;
  visualizerPort: number;
  /** An existing VPC to use instead of a new one (needs an account and region to look it up). */
  vpcId?: string;
  redis: RedisMode;
  redisNodeType: string;
  redisInstanceType: string;
  /** An EC2 key pair for SSH; without one, EC2 Instance Connect pushes a key per session. */
  keyName?: string;
}

/** The article's cluster: 3 managers, 5 workers, t3.small, ElastiCache. */
export const DEFAULTS = {
  managers: 3,
  workers: 5,
  instanceType: 't3.small',
  visualizerPort: 8080,
  redis: 'elasticache',
  redisNodeType: 'cache.t3.micro',
  redisInstanceType: 't3.small',
} as const;

type Lookup = (key: string) => unknown;

function setting(lookup: Lookup, key: string): string | undefined {
  const value = lookup(key);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

function count(lookup: Lookup, key: string, fallback: number, min: number, max: number): number {
  const raw = setting(lookup, key) ?? String(fallback);
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new Error(`context value ${key} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return n;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function isIpv4Cidr(value: string): boolean {
  const m = CIDR.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  return octets.every((o) => o <= 255) && Number(m[5]) <= 32;
}

export function readSettings(lookup: Lookup): SwarmSettings {
  const managers = count(lookup, 'managers', DEFAULTS.managers, 1, 7);
  if (managers % 2 === 0) {
    throw new Error(`context value managers must be odd (1, 3, 5 or 7) so the swarm keeps a Raft majority; got ${managers}`);
  }
  const operatorCidr = setting(lookup, 'operatorCidr');
  if (operatorCidr === undefined) {
    throw new Error('context value operatorCidr is required: the address range allowed to reach SSH and the visualizer, e.g. -c operatorCidr=203.0.113.7/32');
  }
  if (!isIpv4Cidr(operatorCidr)) throw new Error(`context value operatorCidr must be an IPv4 CIDR such as 203.0.113.7/32 (got ${JSON.stringify(operatorCidr)})`);
  if (operatorCidr.endsWith('/0')) throw new Error('context value operatorCidr must not be /0: SSH and the visualizer would be open to everyone');
  const redis = setting(lookup, 'redis') ?? DEFAULTS.redis;
  if (redis !== 'elasticache' && redis !== 'instance') {
    throw new Error(`context value redis must be "elasticache" or "instance" (got ${JSON.stringify(redis)})`);
  }
  const vpcId = setting(lookup, 'vpcId');
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) throw new Error(`context value vpcId must look like vpc-0123abcd (got ${JSON.stringify(vpcId)})`);
  return {
    managers,
    workers: count(lookup, 'workers', DEFAULTS.workers, 0, 50),
    instanceType: setting(lookup, 'instanceType') ?? DEFAULTS.instanceType,
    operatorCidr,
    visualizerPort: count(lookup, 'visualizerPort', DEFAULTS.visualizerPort, 1024, 65535),
    vpcId,
    redis,
    redisNodeType: setting(lookup, 'redisNodeType') ?? DEFAULTS.redisNodeType,
    redisInstanceType: setting(lookup, 'redisInstanceType') ?? DEFAULTS.redisInstanceType,
    keyName: setting(lookup, 'keyName'),
  };
}
