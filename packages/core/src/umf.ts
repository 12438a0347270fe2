/**
 * UMF (Universal Messaging Format) as Hydra speaks it: long and short forms,
 * validation that names the bad field, route parsing and HMAC signing.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { HydraError } from './errors.js';
import { assertJsonDepth } from './json.js';

/** The UMF version hydra-ts writes in `version` (`ver`), Hydra's own. */
export const UMF_VERSION = 'UMF/1.4.6';

/** A UMF message in long form (what handlers receive and senders get back). */
export interface UMFMessage {
  /** Where the message goes: a route `[instance@]service:[method]/path` (see {@link parseRoute}). */
  to: string;
  /** Who sent it, as a route; replies go here unless `via` is set. */
  from: string;
  /** Free-form headers; makeAPIRequest sends them as HTTP headers. */
  headers?: Record<string, unknown>;
  /** Message id, a UUID v4 with dashes; made when absent. */
  mid: string;
  /** The `mid` of the message this one answers: request/reply correlates by it. */
  rmid?: string;
  /** HMAC-SHA256 hex over the long form without this field (see {@link sign}). */
  signature?: string;
  /** Seconds; longer than a timer holds (see timer.ts) means as long as it can. */
  timeout?: number;
  /** When the message was made, ISO 8601; made when absent. */
  timestamp: string;
  /** Free-form message type (the router uses `connection`, `ping`, `pong`). */
  type?: string;
  /** The UMF version, {@link UMF_VERSION} unless the sender said otherwise. */
  version: string;
  /** Route of a relay (a router) that a reply must go back through. */
  via?: string;
  /** Where a relay should forward the message. */
  forward?: string;
  /** The payload: always a JSON object. */
  body: Record<string, unknown>;
  /** Sent as the HTTP Authorization header by makeAPIRequest. */
  authorization?: string;
}

/** A UMF message in short form: what travels on the wire (pub/sub, queues, WebSocket). */
export interface ShortUMFMessage {
  /** Short form of `to`. */
  to: string;
  /** Short form of `from`. */
  frm: string;
  /** Short form of `headers`. */
  hdr?: Record<string, unknown>;
  /** Short form of `mid`. */
  mid: string;
  /** Short form of `rmid`. */
  rmid?: string;
  /** Short form of `signature`. */
  sig?: string;
  /** Short form of `timeout`. */
  tmo?: number;
  /** Short form of `timestamp`. */
  ts: string;
  /** Short form of `type`. */
  typ?: string;
  /** Short form of `version`. */
  ver: string;
  /** Short form of `via`. */
  via?: string;
  /** Short form of `forward`. */
  fwd?: string;
  /** Short form of `body`. */
  bdy: Record<string, unknown>;
  /** Short form of `authorization`. */
  aut?: string;
}

/** What a caller may pass: any mix of long and short field names; mid, timestamp and version get defaults. */
export type UMFInput = Partial<UMFMessage> & Partial<ShortUMFMessage>;

/** Long name → short name, in the field order that signatures are computed over. */
const FIELDS = [
  ['to', 'to'],
  ['from', 'frm'],
  ['headers', 'hdr'],
  ['mid', 'mid'],
  ['rmid', 'rmid'],
  ['signature', 'sig'],
  ['timeout', 'tmo'],
  ['timestamp', 'ts'],
  ['type', 'typ'],
  ['version', 'ver'],
  ['via', 'via'],
  ['forward', 'fwd'],
  ['body', 'bdy'],
  ['authorization', 'aut'],
] as const;

function invalid(field: string, problem: string): HydraError {
  return new HydraError('INVALID_UMF', `UMF field "${field}" ${problem}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Hydra's `long || short`: an empty value under the long name gives way to the short one. */
function pick(long: unknown, short?: unknown): unknown {
  const v = long === undefined || long === null || long === '' ? short : long;
  return v === null || v === '' ? undefined : v;
}

/**
 * Builds a validated long-form message from long or short input (Hydra's
 * createMessage semantics). Throws INVALID_UMF naming the first field that is
 * missing or of the wrong type.
 */
export function createMessage(input: unknown): UMFMessage {
  if (!isPlainObject(input)) throw new HydraError('INVALID_UMF', 'UMF message must be a JSON object');
  const i = input as Partial<UMFMessage & ShortUMFMessage>;
  // Fields are read by name and assigned in FIELDS order, so JSON.stringify (and so
  // signatures) match Hydra's; named reads keep this hot path cheap.
  const m: Record<string, unknown> = {};
  const set = (field: string, value: unknown) => void (value !== undefined && (m[field] = value));
  set('to', pick(i.to));
  set('from', pick(i.from, i.frm));
  set('headers', pick(i.headers, i.hdr));
  m.mid = pick(i.mid) ?? randomUUID();
  set('rmid', pick(i.rmid));
  set('signature', pick(i.signature, i.sig));
  set('timeout', pick(i.timeout, i.tmo));
  m.timestamp = pick(i.timestamp, i.ts) ?? new Date().toISOString();
  set('type', pick(i.type, i.typ));
  m.version = pick(i.version, i.ver) ?? UMF_VERSION;
  set('via', pick(i.via));
  set('forward', pick(i.forward, i.fwd));
  set('body', pick(i.body, i.bdy));
  set('authorization', pick(i.authorization, i.aut));
  validate(m);
  return m;
}

function validate(m: Record<string, unknown>): asserts m is UMFMessage & Record<string, unknown> {
  for (const field of ['to', 'from'] as const) {
    if (m[field] === undefined) throw invalid(field, 'is required');
    if (typeof m[field] !== 'string') throw invalid(field, 'must be a string route');
  }
  if (m.body === undefined) throw invalid('body', 'is required');
  if (!isPlainObject(m.body)) throw invalid('body', 'must be an object');
  for (const field of ['mid', 'rmid', 'signature', 'timestamp', 'type', 'version', 'via', 'forward', 'authorization'] as const) {
    if (m[field] !== undefined && typeof m[field] !== 'string') throw invalid(field, 'must be a string');
  }
  if (m.headers !== undefined && !isPlainObject(m.headers)) throw invalid('headers', 'must be an object');
  if (m.timeout !== undefined && (typeof m.timeout !== 'number' || !(m.timeout > 0))) throw invalid('timeout', 'must be a positive number of seconds');
}

/** Parses a JSON text into a validated message; errors name the JSON problem or the field. */
export function parseMessage(text: string): UMFMessage {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new HydraError('INVALID_JSON', `message is not JSON: ${(err as Error).message}`);
  }
  assertJsonDepth(text, 'message');
  return createMessage(data);
}

/** The short form of a message (`from` → `frm`, `body` → `bdy`, ...), fields in signature order: what is published. */
export function toShort(m: UMFMessage): ShortUMFMessage {
  const out: Record<string, unknown> = {};
  for (const [long, short] of FIELDS) {
    const value = (m as unknown as Record<string, unknown>)[long];
    if (value !== undefined) out[short] = value;
  }
  return out as unknown as ShortUMFMessage;
}

function computeSignature(m: UMFMessage, secret: string): string {
  const { signature: _ignored, ...unsigned } = m;
  return createHmac('sha256', secret).update(JSON.stringify(unsigned)).digest('hex');
}

/** Returns a copy signed with HMAC-SHA256 over the long form, as Hydra's signMessage does. */
export function sign(m: UMFMessage, secret: string): UMFMessage {
  return createMessage({ ...m, signature: computeSignature(m, secret) });
}

/** Constant-time check of the message's signature. */
export function verify(m: UMFMessage, secret: string): boolean {
  if (!m.signature) return false;
  const expected = Buffer.from(computeSignature(m, secret), 'hex');
  const given = Buffer.from(m.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The parts of a UMF route, as {@link parseRoute} reads them. */
export interface ParsedRoute {
  /** Instance id before `@`, '' when the route names the service only. */
  instance: string;
  /** Sub id after `-` in the instance part (a router uses it for a WebSocket client). */
  subId: string;
  /** The service, lower-cased as Hydra does. */
  serviceName: string;
  /** Lower-case HTTP method from `[verb]`, '' when absent. */
  httpMethod: string;
  /** The path after the method, e.g. `/v1/hello/test`. */
  apiRoute: string;
}

/**
 * Parses `[instanceID[-subID]@]serviceName:[http-method]/path`. Throws INVALID_ROUTE with
 * Hydra's own error texts, so callers that match on them keep working.
 */
export function parseRoute(to: string): ParsedRoute {
  const colon = to.indexOf(':');
  if (colon < 0) throw new HydraError('INVALID_ROUTE', `route field has invalid number of routable segments: "${to}"`);
  let head = to.slice(0, colon);
  let rest = to.slice(colon + 1);
  let instance = '';
  let subId = '';
  const at = head.indexOf('@');
  if (at >= 0) {
    const who = head.slice(0, at);
    head = head.slice(at + 1);
    const dash = who.indexOf('-');
    instance = dash >= 0 ? who.slice(0, dash) : who;
    subId = dash >= 0 ? who.slice(dash + 1) : '';
  }
  if (head === '') throw new HydraError('INVALID_ROUTE', `route field has no service name: "${to}"`);
  let httpMethod = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new HydraError('INVALID_ROUTE', `route field has ill-formed HTTP method verb in segment: "${to}"`);
    httpMethod = rest.slice(1, close).toLowerCase();
    rest = rest.slice(close + 1);
  }
  return { instance, subId, serviceName: head.toLowerCase(), httpMethod, apiRoute: rest };
}
