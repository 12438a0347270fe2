/**
 * `redis info [section]`: hydra-cli's `redis info`, the server's INFO text as Redis
 * writes it; `--json` gives it as {section: {field: value}} for scripts.
 */
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { withRedis } from '../connection.js';
import { CliError } from '../errors.js';
import { commandGroup, example } from './help.js';

/** INFO's own section names are words; anything else would be sent to the server as is. */
const SECTION = /^[a-z_]{1,32}$/i;

/** `# Server\r\nredis_version:7.0.15\r\n…` → {server: {redis_version: '7.0.15', …}}. */
export function parseInfo(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = Object.create(null);
  let current: Record<string, string> | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('# ')) {
      current = sections[line.slice(2).trim().toLowerCase()] = Object.create(null);
    } else if (current && line.includes(':')) {
      const at = line.indexOf(':');
      current[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return sections;
}

export function registerRedisCommands(program: Command, ctx: Context): void {
  const redis = commandGroup(program, 'redis', 'about the Redis server itself', ['hydra-cli redis info', 'hydra-cli redis info memory --json']);
  redis
    .command('info')
    .argument('[section]', 'one INFO section (server, clients, memory, keyspace, …)')
    .description("the Redis server's INFO, as hydra-cli's `redis info` prints it")
    .addHelpText('after', example('hydra-cli redis info', 'hydra-cli redis info keyspace', 'hydra-cli redis info --json | jq .server.redis_version'))
    .action(async (section: string | undefined, _opts: unknown, cmd: Command) => {
      if (section !== undefined && !SECTION.test(section)) throw new CliError(`"${section}" is not an INFO section name (letters and _ only, e.g. memory)`);
      const out = ctx.output(cmd);
      const text = await withRedis(ctx.target(cmd), (client) => (section ? client.info(section) : client.info()));
      out.result(parseInfo(text), () => text.replace(/\r\n/g, '\n').trimEnd());
    });
}
