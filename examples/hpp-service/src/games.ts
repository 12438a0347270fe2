/**
 * Games started on this instance: the countdown, the first throw, the game log
 * that answers the HTTP request, and the end of each game, which always comes:
 * a player announces its loss, or the holder leaves (its presence vanishes), or
 * the hard deadline passes.
 *
 * Each game has its own id, carried in the potato, so games running at once keep
 * their logs apart. Published players announce without a game id; their lines are
 * matched to a game by who holds that game's potato (see `attribute`).
 */
import { randomUUID } from 'node:crypto';
import { HEARTBEAT_INTERVAL_MS, HydraError, errorMessage, type Hydra } from '@hydra-ts/core';
import { gameDeadlineMs, type GameSettings } from './settings.js';
import { countdownLine, gameOverMessage, isExpired, newPotato, SENDING_LINE, type EndReason, type Incoming } from './messages.js';
import type { Player } from './player.js';

/** How old a published player's line may be when it arrives (delivery, and clocks of different hosts). */
const LINE_SLACK_MS = 1000;
/** How long a holder whose presence lapsed has to come back before the game ends without it. */
const HOLDER_RETURN_MS = 1.5 * HEARTBEAT_INTERVAL_MS;

export interface GameResult {
  gameId: string;
  gameLog: string[];
  /** How the game ended: a player lost, the holder left holding it, or the potato went missing. */
  outcome: EndReason;
  /** Who lost (for `holder-left`, who left holding the potato); absent when nobody can be named. */
  loser?: string;
}

class Game {
  readonly log: string[] = [];
  /** Who has (or was just handed) the potato, as far as this starter knows. */
  holder?: string;
  /** Whether the holder has announced it received the potato. */
  announced = false;
  /** Whether the holder is a hydra-ts player (it tags what it says and tells us where the potato goes). */
  holderIsHydraTs = false;
  /** The potato's `expiration`, once thrown. */
  expiration?: number;
  readonly timers: NodeJS.Timeout[] = [];
  readonly done: Promise<GameResult>;
  resolve!: (r: GameResult) => void;
  reject!: (err: Error) => void;

  constructor(readonly id: string) {
    this.done = new Promise<GameResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

export class Games {
  private readonly games = new Map<string, Game>();
  private closing = false;

  constructor(
    private readonly hydra: Hydra,
    private readonly player: Player,
    private readonly settings: GameSettings,
  ) {}

  /**
   * Starts a game and resolves with its result. Refused at once (coded errors)
   * when this instance is shutting down, already runs `maxGames`, or no other
   * player is alive.
   */
  start(): Promise<GameResult> {
    if (this.closing) throw new HydraError('CLOSED', `${this.hydra.serviceName} instance ${this.hydra.instanceId} is shutting down: start the game on another player`);
    if (this.games.size >= this.settings.maxGames) {
      throw new HydraError('SERVICE_UNAVAILABLE', `this player already runs ${this.games.size} games (config field hpp.maxGames): try again when one has ended`);
    }
    if (this.player.otherPlayers().length === 0) throw noOtherPlayer(this.hydra.serviceName);
    const game = new Game(randomUUID());
    this.games.set(game.id, game);
    const countdown = this.settings.countdownSeconds;
    for (let n = countdown; n >= 0; n--) {
      game.timers.push(setTimeout(() => game.log.push(countdownLine(n)), (countdown - n) * 1000));
    }
    game.timers.push(setTimeout(() => void this.throwFirst(game), countdown * 1000));
    const deadline = gameDeadlineMs(this.settings);
    game.timers.push(setTimeout(() => this.end(game, 'potato-lost', `Game over, the hot potato went missing: no player announced the end within ${deadline / 1000} seconds`), deadline));
    this.hydra.logger.info({ gameId: game.id }, 'game started');
    return game.done;
  }

  private async throwFirst(game: Game): Promise<void> {
    game.log.push(SENDING_LINE);
    const potato = newPotato(this.settings.gameSeconds, game.id, this.hydra.instanceId);
    game.expiration = potato.expiration;
    const to = await this.player.throwPotato(potato);
    if (to) return;
    this.finish(game);
    game.reject(noOtherPlayer(this.hydra.serviceName, ' (the other players left during the countdown)'));
  }

  /** A game message arrived (broadcast or direct); anything about games not started here is ignored. */
  handle(m: Exclude<Incoming, { kind: 'potato' }>): void {
    if (m.kind === 'handoff') {
      const game = this.games.get(m.gameId);
      if (game) Object.assign(game, { holder: m.holder, announced: false, holderIsHydraTs: false });
      return;
    }
    // A hydra-ts player tags every game that has an id: untagged lines from one belong to a published player's game.
    const game = m.gameId ? this.games.get(m.gameId) : m.hydraTs ? undefined : this.attribute(m);
    if (!game) return;
    game.log.push(m.line);
    if (m.kind === 'received') Object.assign(game, { holder: m.player, announced: true, holderIsHydraTs: m.hydraTs });
    else this.end(game, 'lost', undefined, m.loser);
  }

  /**
   * A player's presence vanished: a game whose potato it holds ends, and says so,
   * unless the player is back within a heartbeat and a half (a presence key can
   * lapse on a busy host without the player having gone).
   */
  playerLeft(id: string): void {
    for (const game of this.games.values()) {
      if (game.holder !== id) continue;
      game.timers.push(
        setTimeout(() => {
          if (game.holder === id && !this.hydra.discovery.get(this.hydra.serviceName, id)) this.end(game, 'holder-left', `Game over, ${id} left the game holding the hot potato!`, id);
        }, HOLDER_RETURN_MS),
      );
    }
  }

  /**
   * Which of this starter's games a published player's line (no game id) is about.
   * Only games whose potato could give that line count: one not yet expired for
   * "received", one expired for "game over" (the published player loses only a
   * potato that arrives expired), judged with a second of slack for the time the
   * line took to get here. Among those: first a game whose potato was just handed
   * to that player and not yet announced (a hydra-ts player or this starter said
   * so); else, when exactly one game's potato is with a published player who
   * announced it (it passes on without telling anyone), that game. Otherwise the
   * line cannot be placed and is left out.
   */
  private attribute(m: { kind: 'received'; player: string } | { kind: 'gameover'; loser?: string }): Game | undefined {
    const player = m.kind === 'received' ? m.player : m.loser;
    if (!player) return undefined;
    const now = Date.now();
    const plausible = [...this.games.values()].filter((g) => {
      if (g.expiration === undefined) return false;
      return m.kind === 'received' ? !isExpired(g.expiration, now - LINE_SLACK_MS) : isExpired(g.expiration, now + LINE_SLACK_MS);
    });
    const handed = plausible.find((g) => g.holder === player && !g.announced);
    if (handed) return handed;
    const withPublished = plausible.filter((g) => g.announced && !g.holderIsHydraTs && g.holder !== player);
    return withPublished.length === 1 ? withPublished[0] : undefined;
  }

  /** Ends a game with its result; when the starter (not a player) declares the end, it tells every player, so a holder drops the potato. */
  private end(game: Game, outcome: EndReason, line: string | undefined, loser?: string): void {
    if (!this.games.has(game.id)) return;
    this.finish(game);
    if (line) {
      game.log.push(line);
      void this.hydra
        .sendBroadcastMessage(gameOverMessage(this.hydra.serviceName, this.hydra.instanceId, { line, reason: outcome, gameId: game.id, loser }))
        .catch((err: unknown) => this.hydra.logger.warn({ gameId: game.id, err: errorMessage(err) }, 'could not announce the end of the game'));
    }
    this.hydra.logger.info({ gameId: game.id, outcome, loser }, 'game over');
    game.resolve({ gameId: game.id, gameLog: game.log, outcome, ...(loser && { loser }) });
  }

  private finish(game: Game): void {
    for (const t of game.timers) clearTimeout(t);
    this.games.delete(game.id);
  }

  /** Refuses new games and waits for those in flight, each bounded by its deadline. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.games.values()].map((g) => g.done));
  }
}

function noOtherPlayer(svc: string, why = ''): HydraError {
  return new HydraError('SERVICE_UNAVAILABLE', `no other ${svc} player is alive${why}: start another ${svc} instance, then start the game`);
}
