#!/usr/bin/env node
/**
 * `cdk synth | deploy | destroy` run this (cdk.json). Parameters are context values:
 * `-c operatorCidr=203.0.113.7/32 -c workers=5 …` (lib/settings.ts lists them).
 */
import { App } from 'aws-cdk-lib';
import { readSettings } from '../lib/settings';
import { SwarmStack } from '../lib/swarm-stack';

const app = new App();
const settings = readSettings((key) => app.node.tryGetContext(key));
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'HydraSwarm';
new SwarmStack(app, stackName, {
  settings,
  description: 'hydra-ts on Docker Swarm: managers behind an ALB, workers, Redis (deploy/aws)',
  // Looking up an existing VPC needs to know where; a new VPC keeps the template
  // account- and region-agnostic, so `cdk synth` needs no credentials.
  env: settings.vpcId ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION } : undefined,
});
