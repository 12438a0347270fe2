// An HTTP service on Express 5: routes, its own config section checked at start,
// a middleware hook, and a message handler beside the routes.
import { Router } from 'express';
import { HydraError, type ConfigSource, type Hydra } from '@hydra-ts/core';
import { createService, hydraOf, sendCreated, sendDataConflict, sendNotFound, sendOk, type ExpressService } from '@hydra-ts/express';

/** The service's own section of its config document: `{"hydra": {...}, "items": {"maxItems": 100}}`. */
interface ItemsConfig {
  maxItems: number;
}

function itemsConfig(hydra: Hydra): ItemsConfig {
  const section = (hydra.config.items ?? {}) as Partial<ItemsConfig>;
  const maxItems = section.maxItems ?? 100;
  if (!Number.isInteger(maxItems) || maxItems < 1) {
    throw new HydraError('INVALID_CONFIG', `config field items.maxItems must be a positive integer, not ${JSON.stringify(section.maxItems)}`);
  }
  return { maxItems };
}

/** Starts the items service from `config` (the environment applies on top, as for every service). */
export async function startItems(config: ConfigSource): Promise<ExpressService> {
  const stored = new Map<string, { id: string; name: string }>();
  let limits: ItemsConfig = { maxItems: 0 };

  const api = Router();
  api.get('/:id', (req, res) => {
    const item = stored.get(req.params.id);
    if (!item) return sendNotFound(res, { result: { reason: `no item ${req.params.id}` } });
    sendOk(res, { result: { ...item, servedBy: hydraOf(req).instanceId } });
  });
  api.post('/', (req, res) => {
    if (stored.size >= limits.maxItems) return sendDataConflict(res, { result: { reason: `at most ${limits.maxItems} items` } });
    const item = { id: String(stored.size + 1), name: String(req.body?.name ?? '') };
    stored.set(item.id, item);
    sendCreated(res, { result: item });
  });

  const service = await createService(config, {
    routes: { '/v1/items': api },
    // Runs before the service listens or registers: a bad section fails the start.
    prepare: (hydra) => {
      limits = itemsConfig(hydra);
    },
    // Runs before the routers are mounted.
    middleware: (app) => {
      app.use((_req, res, next) => {
        res.setHeader('x-items-limit', String(limits.maxItems));
        next();
      });
    },
  });

  // Messages to `items:/` (any instance) or `<instanceId>@items:/` (this one).
  service.hydra.onMessage(async (message) => {
    if (message.body.count === true) {
      await service.hydra.sendReplyMessage(message, { body: { count: stored.size } });
    }
  });
  return service;
}
