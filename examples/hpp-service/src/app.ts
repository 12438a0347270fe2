/**
 * hpp-service put together: an Express service with `GET /v1/hpp/startgame`, a
 * player for the potatoes that arrive, and the games started here, all fed by
 * the instance's Hydra messages and by discovery (a holder that vanishes).
 */
import { Router } from 'express';
import { createService, sendResponse, sendOk, type ExpressService } from '@hydra-ts/express';
import { errorMessage, isHydraError, type ConfigSource, type Logger } from '@hydra-ts/core';
import { gameSettings, type GameSettings } from './settings.js';
import { readMessage } from './messages.js';
import { Player } from './player.js';
import { Games } from './games.js';

export interface HppService {
  service: ExpressService;
  /** Hands off held potatoes, withdraws presence, lets games started here finish, then closes. */
  close(): Promise<void>;
}

function hppRoutes(games: () => Games | undefined): Record<string, Router> {
  const router = Router();
  router.get('/startgame', async (_req, res) => {
    const running = games();
    if (!running) return sendResponse(res, 503, { result: { reason: 'hpp-service is still starting' } });
    try {
      sendOk(res, { result: await running.start() });
    } catch (err) {
      if (!isHydraError(err)) throw err;
      sendResponse(res, err.status, { result: { reason: err.message, code: err.code } });
    }
  });
  return { '/v1/hpp': router };
}

export async function createHppService(config: ConfigSource, logger: Logger): Promise<HppService> {
  let games: Games | undefined;
  let settings: GameSettings | undefined;
  const service = await createService(config, {
    logger,
    prepare: (hydra) => void (settings = gameSettings(hydra.config)),
    routes: hppRoutes(() => games),
  });
  const { hydra } = service;
  const player = new Player(hydra, settings!);
  const started = new Games(hydra, player, settings!);
  hydra.onMessage((message) => {
    const m = readMessage(message);
    if (m === undefined) return;
    if (typeof m === 'string') {
      hydra.logger.warn({ mid: message.mid, from: message.from, problem: m }, 'skipped a malformed game message');
      return;
    }
    if (m.kind === 'potato') return player.receive(m.body);
    if (m.kind === 'gameover' && m.gameId) player.gameOver(m.gameId);
    started.handle(m);
  });
  hydra.discovery.on('down', (instance) => {
    if (instance.serviceName === hydra.serviceName) started.playerLeft(instance.instanceID);
  });
  games = started;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      try {
        await player.close();
        await hydra.withdraw();
        await started.close();
      } catch (err) {
        hydra.logger.warn({ err: errorMessage(err) }, 'hpp-service: ending the games failed; closing anyway');
      }
      await service.close();
    })();
    return closed;
  };
  return { service, close };
}
