/**
 * The cloud-config documents the instances boot with. They are built as text with CDK
 * tokens in it (the first manager's address, the region, the Redis endpoint), which the
 * template turns into Fn::Join; the tests resolve those and feed the result to
 * `cloud-init schema`, and `shellcheck` reads the node script from its own file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** deploy/aws/cloud-init, seen from the compiled dist/lib. */
const CLOUD_INIT_DIR = join(__dirname, '..', '..', 'cloud-init');

export function cloudInitFile(name: string): string {
  return readFileSync(join(CLOUD_INIT_DIR, name), 'utf8');
}

export type SwarmRole = 'first-manager' | 'manager' | 'worker';

/** Where the node script is installed on every swarm node. */
export const NODE_SCRIPT_PATH = '/usr/local/sbin/hydra-swarm-node';

/** A YAML block scalar body: every line indented by `spaces`. */
function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text.replace(/\n$/, '').split('\n').map((line) => (line === '' ? '' : pad + line)).join('\n');
}

export interface SwarmNodeUserData {
  role: SwarmRole;
  /** SSM path of the join tokens (no trailing slash). */
  paramPath: string;
  /** The first manager's private address (a token), unused by the first manager itself. */
  managerAddr: string;
  region: string;
  /** redis:// or rediss:// URL, exported on managers for `docker stack deploy`. */
  redisUrl: string;
}

export function swarmNodeCloudConfig(o: SwarmNodeUserData): string {
  const env = [
    `SWARM_ROLE=${o.role}`,
    `SWARM_PARAM_PATH=${o.paramPath}`,
    `MANAGER_ADDR=${o.role === 'first-manager' ? '' : o.managerAddr}`,
    `AWS_REGION=${o.region}`,
  ].join('\n');
  const isManager = o.role !== 'worker';
  const profile = `export HYDRA_REDIS_URL=${o.redisUrl}\n`;
  return `#cloud-config
# A Docker Swarm ${o.role} of the hydra-ts cluster (deploy/aws).
package_update: true
packages:
  - docker
write_files:
  - path: /etc/hydra/swarm.env
    owner: root:root
    permissions: '0644'
    content: |
${indent(env, 6)}
  - path: ${NODE_SCRIPT_PATH}
    owner: root:root
    permissions: '0755'
    content: |
${indent(cloudInitFile('swarm-node.sh'), 6)}
${isManager ? `  - path: /etc/profile.d/hydra.sh
    owner: root:root
    permissions: '0644'
    content: |
${indent(profile, 6)}
` : ''}runcmd:
  - [systemctl, enable, --now, docker]
  - [usermod, -aG, docker, ec2-user]
  - [${NODE_SCRIPT_PATH}]
`;
}

/** The optional Redis host: Amazon Linux's redis6 with an append-only file on its EBS volume. */
export function redisHostCloudConfig(): string {
  return `#cloud-config
# The hydra-ts cluster's Redis (deploy/aws, -c redis=instance).
package_update: true
packages:
  - redis6
write_files:
  - path: /etc/hydra/redis.conf
    owner: root:root
    permissions: '0644'
    content: |
${indent(cloudInitFile('redis.conf'), 6)}
runcmd:
  - [sh, -c, 'echo "include /etc/hydra/redis.conf" >> /etc/redis6/redis6.conf']
  - [systemctl, enable, --now, redis6]
`;
}
