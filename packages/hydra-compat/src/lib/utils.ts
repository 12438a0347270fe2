/** Hydra's Utils helper (`hydra.getUtilsHelper()`, `require('hydra/lib/utils')`): small static functions apps use. */
import { createHash } from 'node:crypto';

/** Hydra's static helper functions. */
class Utils {
  /** MD5 of `key`, hex. */
  static md5Hash(key: string): string {
    return createHash('md5').update(key).digest('hex');
  }

  /** JSON.stringify that writes Error objects with their own properties (message, stack) instead of `{}`. */
  static safeJSONStringify(obj: unknown): string | undefined {
    return JSON.stringify(obj, (_key, value: unknown) => {
      if (!(value instanceof Error)) return value;
      const plain: Record<string, unknown> = {};
      for (const name of Object.getOwnPropertyNames(value)) plain[name] = (value as unknown as Record<string, unknown>)[name];
      return plain;
    });
  }

  /** JSON.parse that answers undefined instead of throwing. */
  static safeJSONParse(str: unknown): any {
    try {
      return JSON.parse(str as string);
    } catch {
      return undefined;
    }
  }

  /** djb2-style string hash, unsigned 32 bit (Hydra's). */
  static stringHash(str: string): number {
    let hash = 5381;
    for (let i = str.length; i; ) hash = (hash * 33) ^ str.charCodeAt(--i);
    return hash >>> 0;
  }

  /** A random base-36 id. */
  static shortID(): string {
    return Math.floor(Math.random() * Number.MAX_SAFE_INTEGER).toString(36);
  }

  /** True for a UUID in its 8-4-4-4-12 hex form. */
  static isUUID4(str: string): boolean {
    return /^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$/.test(str);
  }

  /** Shuffles an array in place (Fisher-Yates). */
  static shuffleArray<T>(a: T[]): void {
    for (let i = a.length; i; i--) {
      const j = Math.floor(Math.random() * i);
      [a[i - 1], a[j]] = [a[j]!, a[i - 1]!];
    }
  }
}

export = Utils;
