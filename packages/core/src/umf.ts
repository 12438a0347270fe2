/**
 * UMF (Universal Messaging Format) as Hydra speaks it: long and short forms,
 * validation that names the bad field, route parsing and HMAC signing.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { HydraError } from './errors.js';
import { assertParsedJsonDepth } from './json.js';

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

/** Long name → short name, in the field order that signatures are computed over (Hydra's order). */
export const UMF_FIELDS = [
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

/** Fields a sender fills in where its input has none (its own `from`), instead of copying the input to add them. */
export interface MessageDefaults {
  /** The sender's own route, used when the input has neither `from` nor `frm`. */
  from?: string;
}

let isoMs = NaN;
let isoText = '';

/** The current time as an ISO string, formatted once per millisecond (senders make many messages in one). */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/**
 * The input's UMF fields as an object literal's own properties. Literals and parsed
 * JSON are that already; a class instance, or a proxy over one (Hydra's message
 * objects), may answer names that are not its enumerable keys: those are read by name.
 */
function ownFields(input: Record<string, unknown>): Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(input);
  if (proto === Object.prototype || proto === null) return input;
  const fields: Record<string, unknown> = {};
  for (const [long, short] of UMF_FIELDS) {
    fields[long] = input[long];
    fields[short] = input[short];
  }
  return fields;
}

function requireString(field: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'string') throw invalid(field, 'must be a string');
}

/**
 * Builds a validated long-form message from long or short input (Hydra's
 * createMessage semantics); `defaults` fill fields the input leaves empty. Throws
 * INVALID_UMF naming the first field that is missing or of the wrong type.
 */
export function createMessage(input: unknown, defaults?: MessageDefaults): UMFMessage {
  if (!isPlainObject(input)) throw new HydraError('INVALID_UMF', 'UMF message must be a JSON object');
  // One pass over the input's keys: inputs come in many shapes (callers' literals,
  // parsed short forms, replies), and 27 named reads of mostly absent fields cost
  // several times more on such polymorphic objects.
  let to, from, frm, headers, hdr, mid, rmid, signature, sig, timeout, tmo, timestamp, ts, type, typ, version, ver, via, forward, fwd, body, bdy, authorization, aut: unknown;
  const fields = ownFields(input);
  for (const key in fields) {
    const v = fields[key];
    switch (key) {
      case 'to': to = v; break;
      case 'from': from = v; break;
      case 'frm': frm = v; break;
      case 'headers': headers = v; break;
      case 'hdr': hdr = v; break;
      case 'mid': mid = v; break;
      case 'rmid': rmid = v; break;
      case 'signature': signature = v; break;
      case 'sig': sig = v; break;
      case 'timeout': timeout = v; break;
      case 'tmo': tmo = v; break;
      case 'timestamp': timestamp = v; break;
      case 'ts': ts = v; break;
      case 'type': type = v; break;
      case 'typ': typ = v; break;
      case 'version': version = v; break;
      case 'ver': ver = v; break;
      case 'via': via = v; break;
      case 'forward': forward = v; break;
      case 'fwd': fwd = v; break;
      case 'body': body = v; break;
      case 'bdy': bdy = v; break;
      case 'authorization': authorization = v; break;
      case 'aut': aut = v; break;
    }
  }
  to = pick(to);
  from = pick(from, frm) ?? defaults?.from;
  headers = pick(headers, hdr);
  mid = pick(mid);
  rmid = pick(rmid);
  signature = pick(signature, sig);
  timeout = pick(timeout, tmo);
  timestamp = pick(timestamp, ts);
  type = pick(type, typ);
  version = pick(version, ver);
  via = pick(via);
  forward = pick(forward, fwd);
  body = pick(body, bdy);
  authorization = pick(authorization, aut);

  if (to === undefined) throw invalid('to', 'is required');
  if (typeof to !== 'string') throw invalid('to', 'must be a string route');
  if (from === undefined) throw invalid('from', 'is required');
  if (typeof from !== 'string') throw invalid('from', 'must be a string route');
  if (body === undefined) throw invalid('body', 'is required');
  if (!isPlainObject(body)) throw invalid('body', 'must be an object');
  requireString('mid', mid);
  requireString('rmid', rmid);
  requireString('signature', signature);
  requireString('timestamp', timestamp);
  requireString('type', type);
  requireString('version', version);
  requireString('via', via);
  requireString('forward', forward);
  requireString('authorization', authorization);
  if (headers !== undefined && !isPlainObject(headers)) throw invalid('headers', 'must be an object');
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) throw invalid('timeout', 'must be a positive number of seconds');

  // Assigned in UMF_FIELDS order, so JSON.stringify (and so signatures) match Hydra's.
  const m: Partial<UMFMessage> = { to, from };
  if (headers !== undefined) m.headers = headers as Record<string, unknown>;
  m.mid = (mid as string | undefined) ?? randomUUID();
  if (rmid !== undefined) m.rmid = rmid as string;
  if (signature !== undefined) m.signature = signature as string;
  if (timeout !== undefined) m.timeout = timeout as number;
  m.timestamp = (timestamp as string | undefined) ?? isoNow();
  if (type !== undefined) m.type = type as string;
  m.version = (version as string | undefined) ?? UMF_VERSION;
  if (via !== undefined) m.via = via as string;
  if (forward !== undefined) m.forward = forward as string;
  m.body = body;
  if (authorization !== undefined) m.authorization = authorization as string;
  return m as UMFMessage;
}

/** Parses a JSON text into a validated message; errors name the JSON problem or the field. */
export function parseMessage(text: string): UMFMessage {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new HydraError('INVALID_JSON', `message is not JSON: ${(err as Error).message}`);
  }
  assertParsedJsonDepth(data, text, 'message');
  return createMessage(data);
}

/** The short form of a message (`from` → `frm`, `body` → `bdy`, ...), fields in signature order: what is published. */
export function toShort(m: UMFMessage): ShortUMFMessage {
  const out: Record<string, unknown> = {};
  for (const [long, short] of UMF_FIELDS) {
    const value = (m as unknown as Record<string, unknown>)[long];
    if (value !== undefined) out[short] = value;
  }
  return out as unknown as ShortUMFMessage;
}

/** Printable ASCII but `"` and `\`: a string of only these is its own JSON text between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `"name":value` for one short-form field, after a comma unless it is the first; '' for a value JSON leaves out (as JSON.stringify does). */
function fieldJSON(json: string, name: string, value: unknown): string {
  // Routes, ids, timestamps and versions are plain: a regular expression test is cheaper than a JSON.stringify call.
  const text = typeof value === 'string' && PLAIN.test(value) ? `"${value}"` : (JSON.stringify(value) as string | undefined);
  if (text === undefined) return '';
  return `${json.length > 1 ? ',' : ''}"${name}":${text}`;
}

/**
 * `JSON.stringify(toShort(m))`, the text that goes on the wire, written field by field
 * without building the short-form object first (it is made once per message sent).
 */
export function toShortJSON(m: UMFMessage): string {
  let json = '{';
  if (m.to !== undefined) json += fieldJSON(json, 'to', m.to);
  if (m.from !== undefined) json += fieldJSON(json, 'frm', m.from);
  if (m.headers !== undefined) json += fieldJSON(json, 'hdr', m.headers);
  if (m.mid !== undefined) json += fieldJSON(json, 'mid', m.mid);
  if (m.rmid !== undefined) json += fieldJSON(json, 'rmid', m.rmid);
  if (m.signature !== undefined) json += fieldJSON(json, 'sig', m.signature);
  if (m.timeout !== undefined) json += fieldJSON(json, 'tmo', m.timeout);
  if (m.timestamp !== undefined) json += fieldJSON(json, 'ts', m.timestamp);
  if (m.type !== undefined) json += fieldJSON(json, 'typ', m.type);
  if (m.version !== undefined) json += fieldJSON(json, 'ver', m.version);
  if (m.via !== undefined) json += fieldJSON(json, 'via', m.via);
  if (m.forward !== undefined) json += fieldJSON(json, 'fwd', m.forward);
  if (m.body !== undefined) json += fieldJSON(json, 'bdy', m.body);
  if (m.authorization !== undefined) json += fieldJSON(json, 'aut', m.authorization);
  return `${json}}`;
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
