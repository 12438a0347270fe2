import type { Command } from 'commander';
import { CliError, EXIT } from '../errors.js';

/** The "Examples:" block every command's --help ends with. */
export function example(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** "a, b or c" */
function either(names: string[]): string {
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names.join('');
}

/**
 * A command that only groups subcommands (`cfg`, `message`). Run bare or with an
 * unknown subcommand, it is a usage error listing the subcommands it has.
 */
export function commandGroup(program: Command, name: string, description: string, examples: string[]): Command {
  return program
    .command(name)
    .description(description)
    .addHelpText('after', example(...examples))
    .allowExcessArguments()
    .action((_opts: unknown, cmd: Command) => {
      const sub = cmd.args[0];
      const problem = sub === undefined ? `${name} needs a subcommand` : `unknown ${name} subcommand '${sub}'`;
      throw new CliError(`${problem}: ${either(cmd.commands.map((c) => c.name()))} (see: hydra-cli ${name} --help)`, EXIT.USAGE);
    });
}
