/**
 * The command tree. Commands live in commands/*; this file wires them to the
 * global options and turns every outcome into an exit code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { Context, type Io } from './context.js';
import { describeFailure, EXIT } from './errors.js';
import { registerProfileCommands } from './commands/profiles.js';
import { registerCfgCommands } from './commands/cfg.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerMessageCommands } from './commands/messages.js';
import { registerRestCommand } from './commands/rest.js';
import { registerShellCommand } from './commands/shell.js';
import { registerRedisCommands } from './commands/redis.js';
import { registerCompletionCommand } from './commands/completion.js';
import { example } from './commands/help.js';

/** The version is package.json's, read from beside dist/ so there is one place to change it. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildProgram(ctx: Context): Command {
  const program = new Command('hydra-cli')
    .description('Manage and inspect Hydra / hydra-ts microservices through their Redis')
    .version(packageVersion())
    .option('--json', 'print results as JSON (the default when stdout is not a terminal)')
    .option('--table', 'print results as a table (the default on a terminal)')
    .option('--redis <url>', 'use this Redis for this run (overrides HYDRA_REDIS_URL and the active profile)')
    .option('--profile <name>', 'use this saved profile for this run')
    .addHelpText('after', example('hydra-cli config local --url redis://127.0.0.1:6379/15', 'hydra-cli cfg push hello-service:0.0.2 config.json', 'hydra-cli nodes'))
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      // Commander's errors, like ours: one line, `hydra-cli: ...` (its suggestion joined on).
      outputError: (s, write) => write(`hydra-cli: ${s.replace(/^error: /, '').replace(/\s*\n\s*(?=\S)/g, ' ').trim()}\n`),
    })
    .showSuggestionAfterError();

  registerProfileCommands(program, ctx);
  registerCfgCommands(program, ctx);
  registerClusterCommands(program, ctx);
  registerMessageCommands(program, ctx);
  registerRestCommand(program, ctx);
  registerShellCommand(program, ctx);
  registerRedisCommands(program, ctx);
  registerCompletionCommand(program, ctx);

  // Usage errors end with an exit code instead of process.exit, so run() decides.
  const exitOverride = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** Runs one command line (argv without node and script); resolves to the exit code. */
export async function run(args: string[], io: Io): Promise<number> {
  const ctx = new Context(io);
  const program = buildProgram(ctx);
  if (args.length === 0) {
    // As hydra-cli did: no command at all asks for the overview.
    program.outputHelp();
    return EXIT.OK;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help that was asked for).
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.OK;
      return EXIT.USAGE;
    }
    const { exitCode, line } = describeFailure(err);
    io.stderr.write(`hydra-cli: ${line}\n`);
    return exitCode;
  }
}
