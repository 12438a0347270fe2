/**
 * The command line every service bin takes, Hydra's `<bin> [config.json]`, plus
 * `--help` and `--version`. Anything else (an unknown flag, a second file) is a usage
 * error answered with the usage, never read as a file name.
 */
import { parseArgs } from 'node:util';

/** What a service bin says about itself in `--help` and `--version`. */
export interface ServiceBin {
  /** The bin's name, e.g. `hello-service`; it starts each message. */
  name: string;
  /** Printed by `--version` (the package's version). */
  version: string;
  /** The text `--help` prints and a usage error repeats: what the bin starts and how it is configured. */
  usage: string;
}

/** {@link readServiceArgs}'s answer when the bin should start. */
export interface StartArgs {
  /** The bin should start. */
  start: true;
  /** The config file named on the command line; undefined: the bin's default. */
  configPath: string | undefined;
}

/** {@link readServiceArgs}'s answer when help, the version or a usage error was printed. */
export interface ExitArgs {
  /** The bin should not start. */
  start: false;
  /** What the process should exit with: 0 after help or the version, 2 after a usage error. */
  exitCode: number;
}

/** The outcome of reading a service bin's arguments: start, or end with an exit code. */
export type ServiceArgs = StartArgs | ExitArgs;

/** A stream {@link readServiceArgs} writes to. */
export interface TextOutput {
  /** Writes text as given (no newline added). */
  write(text: string): unknown;
}

/** Where {@link readServiceArgs} prints; process.stdout and process.stderr unless a test gives others. */
export interface ArgsOutput {
  /** Help and the version. */
  stdout: TextOutput;
  /** Usage errors. */
  stderr: TextOutput;
}

/**
 * Reads `[config.json] [--help|-h] [--version|-V]` (argv without node and the script).
 * Help and version print to stdout and end with 0; a usage error prints the problem and the
 * usage to stderr and ends with 2 (the exit code of a usage error, as hydra-cli's).
 */
export function readServiceArgs(argv: readonly string[], bin: ServiceBin, out: ArgsOutput = process): ServiceArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    return usageError(bin, out, (err as Error).message);
  }
  if (parsed.values.help) {
    out.stdout.write(bin.usage.endsWith('\n') ? bin.usage : `${bin.usage}\n`);
    return { start: false, exitCode: 0 };
  }
  if (parsed.values.version) {
    out.stdout.write(`${bin.version}\n`);
    return { start: false, exitCode: 0 };
  }
  if (parsed.positionals.length > 1) return usageError(bin, out, `one config file at most, not ${parsed.positionals.length} (${parsed.positionals.join(' ')})`);
  return { start: true, configPath: parsed.positionals[0] };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
  });
}

function usageError(bin: ServiceBin, out: ArgsOutput, problem: string): ServiceArgs {
  // parseArgs words its errors for a script's author ("To specify a positional argument
  // starting with a '-', place it at the end of the command after '--'"): keep the first sentence.
  const first = problem.split(/\.\s/)[0]!.replace(/\.$/, '');
  out.stderr.write(`${bin.name}: ${first}\n${bin.usage.endsWith('\n') ? bin.usage : `${bin.usage}\n`}`);
  return { start: false, exitCode: 2 };
}
