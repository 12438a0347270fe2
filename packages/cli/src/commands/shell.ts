/**
 * `shell`: redis-cli on the Redis of this run (active profile, --profile,
 * --redis or HYDRA_REDIS_URL), password included. On a terminal it runs
 * redis-cli, handing it the password in REDISCLI_AUTH so it never shows in
 * `ps`; when stdout is not a terminal it prints the command, which keeps
 * hydra-cli's `$(hydra-cli shell)` idiom working.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { example } from './help.js';

export interface RedisCliCommand {
  args: string[];
  /** Sent in REDISCLI_AUTH when running; given as `-a` only in the printed command. */
  password?: string;
}

export function redisCliCommand(url: string, extra: string[] = []): RedisCliCommand {
  const u = new URL(url);
  const args = ['-h', u.hostname.replace(/^\[(.*)\]$/, '$1'), '-p', u.port || '6379', '-n', u.pathname.replace('/', '') || '0'];
  if (u.username) args.push('--user', decodeURIComponent(u.username));
  if (u.protocol === 'rediss:') args.push('--tls');
  return { args: [...args, ...extra], password: u.password ? decodeURIComponent(u.password) : undefined };
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function printable(c: RedisCliCommand): string {
  const auth = c.password ? ['--no-auth-warning', '-a', c.password] : [];
  return ['redis-cli', ...auth, ...c.args].map(shellQuote).join(' ');
}

export function registerShellCommand(program: Command, ctx: Context): void {
  program
    .command('shell')
    .argument('[redis-cli-args...]', 'passed on to redis-cli (after --)')
    .description('open redis-cli on the Redis of the active profile, password included')
    .option('--print', 'print the redis-cli command instead of running it (the default when stdout is not a terminal)')
    .option('--exec', 'run redis-cli even when stdout is not a terminal')
    .addHelpText('after', example('hydra-cli shell', 'hydra-cli shell -- hgetall hydra:service:nodes', '$(hydra-cli shell --print)'))
    .action(async (extra: string[], opts: { print?: boolean; exec?: boolean }, cmd: Command) => {
      if (opts.print && opts.exec) throw new CliError('give --print or --exec, not both');
      const command = redisCliCommand(ctx.target(cmd).url, extra);
      if (opts.print || (!opts.exec && !ctx.io.stdoutIsTTY)) {
        ctx.io.stdout.write(`${printable(command)}\n`);
        return;
      }
      const env = { ...ctx.io.env };
      if (command.password) env.REDISCLI_AUTH = command.password;
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn('redis-cli', command.args, { stdio: 'inherit', env });
        child.once('error', (err: NodeJS.ErrnoException) =>
          reject(new CliError(err.code === 'ENOENT' ? 'redis-cli is not on PATH: install it (e.g. apt-get install redis-tools)' : `cannot run redis-cli: ${err.message}`)),
        );
        child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
      });
      if (code !== 0) throw new CliError(`redis-cli exited with code ${code}`, code);
    });
}
