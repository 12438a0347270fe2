#!/bin/bash
# Sourced by deploy.sh and destroy.sh. AWS credentials come only from the environment
# (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN]) or from a named
# profile (AWS_PROFILE, e.g. one made by `aws configure sso`); these scripts never take
# keys as arguments and never write them anywhere.

# Refuses to go on without credentials, saying where they may come from.
require_credentials() {
  if [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ]; then
    echo "AWS credentials: from the environment (AWS_ACCESS_KEY_ID)" >&2
  elif [ -n "${AWS_PROFILE:-}" ]; then
    echo "AWS credentials: profile ${AWS_PROFILE}" >&2
  else
    echo "no AWS credentials: export AWS_PROFILE=<a profile in ~/.aws/config>, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)" >&2
    return 1
  fi
}

# The stack's name (context value stackName), HydraSwarm unless STACK_NAME says otherwise.
stack_name() {
  echo "${STACK_NAME:-HydraSwarm}"
}
