/**
 * Test helpers: run the compiled hydra-cli binary as a child process with its
 * own temporary HOME (the real ~/.hydra-cli is never touched), talk to Redis,
 * and start and stop child processes by pid.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, closeRedis, defaultLogger, type RedisClient, type Logger } from '@hydra-ts/core';
import { startProcess, redisUrl, type Started as Child } from '@hydra-ts/testing';

/** packages/cli, from dist/test. */
export const CLI_ROOT = join(__dirname, '..', '..');
export const REPO_ROOT = join(CLI_ROOT, '..', '..');
export const BIN = join(CLI_ROOT, 'dist', 'src', 'main.js');
/** A loopback port nothing listens on. */
export const DEAD_REDIS = 'redis://127.0.0.1:1/0';

export function silentLogger(): Logger {
  const logger = defaultLogger('cli-test');
  logger.level = 'silent';
  return logger;
}

export async function openTestRedis(db: number): Promise<RedisClient> {
  const redis = await connectRedis({ url: redisUrl(db) }, silentLogger(), 'test');
  await redis.flushDb();
  return redis;
}

export { closeRedis };

export function tempHome(): { home: string; remove(): void } {
  const home = mkdtempSync(join(tmpdir(), 'hydra-cli-test-'));
  return { home, remove: () => rmSync(home, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI run: nothing inherited that could point it at another Redis or profile file. */
function cliEnv(home: string, env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
  return { ...base, ...env };
}

/** Runs the binary; kills it if it runs longer than `timeoutMs` (and then fails the run). */
export function cli(args: string[], options: { home: string; env?: Record<string, string | undefined>; input?: string; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(options.home, options.env ?? {}), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hydra-cli ${args.join(' ')} did not finish within ${options.timeoutMs ?? 20000} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, options.timeoutMs ?? 20000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs with `--json` and parses stdout, failing with the stderr line when the run failed. */
export async function cliJson<T = unknown>(args: string[], options: Parameters<typeof cli>[1]): Promise<T> {
  const r = await cli([...args, '--json'], options);
  if (r.code !== 0) throw new Error(`hydra-cli ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A node child process started in the repository root, ended by stopAllChildren(). */
export function startChild(args: string[], env: Record<string, string>, cwd = REPO_ROOT): Child {
  return startProcess(args, env, cwd);
}

export { stopAllProcesses as stopAllChildren, stopProcess, waitFor, redisUrl } from '@hydra-ts/testing';
export type { Started as Child } from '@hydra-ts/testing';
