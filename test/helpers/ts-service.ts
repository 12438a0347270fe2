/**
 * hydra-ts services for cross-package tests: a registered instance serving a small
 * HTTP API on packages/express, plus polling and Redis helpers shared by the interop tests.
 */
import { Router } from 'express';
import { pino } from 'pino';
import { connectRedis, closeRedis, type RedisClient } from '@hydra-ts/core';
import { redisUrl } from '@hydra-ts/testing';
import { createService, sendOk, type ExpressService } from '@hydra-ts/express';

export const quietLogger = pino({ level: process.env.HYDRA_LOG_LEVEL ?? 'warn' }, pino.destination(2));

export { waitFor, redisUrl } from '@hydra-ts/testing';

/** A plain Redis connection to `db`, FLUSHDB'd: each test file owns its database. */
export async function freshDatabase(db: number): Promise<RedisClient> {
  const redis = await connectRedis({ url: redisUrl(db) }, quietLogger, 'test');
  await redis.flushDb();
  return redis;
}

export { closeRedis };


export type TsService = ExpressService;

/** Routes the test API below answers, as published in the registry. */
export const TS_ROUTES = ['[get]/v1/ts/hello', '[post]/v1/ts/echo'];

/**
 * Starts a registered hydra-ts instance of `serviceName` on 127.0.0.1, built on
 * packages/express (the hydra-express equivalent): GET /v1/ts/hello and
 * POST /v1/ts/echo, answered in Hydra's envelope.
 */
export async function startTsService(serviceName: string, db: number, extra: Record<string, unknown> = {}): Promise<TsService> {
  let instanceId = '';
  const api = Router();
  api.get('/hello', (_req, res) => sendOk(res, { result: { msg: `hello from ${serviceName} - ${instanceId}` } }));
  api.post('/echo', (req, res) => sendOk(res, { result: { echo: req.body, contentType: req.headers['content-type'] ?? '' } }));
  const service = await createService(
    { hydra: { serviceName, serviceDescription: `${serviceName} (hydra-ts)`, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(db) }, ...extra } },
    { logger: quietLogger, env: {}, routes: { '/v1/ts': api }, drainTimeoutMs: 1000 },
  );
  instanceId = service.hydra.instanceId;
  return service;
}
