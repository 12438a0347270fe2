/**
 * The control socket: a unix socket in the cluster's directory, so scripts and
 * tests drive a running cluster without a terminal. A client writes one command
 * line; the cluster answers one JSON line ({ok, text, status?}) and closes.
 */
import { createConnection, createServer, type Server } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandResult } from './commands.js';

export const SOCKET_NAME = 'control.sock';
/** A command line is short; anything longer is refused, not buffered. */
const MAX_LINE = 4096;
const MAX_CLIENTS = 16;

export function serveControl(path: string, handle: (line: string) => Promise<CommandResult>): Promise<Server> {
  const server = createServer((socket) => {
    let buffered = '';
    let handled = false;
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      if (handled) return;
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0 && buffered.length <= MAX_LINE) return;
      const line = nl < 0 ? '' : buffered.slice(0, nl);
      const tooLong = nl < 0 || line.length > MAX_LINE;
      handled = true;
      void (tooLong ? Promise.resolve<CommandResult>({ ok: false, text: `a command line is at most ${MAX_LINE} characters` }) : handle(line)).then((result) => socket.end(`${JSON.stringify(result)}\n`));
    });
  });
  server.maxConnections = MAX_CLIENTS;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Sends one command; resolves with the cluster's answer. */
export function sendControl(path: string, line: string, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from ${path} within ${timeoutMs / 1000} s`)));
    socket.once('connect', () => socket.write(`${line}\n`));
    socket.on('data', (c: string) => (answer += c));
    socket.once('error', reject);
    socket.once('end', () => {
      try {
        resolve(JSON.parse(answer) as CommandResult);
      } catch {
        reject(new Error(`unreadable answer from ${path}: ${answer.slice(0, 200)}`));
      }
    });
  });
}

/** Control sockets of clusters in the temp directory that answer (`status`). */
export async function findClusters(): Promise<string[]> {
  const candidates = readdirSync(tmpdir())
    .filter((d) => d.startsWith('hydra-cluster-'))
    .map((d) => join(tmpdir(), d, SOCKET_NAME))
    .filter((p) => existsSync(p));
  const live = await Promise.all(candidates.map((p) => sendControl(p, 'help', 2000).then(() => p, () => undefined)));
  return live.filter((p): p is string => p !== undefined);
}
