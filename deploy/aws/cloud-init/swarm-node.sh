#!/bin/bash
# Brings this EC2 instance into the Docker Swarm. cloud-init runs it once, at first boot,
# after Docker is installed; its settings come from /etc/hydra/swarm.env, which the
# template writes (no secret in it):
#   SWARM_ROLE        first-manager | manager | worker
#   SWARM_PARAM_PATH  SSM Parameter Store path of the join tokens, e.g. /hydra/HydraSwarm/swarm
#   MANAGER_ADDR      private address of the first manager
#   AWS_REGION        the stack's region
# The first manager initialises the swarm and stores both join tokens as SecureString
# parameters; every other node waits for its token (its role may read only that one)
# and joins through the first manager.
set -euo pipefail

# (SWARM_ENV, TOKEN_TRIES and TOKEN_PAUSE are there for test/swarm-node.test.ts.)
# shellcheck source=/dev/null
. "${SWARM_ENV:-/etc/hydra/swarm.env}"
export AWS_REGION AWS_DEFAULT_REGION="$AWS_REGION"

# How long a node waits for the first manager's tokens: 90 tries, 10 s apart.
TOKEN_TRIES=${TOKEN_TRIES:-90}
TOKEN_PAUSE=${TOKEN_PAUSE:-10}

log() { echo "hydra-swarm-node: $*" >&2; }

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }

# The instance's private address, from the instance metadata service (IMDSv2 only).
private_ip() {
  local imds_token
  imds_token=$(curl -sSf --max-time 5 -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
  curl -sSf --max-time 5 -H "X-aws-ec2-metadata-token: $imds_token" \
    http://169.254.169.254/latest/meta-data/local-ipv4
}

wait_for_docker() {
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    log "waiting for the Docker daemon ($i/60)"
    sleep 2
  done
  log "the Docker daemon did not start"
  return 1
}

init_swarm() {
  docker swarm init --advertise-addr "$(private_ip)"
  local kind
  for kind in manager worker; do
    # The token goes to SSM over TLS and is stored encrypted with the account's aws/ssm key.
    aws ssm put-parameter --name "$SWARM_PARAM_PATH/$kind-token" --type SecureString \
      --overwrite --value "$(docker swarm join-token -q "$kind")" >/dev/null
    log "stored the $kind join token in $SWARM_PARAM_PATH/$kind-token"
  done
}

join_swarm() {
  local role=$1 name="$SWARM_PARAM_PATH/$1-token" token="" i
  for i in $(seq 1 "$TOKEN_TRIES"); do
    if token=$(aws ssm get-parameter --with-decryption --name "$name" \
      --query Parameter.Value --output text 2>/dev/null); then
      break
    fi
    log "waiting for $name ($i/$TOKEN_TRIES)"
    sleep "$TOKEN_PAUSE"
  done
  if [ -z "$token" ]; then
    log "no join token at $name after $TOKEN_TRIES tries; is the first manager up?"
    return 1
  fi
  docker swarm join --advertise-addr "$(private_ip)" --token "$token" "$MANAGER_ADDR:2377"
  log "joined the swarm at $MANAGER_ADDR as a $role"
}

wait_for_docker
if [ "$(swarm_state)" = active ]; then
  log "already part of a swarm; nothing to do"
  exit 0
fi
case "$SWARM_ROLE" in
  first-manager) init_swarm ;;
  manager | worker) join_swarm "$SWARM_ROLE" ;;
  *)
    log "unknown SWARM_ROLE '$SWARM_ROLE'"
    exit 2
    ;;
esac
