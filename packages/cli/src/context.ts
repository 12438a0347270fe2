/**
 * What every command gets: the process's streams and environment (passed in,
 * so nothing reads globals behind a command's back), the profile store, and
 * the global options resolved into an output format and a Redis target.
 */
import type { Command } from 'commander';
import { ProfileStore, profileFilePath } from './profiles.js';
import { chooseFormat, createOutput, type Output } from './output.js';
import { resolveTarget, type Target } from './connection.js';

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
}

export interface GlobalOptions {
  json?: boolean;
  table?: boolean;
  redis?: string;
  profile?: string;
}

export class Context {
  readonly store: ProfileStore;

  constructor(readonly io: Io) {
    this.store = new ProfileStore(profileFilePath(io.env));
  }

  globals(cmd: Command): GlobalOptions {
    return cmd.optsWithGlobals<GlobalOptions>();
  }

  output(cmd: Command): Output {
    return createOutput(chooseFormat(this.globals(cmd), this.io.stdoutIsTTY), this.io.stdout, this.io.stderr);
  }

  target(cmd: Command): Target {
    return resolveTarget(this.globals(cmd), this.io.env, this.store);
  }
}
