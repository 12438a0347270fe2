/**
 * hpp-service put together: an Express service with `GET /v1/hpp/startgame`, a
 * player for the potatoes that arrive, and the games started here, all fed by
 * the instance's Hydra messages and by discovery (a holder that vanishes).
 */
import { Router } from 'express';
import { createService, sendResponse, sendOk, type ExpressService } from '@hydra-ts/express';
import { errorMessage, isHydraError, type ConfigSource, type Hydra, type Logger } from '@hydra-ts/core';
import { gameSettings, type GameSettings } from './settings.js';
import { readMessage } from './messages.js';
import { Player } from './player.js';
import { Games } from './games.js';

export interface HppService {
  service: ExpressService;
  /** Hands off held potatoes, withdraws presence, lets games started here finish, then closes. */
  close(): Promise<void>;
}

/** `games` is set by `prepare`, before the service listens. */
function hppRoutes(games: () => Games): Record<string, Router> {
  const router = Router();
  router.get('/startgame', async (_req, res) => {
    try {
      sendOk(res, { result: await games().start() });
    } catch (err) {
      if (!isHydraError(err)) throw err;
      sendResponse(res, err.status, { result: { reason: err.message, code: err.code } });
    }
  });
  return { '/v1/hpp': router };
}

/** The player and the games, listening before the instance registers, so no potato sent to it goes unheard. */
function play(hydra: Hydra, settings: GameSettings): { player: Player; games: Games } {
  const player = new Player(hydra, settings);
  const games = new Games(hydra, player, settings);
  hydra.onMessage((message) => {
    const m = readMessage(message);
    if (m === undefined) return;
    if (typeof m === 'string') {
      hydra.logger.warn({ mid: message.mid, from: message.from, problem: m }, 'skipped a malformed game message');
      return;
    }
    if (m.kind === 'potato') return player.receive(m.body);
    if (m.kind === 'gameover' && m.gameId) player.gameOver(m.gameId);
    games.handle(m);
  });
  hydra.discovery.on('down', (instance) => {
    if (instance.serviceName === hydra.serviceName) games.playerLeft(instance.instanceID);
  });
  return { player, games };
}

export async function createHppService(config: ConfigSource, logger: Logger): Promise<HppService> {
  let game: { player: Player; games: Games } | undefined;
  const service = await createService(config, {
    logger,
    prepare: async (hydra) => {
      game = play(hydra, gameSettings(hydra.config));
      // Players pass potatoes to each other: the live view follows this service from now on.
      await hydra.getServicePresence(hydra.serviceName);
    },
    routes: hppRoutes(() => game!.games),
  });
  const { hydra } = service;
  const { player, games } = game!;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      try {
        await player.close();
        await hydra.withdraw();
        await games.close();
      } catch (err) {
        hydra.logger.warn({ err: errorMessage(err) }, 'hpp-service: ending the games failed; closing anyway');
      }
      await service.close();
    })();
    return closed;
  };
  return { service, close };
}
