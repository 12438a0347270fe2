/**
 * `config <name>`, `config list`, `use <name>`: the connection profiles.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { redactUrl } from '@hydra-ts/core';
import type { Context } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { profileFromUrl, profileUrl, assertProfileName, type Profile } from '../profiles.js';
import { renderTable } from '../output.js';
import { example } from './help.js';

interface ConfigFlags {
  url?: string;
  host?: string;
  port?: string;
  db?: string;
  password?: string;
}

function checkPort(value: string): string {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new CliError(`port "${value}" must be a number from 1 to 65535`);
  return value;
}

function checkDb(value: string): string {
  if (!/^\d+$/.test(value)) throw new CliError(`db "${value}" must be a database number (0, 1, ... 15)`);
  return value;
}

/** A profile from flags, on top of the existing profile of that name when there is one (so `--db 14` changes only the db). */
function fromFlags(flags: ConfigFlags, current: Profile | undefined): Profile {
  if (!flags.url && !flags.host && !current) throw new CliError('give --url <redis-url> or --host <host> (with --port, --db, --password as needed)');
  const profile: Profile = flags.url ? profileFromUrl(flags.url) : { ...current!, redisUrl: flags.host ?? current!.redisUrl };
  if (flags.host) profile.redisUrl = flags.host;
  if (flags.port !== undefined) profile.redisPort = checkPort(flags.port);
  if (flags.db !== undefined) profile.redisDb = checkDb(flags.db);
  if (flags.password !== undefined) profile.redisPassword = flags.password;
  return profile;
}

/**
 * hydra-cli's four questions, with the values of an existing profile as defaults.
 * Lines are read through the iterator, which buffers them: answers typed (or
 * pasted) ahead of their question are not lost. The password is not echoed:
 * readline echoes through its output, which is muted while it is typed.
 */
async function prompt(ctx: Context, current: Profile | undefined): Promise<Profile> {
  let muted = false;
  const echo = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) ctx.io.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: ctx.io.stdin, output: echo, terminal: true });
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (label: string, fallback: string, secret = false) => {
    ctx.io.stdout.write(`${label}${fallback ? ` (${fallback})` : ''}: `);
    muted = secret;
    const next = await lines.next();
    muted = false;
    if (secret) ctx.io.stdout.write('\n');
    if (next.done) throw new CliError(`input ended before ${label} was given; nothing was saved`);
    return String(next.value).trim() || fallback;
  };
  try {
    const redisUrl = await ask('redisUrl', current?.redisUrl ?? '127.0.0.1');
    const redisPort = checkPort(await ask('redisPort', String(current?.redisPort ?? '6379')));
    const redisDb = checkDb(await ask('redisDb', String(current?.redisDb ?? '15')));
    const redisPassword = await ask('redisPassword (blank for none)', '', true);
    return { redisUrl, redisPort, redisDb, ...(redisPassword ? { redisPassword } : {}) };
  } finally {
    rl.close();
  }
}

function masked(p: Profile): Profile {
  return p.redisPassword ? { ...p, redisPassword: '***' } : p;
}

function listProfiles(ctx: Context, cmd: Command): void {
  const out = ctx.output(cmd);
  const profiles = ctx.store.profiles();
  const active = ctx.store.active().name;
  const json = {
    file: ctx.store.path,
    active,
    profiles: Object.fromEntries(Object.entries(profiles).map(([name, p]) => [name, { ...masked(p), url: redactUrl(profileUrl(p)) }])),
  };
  out.result(json, () =>
    renderTable(
      ['', 'PROFILE', 'REDIS'],
      Object.entries(profiles).map(([name, p]) => [name === active ? '*' : '', name, redactUrl(profileUrl(p))]),
      `no profiles in ${ctx.store.path}; create one with: hydra-cli config <name>`,
    ),
  );
}

export function registerProfileCommands(program: Command, ctx: Context): void {
  program
    .command('config')
    .argument('<name>', 'profile name, or "list" to show the profiles')
    .description('create or change a connection profile and make it active; "config list" shows them')
    .option('--url <redis-url>', 'the whole connection, e.g. redis://:secret@redis.internal:6379/15')
    .option('--host <host>', 'Redis host (hydra-cli calls it redisUrl)')
    .option('--port <port>', 'Redis port (default 6379)')
    .option('--db <db>', 'database number (Hydra uses 15)')
    .option('--password <password>', 'Redis password')
    .addHelpText(
      'after',
      example(
        'hydra-cli config local                       # asks redisUrl, redisPort, redisDb, redisPassword',
        'hydra-cli config prod --url redis://:s3cret@redis.internal:6379/15',
        'hydra-cli config list',
      ),
    )
    .action(async (name: string, flags: ConfigFlags, cmd: Command) => {
      if (name === 'list') return listProfiles(ctx, cmd);
      assertProfileName(name);
      const given = flags.url !== undefined || flags.host !== undefined || flags.port !== undefined || flags.db !== undefined || flags.password !== undefined;
      let profile: Profile;
      const current = ctx.store.profiles()[name];
      if (given) profile = fromFlags(flags, current);
      else if (ctx.io.stdinIsTTY) profile = await prompt(ctx, current);
      else throw new CliError(`stdin is not a terminal, so "config ${name}" cannot ask: give --url <redis-url> or --host/--port/--db/--password`, EXIT.USAGE);
      ctx.store.save(name, profile);
      const url = redactUrl(profileUrl(profile));
      ctx.output(cmd).result({ profile: name, active: true, url }, () => `saved profile "${name}" (${url}) in ${ctx.store.path}; it is now active`);
    });

  program
    .command('use')
    .argument('<name>', 'profile name')
    .description('make a saved profile the active connection')
    .addHelpText('after', example('hydra-cli use prod'))
    .action((name: string, _flags: unknown, cmd: Command) => {
      const profile = ctx.store.use(name);
      const url = redactUrl(profileUrl(profile));
      ctx.output(cmd).result({ profile: name, active: true, url }, () => `now using profile "${name}" (${url})`);
    });
}
