/**
 * Hydra's UMF helper (`hydra.getUMFMessageHelper()`, `require('hydra/lib/umfmessage')`):
 * `createMessage` returns a message object whose fields read and write through to
 * the long form, with `toJSON`, `toShort`, `signMessage` and `validate`; `parseRoute`
 * answers with an `error` field instead of throwing. The field table, route grammar
 * and error texts are core's (umf.ts); this module only keeps Hydra's object shape.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { UMF_FIELDS, UMF_VERSION, parseRoute as parseCoreRoute, toShort as coreToShort, type ShortUMFMessage, type UMFMessage } from '@hydra-ts/core';


/** The methods of a Hydra UMF message object; its fields (`to`, `body`, ...) are read and set on it directly. */
export class UMFMessageObject {
  /** The long form, as `toJSON()` returns it. */
  message: Record<string, unknown> = {};

  /** An ISO 8601 time stamp. */
  getTimeStamp(): string {
    return new Date().toISOString();
  }

  /** A UUID v4 message id. */
  createMessageID(): string {
    return randomUUID();
  }

  /** A short base-36 random id. */
  createShortMessageID(): string {
    return Math.floor(Math.random() * Number.MAX_SAFE_INTEGER).toString(36);
  }

  /** Signs with an HMAC (`algo`, e.g. 'sha256') over the long form without its old signature. */
  signMessage(algo: string, sharedSecret: string): void {
    delete this.message.signature;
    this.message.signature = createHmac(algo, sharedSecret).update(JSON.stringify(this.message)).digest('hex');
  }

  /** The long form. */
  toJSON(): Record<string, unknown> {
    return this.message;
  }

  /** The short form (`frm`, `bdy`, ...), as sent on the wire and given to `message` listeners. */
  toShort(): ShortUMFMessage {
    return coreToShort(this.message as unknown as UMFMessage);
  }

  /** True when `to`, `from` and `body` are all set. */
  validate(): boolean {
    return Boolean(this.message.to && this.message.from && this.message.body);
  }
}

/** A message object: the methods above, plus every UMF field read and written by name. */
export type UMFMessageInstance = UMFMessageObject & Record<string, any>;

/** `long || short`, as Hydra reads each field. */
function value(input: Record<string, unknown>, long: string, short: string): unknown {
  return input[long] || input[short] || undefined;
}

/**
 * Builds a message object from long or short fields (any mix), filling mid,
 * timestamp and version as Hydra does. Never throws: `validate()` tells whether
 * the required fields are there.
 */
export function createMessage(input: Record<string, unknown> = {}): UMFMessageInstance {
  // A message object passed in reads through its proxy like a plain one.
  const source = input ?? {};
  const target = new UMFMessageObject();
  const proxy = new Proxy(target, {
    get: (t, name, receiver) => (name in t ? Reflect.get(t, name, receiver) : t.message[name as string]),
    set: (t, name, v) => {
      t.message[name as string] = v;
      return true;
    },
  }) as UMFMessageInstance;
  // Fields (and the defaults) in the table's order, so JSON.stringify (and signatures) keep Hydra's.
  const defaults: Record<string, () => unknown> = { mid: () => target.createMessageID(), timestamp: () => target.getTimeStamp(), version: () => UMF_VERSION };
  for (const [long, short] of UMF_FIELDS) {
    const v = value(source, long, short) ?? defaults[long]?.();
    if (v !== undefined) target.message[long] = v;
  }
  return proxy;
}

/** What Hydra's parseRoute answers: the route's parts, and `error` set (non-empty) when the route is bad. */
export interface ParsedHydraRoute {
  /** The instance id before `@`, '' when the route names the service only. */
  instance: string;
  /** The sub id after `-` in the instance part. */
  subID: string;
  /** The service name (lower case). */
  serviceName: string;
  /** Lower-case HTTP method of a `[verb]`, undefined when the route has none. */
  httpMethod: string | undefined;
  /** The path after the method, e.g. `/v1/hello`. */
  apiRoute: string;
  /** Why the route is bad; '' when it is good. */
  error: string;
}

/** Parses `[instance[-subID]@]service:[method]/path`; a bad route comes back with `error` set. */
export function parseRoute(toValue: string): ParsedHydraRoute {
  try {
    const r = parseCoreRoute(String(toValue));
    return { instance: r.instance, subID: r.subId, serviceName: r.serviceName, httpMethod: r.httpMethod || undefined, apiRoute: r.apiRoute, error: '' };
  } catch (err) {
    return { instance: '', subID: '', serviceName: '', httpMethod: undefined, apiRoute: '', error: (err as Error).message };
  }
}
