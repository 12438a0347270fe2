/**
 * What the game tests share: players started as processes (the bin, and a player
 * on the published hydra-express), a recorder of every game message on the wire,
 * and the checks that tie a game's answer to what really crossed Redis.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createClient } from 'redis';
import { channels, keys } from '@hydra-ts/core';
import { startProcess, waitFor, type Started } from '@hydra-ts/testing';

export const BIN = join(__dirname, '..', '..', 'bin', 'hpp-service.js');
export const PUBLISHED_PLAYER = join(__dirname, '..', '..', 'test', 'peers', 'published-player.js');
export const SVC = 'hpp-service';

export interface Player extends Started {
  id: string;
  port: number;
}

/**
 * Starts the bin; resolves once it logged that it listens (it is registered and handles
 * signals by then). The limit is generous: on the shared box at load 20 a start took over 20 s.
 */
export async function startPlayer(env: Record<string, string>, args: string[] = []): Promise<Player> {
  const started = startProcess([BIN, ...args], env);
  const line = await waitFor(
    () => `hpp-service to listen; output: ${started.output()}`,
    () => {
      if (started.child.exitCode !== null) throw new Error(`hpp-service exited with ${started.child.exitCode}: ${started.output()}`);
      return started.lines.find((l) => l.includes('hpp-service listening'));
    },
    60_000,
  );
  const { port, instanceId } = JSON.parse(line) as { port: number; instanceId: string };
  return { ...started, id: instanceId, port };
}

/** Starts a player on the published hydra-express (test/peers/published-player.js). */
export async function startPublishedPlayer(env: Record<string, string>): Promise<Player> {
  const started = startProcess([PUBLISHED_PLAYER], env);
  const line = await waitFor(
    () => `the published player to start; output: ${started.output()}`,
    () => {
      if (started.child.exitCode !== null) throw new Error(`published player exited with ${started.child.exitCode}: ${started.output()}`);
      return started.lines.find((l) => l.startsWith('PUBLISHED-PLAYER '));
    },
    60_000,
  );
  const { instanceID, port } = JSON.parse(line.slice('PUBLISHED-PLAYER '.length)) as { instanceID: string; port: number };
  return { ...started, id: instanceID, port: Number(port) };
}

/** Stores a config document as `hydra-cli cfg push` does, for HYDRA_SERVICE=<svc>:<version>. */
export async function pushConfig(redisUrl: string, version: string, hpp: Record<string, unknown>): Promise<void> {
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    const doc = { hydra: { serviceName: SVC, serviceDescription: 'Plays hot potato game', serviceType: 'game', serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl } }, hpp };
    await client.hSet(keys.configs(SVC), version, JSON.stringify(doc));
  } finally {
    await client.close();
  }
}

export interface GameAnswer {
  statusCode: number;
  statusMessage: string;
  statusDescription: string;
  result: { gameId: string; gameLog: string[]; outcome: string; loser?: string; reason?: string; code?: string };
}

export async function startGame(port: number): Promise<GameAnswer> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/hpp/startgame`, { signal: AbortSignal.timeout(60_000) });
  const body = (await res.json()) as GameAnswer;
  assert.equal(res.status, body.statusCode);
  return body;
}

/** A short-form UMF message seen on a channel. */
export interface Seen {
  channel: string;
  to: string;
  frm: string;
  typ?: string;
  bdy: Record<string, unknown>;
}

/** Records every message on the game's channels (broadcast and direct), in the order Redis delivered them. */
export class Wire {
  readonly seen: Seen[] = [];
  private constructor(private readonly close_: () => Promise<void>) {}

  static async record(redisUrl: string): Promise<Wire> {
    const client = createClient({ url: redisUrl });
    await client.connect();
    const wire = new Wire(() => client.close());
    const onMessage = (raw: string, channel: string) => {
      let message: Omit<Seen, 'channel'>;
      try {
        message = JSON.parse(raw) as Omit<Seen, 'channel'>;
      } catch {
        return; // a test's own garbage
      }
      if (typeof message.bdy === 'object' && message.bdy !== null) wire.seen.push({ channel, ...message });
    };
    await client.subscribe(channels.service(SVC), onMessage);
    await client.pSubscribe(channels.instance(SVC, '*'), onMessage);
    return wire;
  }

  /** Potatoes of a game, in the order they were sent. */
  potatoes(gameId: string): Seen[] {
    return this.seen.filter((m) => m.typ === 'hotpotato' && m.bdy.command === 'hotpotato' && m.bdy.gameId === gameId);
  }

  /** Broadcast announcements with a given command. */
  announcements(command: 'received' | 'gameover'): Seen[] {
    return this.seen.filter((m) => m.channel === channels.service(SVC) && m.typ === 'hotpotato' && m.bdy.command === command);
  }

  close(): Promise<void> {
    return this.close_();
  }
}

/** The instance a direct route names: `<id>@hpp-service:/`. */
export const target = (route: string) => route.slice(0, route.indexOf('@'));

export const receivedLines = (log: string[]) => log.filter((l) => l.endsWith(': received hot potato.'));

/**
 * A game's answer tells what happened on the wire: its received lines are exactly
 * the potato's receivers in order (minus one that got it already expired), its
 * last line names who got the potato last, and every pass carried the same body
 * (expiration, game id, starter and anything else) untouched.
 */
export function assertGameMatchesWire(answer: GameAnswer, wire: Wire, starter: string): void {
  const { gameId, gameLog, outcome, loser } = answer.result;
  assert.equal(answer.statusCode, 200, JSON.stringify(answer));
  assert.equal(outcome, 'lost');
  const potatoes = wire.potatoes(gameId);
  assert.ok(potatoes.length >= 1, `no potato of game ${gameId} on the wire`);
  assert.equal(potatoes[0]!.frm, `${starter}@${SVC}:/`, 'the starter throws first');
  for (const p of potatoes) assert.deepEqual(p.bdy, potatoes[0]!.bdy, 'the potato body travels untouched');
  const receivers = potatoes.map((p) => target(p.to));
  for (let i = 1; i < potatoes.length; i++) assert.equal(potatoes[i]!.frm, `${receivers[i - 1]}@${SVC}:/`, 'only the holder passes the potato');
  const last = receivers.at(-1)!;
  assert.equal(loser, last, 'the one who got the potato last lost');
  assert.equal(gameLog.at(-1), `Game over, ${last} lost!`);
  assert.equal(gameLog.filter((l) => l.startsWith('Game over')).length, 1, 'one end per game');
  const announced = receivedLines(gameLog);
  // The last receiver either announced it (and lost at expiry) or got it already expired.
  const expected = receivers.map((id) => `[${id}]: received hot potato.`);
  assert.ok(
    JSON.stringify(announced) === JSON.stringify(expected) || JSON.stringify(announced) === JSON.stringify(expected.slice(0, -1)),
    `log ${JSON.stringify(announced)} does not follow the potato ${JSON.stringify(expected)}`,
  );
}
