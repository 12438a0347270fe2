/**
 * hydra-ts services for cross-package tests: a registered instance serving a small
 * HTTP API on node:http, plus polling and Redis helpers shared by the interop tests.
 */
import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { Hydra, envelope, connectRedis, closeRedis, type RedisClient } from '@hydra-ts/core';

export const quietLogger = pino({ level: process.env.HYDRA_LOG_LEVEL ?? 'warn' }, pino.destination(2));

export function redisUrl(db: number): string {
  return `redis://127.0.0.1:6379/${db}`;
}

/** A plain Redis connection to `db`, FLUSHDB'd: each test file owns its database. */
export async function freshDatabase(db: number): Promise<RedisClient> {
  const redis = await connectRedis({ url: redisUrl(db) }, quietLogger, 'test');
  await redis.flushDb();
  return redis;
}

export { closeRedis };

/** Polls `probe` until it returns a truthy value; fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface TsService {
  hydra: Hydra;
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Routes the test API below answers, as published in the registry. */
export const TS_ROUTES = ['[get]/v1/ts/hello', '[post]/v1/ts/echo'];

/**
 * Starts a registered hydra-ts instance of `serviceName` on 127.0.0.1 with an HTTP
 * API: GET /v1/ts/hello and POST /v1/ts/echo, answered in Hydra's envelope.
 */
export async function startTsService(serviceName: string, db: number, extra: Record<string, unknown> = {}): Promise<TsService> {
  const hydra = await Hydra.create(
    { hydra: { serviceName, serviceDescription: `${serviceName} (hydra-ts)`, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: redisUrl(db) }, ...extra } },
    { logger: quietLogger, env: {} },
  );
  const server = createServer((req, res) => {
    const reply = (status: number, payload: Record<string, unknown>) => {
      const text = JSON.stringify(envelope(status, payload));
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method === 'GET' && req.url === '/v1/ts/hello') {
      reply(200, { result: { msg: `hello from ${serviceName} - ${hydra.instanceId}` } });
    } else if (req.method === 'POST' && req.url === '/v1/ts/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          reply(200, { result: { echo: JSON.parse(Buffer.concat(chunks).toString() || '{}'), contentType: req.headers['content-type'] ?? '' } });
        } catch {
          reply(400, { result: { reason: 'body is not JSON' } });
        }
      });
    } else {
      reply(404, { result: { reason: `no route ${req.method} ${req.url}` } });
    }
  });
  try {
    const port = await hydra.listen(server);
    await hydra.registerService();
    await hydra.registerRoutes([...TS_ROUTES]);
    return {
      hydra,
      server,
      port,
      async close() {
        await hydra.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  } catch (err) {
    await hydra.close();
    server.close();
    throw err;
  }
}
