/**
 * `message create|send|queue` (UMF messages over Redis pub/sub and queues) and
 * `refresh` (tell routers to reload their route tables).
 */
import type { Command } from 'commander';
import { assertServiceName, channels, createMessage, keys, parseRoute, pruneNodes, Queues, readJsonFile, toShort, type UMFInput, type UMFMessage } from '@hydra-ts/core';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { withHydra, withRedis } from '../connection.js';
import { warnSkipped } from '../output.js';
import { commandGroup, example } from './help.js';

const FROM = 'hydra-cli:/';
const ROUTER = 'hydra-router';
/** hydra-cli's `refresh node list` removed entries silent for more than a minute. */
const NODE_LIST_REFRESH_S = 60;

/** Reads a UMF message file; a missing `from` becomes hydra-cli's own route. */
async function readMessage(file: string): Promise<UMFMessage> {
  const data = readJsonFile(file);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new CliError(`${file}: a UMF message must be a JSON object`);
  const input = data as UMFInput;
  try {
    const message = createMessage(input.from || input.frm ? input : { ...input, from: FROM });
    parseRoute(message.to);
    return message;
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`);
  }
}

function summary(verb: string, m: UMFMessage): string {
  return `${verb} message ${m.mid} to ${m.to}`;
}

export function registerMessageCommands(program: Command, ctx: Context): void {
  const message = commandGroup(program, 'message', 'create, send and queue UMF messages', ['hydra-cli message create --to hello-service:/ > msg.json', 'hydra-cli message send msg.json']);

  message
    .command('create')
    .description('print a UMF message to edit and send')
    .option('--to <route>', 'where it goes, e.g. hello-service:/ or <instanceID>@hello-service:/', '{serviceName here}:/')
    .addHelpText('after', example('hydra-cli message create --to hello-service:/ > msg.json'))
    .action((opts: { to: string }) => {
      // A template is data in every format: always JSON, ready for `> msg.json`.
      ctx.io.stdout.write(`${JSON.stringify(createMessage({ to: opts.to, from: FROM, body: {} }), null, 2)}\n`);
    });

  message
    .command('send')
    .argument('<file>', 'JSON file holding a UMF message (see "message create")')
    .description('send a message to one live instance of the service in "to" (or to every one with --broadcast)')
    .option('--broadcast', 'send to every live instance of the service')
    .addHelpText('after', example('hydra-cli message send msg.json', 'hydra-cli message send --broadcast msg.json'))
    .action(async (file: string, opts: { broadcast?: boolean }, cmd: Command) => {
      const msg = await readMessage(file);
      const out = ctx.output(cmd);
      const sent = await withHydra(ctx.target(cmd), (hydra) => (opts.broadcast ? hydra.sendBroadcastMessage(msg) : hydra.sendMessage(msg)));
      out.result(sent, () => summary(opts.broadcast ? 'broadcast' : 'sent', sent));
    });

  message
    .command('queue')
    .argument('<file>', 'JSON file holding a UMF message')
    .description("push a message on the queue of the service in \"to\" (its mqrecieved list)")
    .addHelpText('after', example('hydra-cli message queue msg.json'))
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const msg = await readMessage(file);
      const out = ctx.output(cmd);
      const queued = await withRedis(ctx.target(cmd), (redis) => new Queues(redis).enqueue(msg));
      const queue = keys.queueReceived(parseRoute(queued.to).serviceName);
      out.result({ queue, message: queued }, () => `${summary('queued', queued)} (${queue})`);
    });

  program
    .command('refresh')
    .argument('[service]', 'reload only this service\'s routes; "node list" prunes dead nodes as hydra-cli did')
    .argument('[list]')
    .description('tell every hydra-router to reload its route table (all services, or one)')
    .addHelpText('after', example('hydra-cli refresh', 'hydra-cli refresh hello-service', 'hydra-cli refresh node list      # hydra-cli\'s: drop nodes silent for over 60 s'))
    .action(async (service: string | undefined, list: string | undefined, _opts: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      if (service === 'node' && list === 'list') {
        const removed = await withRedis(ctx.target(cmd), (redis) => pruneNodes(redis, NODE_LIST_REFRESH_S, Date.now(), warnSkipped(out)));
        return out.result({ removed }, () => `${removed.length} entries removed`);
      }
      if (list !== undefined) throw new CliError(`refresh takes one service name, or "node list"; got "${service} ${list}"`);
      const body: Record<string, unknown> = { action: 'refresh' };
      if (service !== undefined) {
        assertServiceName(service, 'service');
        body.serviceName = service;
      }
      const msg = createMessage({ to: `${ROUTER}:/refresh`, from: FROM, body });
      const routers = await withRedis(ctx.target(cmd), (redis) => redis.publish(channels.service(ROUTER), JSON.stringify(toShort(msg))));
      out.result({ routers, message: msg }, () => `refresh${service ? ` of ${service}` : ''} sent to ${routers} hydra-router instance${routers === 1 ? '' : 's'}`);
    });
}
