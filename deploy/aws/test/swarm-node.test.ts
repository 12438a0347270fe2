/**
 * The node script's decisions, run for real by bash with stand-ins for the three
 * programs it drives on EC2 (docker, aws, curl to the metadata service), which record
 * their arguments and keep the swarm state and the parameter store in a folder. No
 * Docker swarm is started on this machine (other work shares its engine) and no AWS
 * endpoint is called; what AWS and Docker then do is out of reach offline.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const SCRIPT = join(__dirname, '..', '..', 'cloud-init', 'swarm-node.sh');
const PARAM_PATH = '/hydra/Test/swarm';

/** The stand-ins: each appends its command line to calls.log. */
const FAKES: Record<string, string> = {
  docker: `#!/bin/bash
echo "docker $*" >> "$FAKE/calls.log"
state=$(cat "$FAKE/state" 2>/dev/null || echo inactive)
case "$1 $2" in
  "info --format") echo "$state" ;;
  "info ") ;;
  "swarm init") echo active > "$FAKE/state" ;;
  "swarm join-token") echo "SWMTKN-1-test-$4" ;;
  "swarm join") echo active > "$FAKE/state" ;;
  *) echo "unexpected docker $*" >&2; exit 99 ;;
esac
`,
  aws: `#!/bin/bash
echo "aws $*" >> "$FAKE/calls.log"
[ "$1 $2" = "ssm put-parameter" ] || [ "$1 $2" = "ssm get-parameter" ] || { echo "unexpected aws $*" >&2; exit 99; }
name="" value=""
while [ $# -gt 0 ]; do
  case "$1" in --name) name=$2; shift ;; --value) value=$2; shift ;; esac
  shift
done
file="$FAKE/params/$(echo "$name" | tr / _)"
if [ -n "$value" ]; then echo "$value" > "$file"; exit 0; fi
[ -f "$file" ] || { echo "An error occurred (ParameterNotFound) when calling the GetParameter operation" >&2; exit 254; }
cat "$file"
`,
  curl: `#!/bin/bash
echo "curl $*" >> "$FAKE/calls.log"
case "$*" in
  *"-X PUT"*api/token*) echo imds-session-token ;;
  *"X-aws-ec2-metadata-token: imds-session-token"*local-ipv4) cat "$FAKE/ip" ;;
  *) echo "unexpected curl $*" >&2; exit 22 ;;
esac
`,
};

/** A node: its own folder of stand-ins and state; `store` is shared like SSM is. */
function node(role: string, ip: string, store: string) {
  const fake = mkdtempSync(join(tmpdir(), 'hydra-swarm-node-'));
  const bin = join(fake, 'bin');
  mkdirSync(bin);
  for (const [name, text] of Object.entries(FAKES)) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  symlinkSync(store, join(fake, 'params'));
  writeFileSync(join(fake, 'ip'), `${ip}\n`);
  writeFileSync(join(fake, 'swarm.env'), `SWARM_ROLE=${role}\nSWARM_PARAM_PATH=${PARAM_PATH}\nMANAGER_ADDR=198.18.0.11\nAWS_REGION=eu-west-1\n`);
  return {
    run(env: Record<string, string> = {}) {
      const r = spawnSync('bash', [SCRIPT], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { PATH: `${bin}:/usr/bin:/bin`, FAKE: fake, SWARM_ENV: join(fake, 'swarm.env'), TOKEN_PAUSE: '0', ...env },
      });
      const calls = existsSync(join(fake, 'calls.log')) ? readFileSync(join(fake, 'calls.log'), 'utf8').trim().split('\n') : [];
      return { status: r.status, stderr: r.stderr, calls: calls.filter((c) => !c.startsWith('curl ')) };
    },
    fake,
  };
}

/** Nodes made by one cluster() share a parameter store, as they share the account's SSM. */
function cluster() {
  const store = mkdtempSync(join(tmpdir(), 'hydra-ssm-'));
  return { make: (role: string, ip: string) => node(role, ip, store) };
}

describe('swarm-node.sh', () => {
  it('on the first manager: inits the swarm on its private address and stores both tokens as SecureStrings', () => {
    const { make } = cluster();
    const r = make('first-manager', '198.18.0.11').run();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [
      'docker info',
      'docker info --format {{.Swarm.LocalNodeState}}',
      'docker swarm init --advertise-addr 198.18.0.11',
      'docker swarm join-token -q manager',
      `aws ssm put-parameter --name ${PARAM_PATH}/manager-token --type SecureString --overwrite --value SWMTKN-1-test-manager`,
      'docker swarm join-token -q worker',
      `aws ssm put-parameter --name ${PARAM_PATH}/worker-token --type SecureString --overwrite --value SWMTKN-1-test-worker`,
    ]);
  });

  it('on a worker and a manager: read only their own token, then join through the first manager', () => {
    const { make } = cluster();
    assert.equal(make('first-manager', '198.18.0.11').run().status, 0);
    const worker = make('worker', '198.18.0.31').run();
    assert.equal(worker.status, 0, worker.stderr);
    assert.deepEqual(worker.calls.slice(2), [
      `aws ssm get-parameter --with-decryption --name ${PARAM_PATH}/worker-token --query Parameter.Value --output text`,
      'docker swarm join --advertise-addr 198.18.0.31 --token SWMTKN-1-test-worker 198.18.0.11:2377',
    ]);
    const manager = make('manager', '198.18.0.12').run();
    assert.equal(manager.status, 0, manager.stderr);
    assert.deepEqual(manager.calls.slice(2), [
      `aws ssm get-parameter --with-decryption --name ${PARAM_PATH}/manager-token --query Parameter.Value --output text`,
      'docker swarm join --advertise-addr 198.18.0.12 --token SWMTKN-1-test-manager 198.18.0.11:2377',
    ]);
  });

  it('waits for the token while the first manager is not ready, and gives up after the set number of tries, naming it', () => {
    const { make } = cluster();
    const r = make('worker', '198.18.0.31').run({ TOKEN_TRIES: '3' });
    assert.equal(r.status, 1);
    assert.equal(r.calls.filter((c) => c.startsWith('aws ssm get-parameter')).length, 3);
    assert.ok(!r.calls.some((c) => c.startsWith('docker swarm join')));
    assert.match(r.stderr, /waiting for \/hydra\/Test\/swarm\/worker-token \(3\/3\)/);
    assert.match(r.stderr, /no join token at \/hydra\/Test\/swarm\/worker-token after 3 tries; is the first manager up\?/);
  });

  it('does nothing on a node already in a swarm (a second run after a reboot)', () => {
    const { make } = cluster();
    const n = make('first-manager', '198.18.0.11');
    writeFileSync(join(n.fake, 'state'), 'active\n');
    const r = n.run();
    assert.equal(r.status, 0);
    assert.deepEqual(r.calls, ['docker info', 'docker info --format {{.Swarm.LocalNodeState}}']);
    assert.match(r.stderr, /already part of a swarm/);
  });

  it('refuses an unknown role', () => {
    const r = cluster().make('leader', '198.18.0.11').run();
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown SWARM_ROLE 'leader'/);
  });
});
