/**
 * WebSocket client identities. A client's id is public: it is in the `via` of every
 * message relayed for the client, so services (and whoever reads their logs) know it.
 * Resuming an identity (`?id=`, or the `reconnect` message) therefore needs the secret
 * the router issued in the connection message: HMAC-SHA256 of the id under a key that
 * every router on the Redis shares (created once by the first router, SET NX). A client
 * can resume on any router, and nothing is stored per client.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { HydraError, errorMessage, keys, type RedisClient } from '@hydra-ts/core';

const KEY_FORM = /^[0-9a-f]{64}$/;

export class ClientSecrets {
  private constructor(private readonly key: Buffer) {}

  /** Reads the shared key, creating it when no router has yet. */
  static async load(redis: RedisClient): Promise<ClientSecrets> {
    const name = keys.routerClientSecretKey();
    let value: string | null;
    try {
      await redis.set(name, randomBytes(32).toString('hex'), { condition: 'NX' });
      value = await redis.get(name);
    } catch (err) {
      throw new HydraError('INVALID_CONFIG', `cannot read the WebSocket client secret key (Redis key ${name}): ${errorMessage(err)}`);
    }
    if (!value || !KEY_FORM.test(value)) {
      throw new HydraError('INVALID_CONFIG', `Redis key ${name} must hold 64 hex characters (the routers' shared key); delete it and a router creates a new one`);
    }
    return new ClientSecrets(Buffer.from(value, 'hex'));
  }

  /** The secret of client `id`, given to it in its connection message. */
  issue(id: string): string {
    return createHmac('sha256', this.key).update(id).digest('hex');
  }

  /** Whether `secret` is the one issued for `id` (constant-time). */
  verify(id: string, secret: unknown): boolean {
    if (typeof secret !== 'string' || secret.length !== 64) return false;
    return timingSafeEqual(Buffer.from(secret), Buffer.from(this.issue(id)));
  }
}
