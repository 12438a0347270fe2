#!/bin/bash
# Deploys the swarm cluster: OPERATOR_CIDR=203.0.113.7/32 scripts/deploy.sh [cdk options]
# e.g. `-c workers=3 -c instanceType=t3.medium -c redis=instance` (README.md lists them).
# Bootstraps the account and region for CDK first (a no-op when already done).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/aws-env.sh
. scripts/aws-env.sh
require_credentials
if [ -z "${OPERATOR_CIDR:-}" ]; then
  echo "set OPERATOR_CIDR to the address range allowed to reach SSH and the visualizer, e.g. 203.0.113.7/32 (your own address)" >&2
  exit 1
fi
npm run build
npx cdk bootstrap --no-notices
npx cdk deploy --no-notices --require-approval broadening \
  -c stackName="$(stack_name)" -c operatorCidr="$OPERATOR_CIDR" \
  --outputs-file cdk-outputs.json "$@"
echo "outputs saved in $(pwd)/cdk-outputs.json" >&2
