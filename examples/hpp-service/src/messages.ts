/**
 * The game's messages, as the published hpp-service sends them, and what hydra-ts
 * players add. One home for every shape and log line, so both kinds of players
 * read each other.
 *
 * The published game (cjus/hpp-service), all `typ: "hotpotato"`:
 *   potato:    to `<id>@hpp-service:/`, bdy {command: "hotpotato", expiration: <Unix seconds>}
 *   received:  to `hpp-service:/` (broadcast), bdy {command: "received", result: "[<id>]: received hot potato."}
 *   game over: to `hpp-service:/` (broadcast), bdy {command: "gameover", result: "Game over, <id> lost!"}
 * A published player passes on the potato object it received, so extra `bdy` fields
 * travel with it untouched; it ignores extra fields of announcements and messages
 * of any other `typ`.
 *
 * hydra-ts adds, in extra fields only:
 *   potato:       `gameId` (this game), `starter` (instance that answers the HTTP request);
 *   announcements: `sender` (the hydra-ts player announcing), `gameId` when the potato had one,
 *                  and on game over `loser` (absent when nobody lost) and `reason`;
 *   hand-off note: `typ: "hotpotato.handoff"`, sent to the starter only, bdy {gameId, holder}:
 *                  "I just passed your potato to <holder>" (published players never see it).
 * An announcement must never carry `expiration`: a published player takes any
 * `hotpotato` message with a past expiration for a potato and declares itself the loser.
 */
import { isInstanceId, type UMFInput, type UMFMessage } from '@hydra-ts/core';

export const POTATO_TYPE = 'hotpotato';
export const HANDOFF_TYPE = 'hotpotato.handoff';

export const receivedLine = (id: string) => `[${id}]: received hot potato.`;
export const lostLine = (id: string) => `Game over, ${id} lost!`;
export const countdownLine = (seconds: number) => `Game starting in: ${seconds} seconds`;
export const SENDING_LINE = 'Sending hot potato...';

const RECEIVED_LINE = /^\[([0-9a-f]{32})\]: received hot potato\.$/;
const LOST_LINE = /^Game over, ([0-9a-f]{32}) lost!$/;
const GAME_ID = /^[A-Za-z0-9-]{1,64}$/;

export type EndReason = 'lost' | 'holder-left' | 'potato-lost';

/** A potato's body: the published fields, ours, and whatever else it carries (kept as is). */
export interface PotatoBody {
  command: 'hotpotato';
  expiration: number;
  gameId?: string;
  starter?: string;
  [extra: string]: unknown;
}

export type Incoming =
  | { kind: 'potato'; body: PotatoBody; gameId?: string; starter?: string }
  /** `player` is who received it; `hydraTs` says whether a hydra-ts player announced it (it then tags every game it knows). */
  | { kind: 'received'; player: string; hydraTs: boolean; gameId?: string; line: string }
  | { kind: 'gameover'; loser?: string; hydraTs: boolean; gameId?: string; line: string }
  | { kind: 'handoff'; gameId: string; holder: string };

/**
 * What a message means to the game: undefined when it is not a game message, a
 * string naming the problem when it claims to be one and is malformed.
 */
export function readMessage(m: UMFMessage): Incoming | string | undefined {
  const b = m.body;
  if (m.type === HANDOFF_TYPE) {
    if (typeof b.gameId !== 'string' || !GAME_ID.test(b.gameId)) return 'hand-off note without a valid gameId';
    if (!isInstanceId(b.holder)) return 'hand-off note without a valid holder instance id';
    return { kind: 'handoff', gameId: b.gameId, holder: b.holder };
  }
  if (m.type !== POTATO_TYPE) return undefined;
  if (b.gameId !== undefined && (typeof b.gameId !== 'string' || !GAME_ID.test(b.gameId))) return 'hot potato message with an invalid gameId (1-64 letters, digits or dashes)';
  const gameId = b.gameId as string | undefined;
  const hydraTs = isInstanceId(b.sender);
  switch (b.command) {
    case 'hotpotato': {
      if (typeof b.expiration !== 'number' || !Number.isFinite(b.expiration)) return 'hot potato without a numeric bdy.expiration';
      if (b.starter !== undefined && !isInstanceId(b.starter)) return 'hot potato with an invalid starter instance id';
      return { kind: 'potato', body: b as PotatoBody, gameId, starter: b.starter as string | undefined };
    }
    case 'received': {
      if (typeof b.result !== 'string') return 'received announcement without a result line';
      const player = hydraTs ? (b.sender as string) : RECEIVED_LINE.exec(b.result)?.[1];
      if (!player) return `received announcement naming no player: ${JSON.stringify(b.result.slice(0, 100))}`;
      return { kind: 'received', player, hydraTs, gameId, line: b.result };
    }
    case 'gameover': {
      if (typeof b.result !== 'string') return 'game over announcement without a result line';
      const loser = hydraTs ? (isInstanceId(b.loser) ? b.loser : undefined) : LOST_LINE.exec(b.result)?.[1];
      return { kind: 'gameover', loser, hydraTs, gameId, line: b.result };
    }
    default:
      return `hot potato message with unknown command ${JSON.stringify(b.command)}`;
  }
}

/** Unix seconds, as the published game counts. */
export const unixSeconds = (nowMs = Date.now()) => Math.floor(nowMs / 1000);

/** The published rule: a potato is expired once the current Unix second is past its expiration. */
export const isExpired = (expiration: number, nowMs = Date.now()) => expiration < unixSeconds(nowMs);

/** The moment the published rule first calls the potato expired. */
export const expiresAtMs = (expiration: number) => (Math.floor(expiration) + 1) * 1000;

export function newPotato(gameSeconds: number, gameId: string, starter: string): PotatoBody {
  return { command: 'hotpotato', expiration: unixSeconds() + gameSeconds, gameId, starter };
}

export function potatoMessage(svc: string, from: string, to: string, body: PotatoBody): UMFInput {
  return { to: `${to}@${svc}:/`, frm: `${from}@${svc}:/`, typ: POTATO_TYPE, bdy: body };
}

/** "I received the potato", to every player. */
export function receivedMessage(svc: string, me: string, gameId: string | undefined): UMFInput {
  return { to: `${svc}:/`, frm: `${me}@${svc}:/`, typ: POTATO_TYPE, bdy: { command: 'received', result: receivedLine(me), sender: me, ...(gameId && { gameId }) } };
}

/** The end of a game, to every player: `line` is what the published game logs. */
export function gameOverMessage(svc: string, me: string, end: { line: string; reason: EndReason; gameId?: string; loser?: string }): UMFInput {
  const { line, reason, gameId, loser } = end;
  return { to: `${svc}:/`, frm: `${me}@${svc}:/`, typ: POTATO_TYPE, bdy: { command: 'gameover', result: line, sender: me, reason, ...(gameId && { gameId }), ...(loser && { loser }) } };
}

export function handoffMessage(svc: string, me: string, starter: string, gameId: string, holder: string): UMFInput {
  return { to: `${starter}@${svc}:/`, frm: `${me}@${svc}:/`, typ: HANDOFF_TYPE, bdy: { gameId, holder } };
}
