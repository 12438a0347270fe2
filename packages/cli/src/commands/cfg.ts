/**
 * `cfg push|pull|list|remove`: config documents stored in Redis
 * (`hydra:service:<svc>:configs`, field = version), which a service started
 * with HYDRA_SERVICE=<svc>:<version> loads (hydra-ts and Hydra alike).
 */
import type { Command } from 'commander';
import {
  assertConfigDocument,
  assertServiceName,
  getStoredConfig,
  isHydraError,
  keys,
  readJsonFile,
  listStoredConfigs,
  parseConfigLabel,
  putStoredConfig,
  redactUrl,
  removeStoredConfig,
} from '@hydra-ts/core';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { withRedis } from '../connection.js';
import { commandGroup, example } from './help.js';

/** Reads and checks the file completely before Redis is touched: a refused file writes nothing. */
async function readConfigFile(label: string, file: string): Promise<{ serviceName: string; version: string; doc: { hydra: { serviceName: string } } }> {
  const { serviceName, version } = parseConfigLabel(label);
  let doc: unknown;
  try {
    doc = readJsonFile(file);
    assertConfigDocument(doc, file);
  } catch (err) {
    if (err instanceof CliError || isHydraError(err)) throw new CliError(`${err.message}; nothing was written`);
    throw err;
  }
  return { serviceName, version, doc };
}

export function registerCfgCommands(program: Command, ctx: Context): void {
  const cfg = commandGroup(program, 'cfg', 'store, read, list and remove service configs in Redis', ['hydra-cli cfg push hello-service:0.0.2 config.json', 'hydra-cli cfg pull hello-service:0.0.2 > config.json']);

  cfg
    .command('push')
    .argument('<label>', 'service and version, e.g. hello-service:0.0.2')
    .argument('<file>', 'JSON config document with a "hydra" section naming serviceName')
    .description('store a config document under <service>:<version>')
    .addHelpText('after', example('hydra-cli cfg push hello-service:0.0.2 config.json', 'HYDRA_REDIS_URL=redis://127.0.0.1:6379/15 HYDRA_SERVICE=hello-service:0.0.2 npx hello-service'))
    .action(async (label: string, file: string, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const { serviceName, version, doc } = await readConfigFile(label, file);
      const named = doc.hydra.serviceName.toLowerCase();
      if (named !== serviceName) out.note(`warning: ${file} names hydra.serviceName "${doc.hydra.serviceName}", the label names "${serviceName}"; a service loading ${label} registers as "${named}"`);
      const target = ctx.target(cmd);
      await withRedis(target, (redis) => putStoredConfig(redis, label, doc));
      const bytes = Buffer.byteLength(JSON.stringify(doc));
      out.result({ label: `${serviceName}:${version}`, key: keys.configs(serviceName), field: version, bytes }, () => `pushed ${serviceName}:${version} (${bytes} bytes) to ${keys.configs(serviceName)} in ${redactUrl(target.url)}`);
    });

  cfg
    .command('pull')
    .argument('<label>', 'service and version, e.g. hello-service:0.0.2')
    .description('print a stored config document (as JSON, ready to redirect to a file)')
    .addHelpText('after', example('hydra-cli cfg pull hello-service:0.0.2 > config.json'))
    .action(async (label: string, _opts: unknown, cmd: Command) => {
      const { serviceName } = parseConfigLabel(label);
      const target = ctx.target(cmd);
      const doc = await withRedis(target, (redis) => getStoredConfig(redis, label));
      if (doc === null) throw new CliError(`no stored config ${label} in ${redactUrl(target.url)}; see: hydra-cli cfg list ${serviceName}`);
      // A document is data in every format: always JSON, so `> config.json` works on a terminal too.
      ctx.io.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    });

  cfg
    .command('list')
    .argument('<service>', 'service name')
    .description('list the stored config versions of a service')
    .addHelpText('after', example('hydra-cli cfg list hello-service'))
    .action(async (service: string, _opts: unknown, cmd: Command) => {
      assertServiceName(service, 'service');
      const out = ctx.output(cmd);
      const labels = await withRedis(ctx.target(cmd), (redis) => listStoredConfigs(redis, service));
      out.result(labels, () => (labels.length ? labels.join('\n') : `(no configs stored for ${service})`));
    });

  cfg
    .command('remove')
    .argument('<label>', 'service and version, e.g. hello-service:0.0.1')
    .description('remove one stored config version')
    .addHelpText('after', example('hydra-cli cfg remove hello-service:0.0.1'))
    .action(async (label: string, _opts: unknown, cmd: Command) => {
      const { serviceName } = parseConfigLabel(label);
      const removed = await withRedis(ctx.target(cmd), (redis) => removeStoredConfig(redis, label));
      if (!removed) throw new CliError(`no stored config ${label}; nothing removed (see: hydra-cli cfg list ${serviceName})`);
      ctx.output(cmd).result({ label, removed: true }, () => `removed ${label}`);
    });
}
