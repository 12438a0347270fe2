/**
 * __SERVICE_NAME__: GET /v1/__SERVICE_NAME__/hello answers the greeting (and which
 * instance answered), and a message `{"name": "..."}` sent to __SERVICE_NAME__ gets a reply.
 */
import { Router } from 'express';
import { createService, hydraOf, sendOk, type ExpressService, type ExpressServiceOptions } from '@hydra-ts/express';
import type { ConfigSource, Hydra, UMFMessage } from '@hydra-ts/core';
import { readGreeting, type GreetingSettings } from './config.js';

/** Where the HTTP routes are mounted; the router sends /v1/__SERVICE_NAME__/* here. */
export const ROUTE = '/v1/__SERVICE_NAME__';

/** Starts one instance: config loaded and checked, registered, listening, routes published. */
export async function startService(config: ConfigSource, options: Omit<ExpressServiceOptions, 'routes' | 'prepare'> = {}): Promise<ExpressService> {
  let greeting: GreetingSettings | undefined;
  const routes = Router();
  routes.get('/hello', (req, res) => {
    sendOk(res, { result: { greeting: greeting!.text, instanceId: hydraOf(req).instanceId } });
  });
  const service = await createService(config, {
    ...options,
    routes: { [ROUTE]: routes },
    prepare: (hydra) => {
      greeting = readGreeting(hydra.config);
    },
  });
  service.hydra.onMessage((message) => onMessage(service.hydra, greeting!, message));
  return service;
}

/** A message `{"name": "..."}` is answered with the greeting; anything else is logged and dropped. */
async function onMessage(hydra: Hydra, greeting: GreetingSettings, message: UMFMessage): Promise<void> {
  const { name } = message.body;
  if (typeof name !== 'string') {
    hydra.logger.warn({ mid: message.mid, from: message.from }, 'message without a "name": dropped');
    return;
  }
  await hydra.sendReplyMessage(message, { body: { greeting: `${greeting.text}, ${name}` } });
}
