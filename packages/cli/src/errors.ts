/**
 * How the CLI ends. Every failure becomes one line on stderr and an exit code
 * a script can test; the codes are documented in the README.
 */
import { isHydraError, errorMessage } from '@hydra-ts/core';

export const EXIT = {
  OK: 0,
  /** The command ran and failed: bad input, nothing found, an HTTP error status. */
  FAILED: 1,
  /** The command line itself is wrong (unknown command, missing argument). */
  USAGE: 2,
  /** Redis did not answer. */
  REDIS_UNAVAILABLE: 3,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILED,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The exit code and the single stderr line for anything thrown by a command. */
export function describeFailure(err: unknown): { exitCode: number; line: string } {
  if (err instanceof CliError) return { exitCode: err.exitCode, line: err.message };
  if (isHydraError(err, 'REDIS_UNAVAILABLE')) return { exitCode: EXIT.REDIS_UNAVAILABLE, line: err.message };
  // One line: a multi-line message (a stack, a Redis reply) would bury the point.
  return { exitCode: EXIT.FAILED, line: errorMessage(err).split('\n')[0] ?? 'failed' };
}
