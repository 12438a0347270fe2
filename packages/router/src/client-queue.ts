/**
 * Messages for a WebSocket client that is not connected to the router holding
 * the reply: kept in Redis (so any router of the cluster can hand them over
 * when the client comes back), at most `max` per client (the oldest dropped)
 * and for at most `ttlS` seconds each.
 */
import { errorMessage, keys, type RedisClient, type ShortUMFMessage, type Logger } from '@hydra-ts/core';

/** Takes the whole list at once, so two routers draining together never both deliver a message. */
const TAKE_ALL = `
local m = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return m`;

interface Stored {
  at: number;
  m: ShortUMFMessage;
}

export class ClientQueue {
  constructor(
    private readonly redis: RedisClient,
    private readonly max: number,
    private readonly ttlS: number,
    private readonly logger: Logger,
  ) {}

  async push(clientId: string, message: ShortUMFMessage): Promise<void> {
    const key = keys.routerClientQueue(clientId);
    const entry: Stored = { at: Date.now(), m: message };
    await this.redis.multi().lPush(key, JSON.stringify(entry)).lTrim(key, 0, this.max - 1).expire(key, this.ttlS).exec();
  }

  /** Everything kept for the client that has not expired, oldest first. */
  async takeAll(clientId: string): Promise<ShortUMFMessage[]> {
    const raw = (await this.redis.eval(TAKE_ALL, { keys: [keys.routerClientQueue(clientId)] })) as string[];
    const oldest = Date.now() - this.ttlS * 1000;
    const out: ShortUMFMessage[] = [];
    for (const text of raw.reverse()) {
      try {
        const entry = JSON.parse(text) as Stored;
        if (entry.at >= oldest) out.push(entry.m);
      } catch (err) {
        this.logger.warn({ clientId, err: errorMessage(err) }, 'dropped an unreadable buffered WebSocket message');
      }
    }
    return out;
  }
}
