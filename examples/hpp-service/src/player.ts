/**
 * The player: what every instance does with a potato it receives. It tells all
 * players it has it, holds it for a random moment and passes it to a random other
 * live player; if the potato expires in its hands (or arrives expired) it
 * announces that it lost. Potatoes are passed on with their body untouched, so
 * whatever another player put in it travels on.
 */
import { errorMessage, type Hydra } from '@hydra-ts/core';
import type { GameSettings } from './settings.js';
import { expiresAtMs, gameOverMessage, handoffMessage, isExpired, lostLine, potatoMessage, receivedMessage, type PotatoBody } from './messages.js';

interface Held {
  body: PotatoBody;
  passTimer?: NodeJS.Timeout;
  expiryTimer?: NodeJS.Timeout;
}

export class Player {
  /** Potatoes in hand, by game id (a potato without one gets a key of its own). */
  private readonly held = new Map<string, Held>();
  private untaggedCount = 0;
  private closing = false;

  constructor(
    private readonly hydra: Hydra,
    private readonly settings: GameSettings,
  ) {}

  private get me(): string {
    return this.hydra.instanceId;
  }

  private get svc(): string {
    return this.hydra.serviceName;
  }

  /**
   * Live players other than this one (published players included: they share the presence
   * keys), from the live view, which follows this service from the start (app.ts).
   */
  otherPlayers(): string[] {
    return this.hydra.discovery.instances(this.svc).map((i) => i.instanceID).filter((id) => id !== this.me);
  }

  /** A potato arrived: announce it (or the loss, when it came too late) and hold it. */
  async receive(body: PotatoBody): Promise<void> {
    if (isExpired(body.expiration)) {
      await this.announceLoss(body);
      return;
    }
    const key = body.gameId ?? `untagged-${++this.untaggedCount}`;
    if (!this.held.has(key) && this.held.size >= this.settings.maxHeldPotatoes) {
      this.hydra.logger.warn({ gameId: body.gameId, held: this.held.size }, 'dropped a hot potato: this player holds as many as config field hpp.maxHeldPotatoes allows');
      return;
    }
    this.hold(key, body);
    await this.broadcast(receivedMessage(this.svc, this.me, body.gameId), 'received announcement');
  }

  /** A game ended (its starter said so): a potato of it still in hand is dropped. */
  gameOver(gameId: string): void {
    this.release(gameId);
  }

  /**
   * Sends a potato to a random other live player: for its game's first pass and
   * every pass after. Tells the game's starter who holds it now (before the potato
   * goes, so the starter hears it before the receiver's announcement). Resolves
   * with the receiver, or undefined when no other player could be reached.
   */
  async throwPotato(body: PotatoBody): Promise<string | undefined> {
    const others = shuffle(this.otherPlayers());
    for (const target of others) {
      try {
        if (body.gameId && body.starter) await this.noteHandoff(body.starter, body.gameId, target);
        await this.hydra.sendMessage(potatoMessage(this.svc, this.me, target, body));
        this.hydra.logger.debug({ gameId: body.gameId, to: target }, 'passed the hot potato');
        return target;
      } catch (err) {
        this.hydra.logger.warn({ gameId: body.gameId, to: target, err: errorMessage(err) }, 'could not pass the hot potato; trying another player');
      }
    }
    return undefined;
  }

  /**
   * Shutting down: every potato in hand goes to another player at once (and any
   * that arrives from now on), while this player is still present so the starter
   * hears of the hand-off before it sees this player leave. A potato that nobody
   * can take is lost by this player.
   */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.held.keys()].map((key) => this.pass(key)));
  }

  /** In hand until the pass delay ends (at once when closing) or the potato expires, whichever comes first. */
  private hold(key: string, body: PotatoBody): void {
    this.release(key);
    const { passDelayMinMs: min, passDelayMaxMs: max } = this.settings;
    const delay = this.closing ? 0 : min + Math.floor(Math.random() * (max - min + 1));
    const held: Held = { body };
    held.passTimer = setTimeout(() => void this.pass(key), delay);
    held.expiryTimer = setTimeout(() => void this.expire(key, held), Math.max(0, expiresAtMs(body.expiration) - Date.now()));
    this.held.set(key, held);
  }

  private async pass(key: string): Promise<void> {
    const held = this.held.get(key);
    if (!held) return;
    this.release(key);
    if (await this.throwPotato(held.body)) return;
    // Nobody took it: it stays here and is lost at expiry, unless a player turns up before.
    if (this.closing || isExpired(held.body.expiration)) await this.announceLoss(held.body);
    else this.hold(key, held.body);
  }

  /** The potato expired in this player's hands. */
  private async expire(key: string, held: Held): Promise<void> {
    if (this.held.get(key) !== held) return;
    this.release(key);
    await this.announceLoss(held.body);
  }

  private async announceLoss(body: PotatoBody): Promise<void> {
    this.hydra.logger.info({ gameId: body.gameId }, 'lost the hot potato game');
    await this.broadcast(gameOverMessage(this.svc, this.me, { line: lostLine(this.me), reason: 'lost', gameId: body.gameId, loser: this.me }), 'game over announcement');
  }

  private release(key: string): void {
    const held = this.held.get(key);
    if (!held) return;
    clearTimeout(held.passTimer);
    clearTimeout(held.expiryTimer);
    this.held.delete(key);
  }

  private async noteHandoff(starter: string, gameId: string, holder: string): Promise<void> {
    try {
      await this.hydra.sendMessage(handoffMessage(this.svc, this.me, starter, gameId, holder));
    } catch (err) {
      // The starter is gone: nobody waits for this game's log, the game plays on.
      this.hydra.logger.debug({ gameId, starter, err: errorMessage(err) }, 'could not tell the starter about a hand-off');
    }
  }

  private async broadcast(message: Parameters<Hydra['sendBroadcastMessage']>[0], what: string): Promise<void> {
    try {
      await this.hydra.sendBroadcastMessage(message);
    } catch (err) {
      this.hydra.logger.warn({ err: errorMessage(err) }, `could not send the ${what}`);
    }
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
