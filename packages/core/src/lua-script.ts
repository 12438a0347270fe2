/**
 * Lua scripts sent by their SHA1: EVAL sends the whole source with every call, and
 * Redis hashes it each time (tens of microseconds for a script of a few hundred bytes);
 * EVALSHA sends 40 characters, and the source goes once, when Redis answers NOSCRIPT
 * (a new or restarted server, or after SCRIPT FLUSH).
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis.js';

/** Redis's answer to EVALSHA of a script it does not hold. */
export function isNoScript(reply: unknown): boolean {
  return reply instanceof Error && reply.message.startsWith('NOSCRIPT');
}

/** A script sent by its SHA1 (EVALSHA), and in full once when the server does not know it yet. */
export class Script {
  /** The SHA1 Redis knows the script by (for EVALSHA inside a pipeline). */
  readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script, sending its source only when Redis answers NOSCRIPT (a new or restarted server). */
  async run(redis: RedisClient, keyNames: string[], args: string[]): Promise<unknown> {
    try {
      return await redis.evalSha(this.sha, { keys: keyNames, arguments: args });
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return redis.eval(this.source, { keys: keyNames, arguments: args });
    }
  }
}

