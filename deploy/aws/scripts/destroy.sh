#!/bin/bash
# Tears the cluster down: scripts/destroy.sh [cdk options]
# Then deletes the swarm join tokens, which the first manager wrote to SSM Parameter
# Store itself (CloudFormation cannot create SecureStrings, so it cannot delete them).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/aws-env.sh
. scripts/aws-env.sh
require_credentials
stack=$(stack_name)
npm run build
# Synthesis needs the operator range; any valid one will do to delete.
npx cdk destroy --no-notices -c stackName="$stack" -c operatorCidr="${OPERATOR_CIDR:-192.0.2.1/32}" "$@"
tokens=("/hydra/$stack/swarm/manager-token" "/hydra/$stack/swarm/worker-token")
if command -v aws >/dev/null 2>&1; then
  if aws cloudformation describe-stacks --stack-name "$stack" >/dev/null 2>&1; then
    echo "stack $stack still exists; keeping the join tokens" >&2
    exit 1
  fi
  aws ssm delete-parameters --names "${tokens[@]}" >/dev/null
  echo "deleted ${tokens[*]}" >&2
else
  echo "the AWS CLI is not installed; delete the join tokens with: aws ssm delete-parameters --names ${tokens[*]}" >&2
fi
