/**
 * The router's own settings: top-level fields of its config document, beside
 * the `hydra` block, named as hydra-router names them where it has them
 * (routerToken, disableRouterEndpoint, requestTimeout, cors,
 * forceMessageSignature, signatureSharedSecret). Validated once, at start,
 * with errors that name the field.
 */
import { isIP } from 'node:net';
import { HydraError } from '@hydra-ts/core';
import { STRATEGIES } from './balancer.js';

/** The router's settings (see docs/configuration.md for the config fields they come from). */
export interface RouterSettings {
  /** When set, /v1/router/* needs `?token=` or `Authorization: Bearer`; '' = open. */
  routerToken: string;
  /** Turns the /v1/router/* API off entirely (404). */
  disableRouterEndpoint: boolean;
  /** `/<service>/path` reaches the service's registered routes as `/path`; false turns it off. */
  directAddressing: boolean;
  /** Headers added to every answer, and the answer to CORS preflights. Empty = no CORS. */
  cors: Record<string, string>;
  /** Time an instance has to send its response headers (hydra-router: `requestTimeout`, seconds). */
  requestTimeoutMs: number;
  /** Largest request body passed on; bigger ones get 413. */
  bodyLimitBytes: number;
  /** Name of the load-balancing strategy (see balancer.ts). */
  balancing: string;
  /** Instances tried for one request when trying again is safe. */
  maxAttempts: number;
  /** Most concurrent connections from this router to one instance. */
  upstreamConnections: number;
  /** Failed answers in a row (5xx, timeouts, broken connections) that take an instance out of rotation; 0 = never. */
  outlierFailures: number;
  /** How long such an instance stays out the first time (ms); each further ejection in a row adds as much. */
  outlierEjectionMs: number;
  /** Router processes sharing the port (node:cluster); 1 = this process serves. */
  workers: number;
  /** Wrap services' JSON answers that are not envelopes into one, as hydra-router did (json-wrap.ts). */
  wrapResponses: boolean;
  /** Log one line per proxied request (with its request id). */
  accessLog: boolean;
  /** Refuse WebSocket frames that are not signed with signatureSharedSecret. */
  forceMessageSignature: boolean;
  /** The HMAC secret for forceMessageSignature. */
  signatureSharedSecret: string;
  /** Messages for a WebSocket client that is away: how many and for how long they are kept. */
  wsQueueMax: number;
  /** Seconds such a message is kept (config: `wsQueueTtl`). */
  wsQueueTtlS: number;
  /** Largest WebSocket message (bytes; a bigger one closes the connection with 1009). */
  wsMaxPayload: number;
  /** Bytes of incomplete WebSocket messages the router holds over all connections (then 1013). */
  wsMaxBuffered: number;
  /** Messages a second one WebSocket connection may send (then 1008). */
  wsMessageRate: number;
  /** Bytes queued to one WebSocket client that it has not read yet (then 1008). */
  wsMaxBackpressure: number;
  /** Networks instances must be in to be upstreams (addresses and CIDR networks); [] = any. */
  upstreamNetworks: string[];
  /** Peers whose X-Forwarded-For is believed (addresses and CIDR networks); [] = nobody's. */
  trustedProxies: string[];
}

/** Every setting's value when the config does not name it. */
export const DEFAULT_SETTINGS: RouterSettings = {
  routerToken: '',
  disableRouterEndpoint: false,
  directAddressing: true,
  cors: {},
  requestTimeoutMs: 30_000,
  bodyLimitBytes: 10 * 1024 * 1024,
  balancing: 'round-robin',
  maxAttempts: 3,
  upstreamConnections: 128,
  outlierFailures: 5,
  outlierEjectionMs: 10_000,
  workers: 1,
  wrapResponses: false,
  accessLog: true,
  forceMessageSignature: false,
  signatureSharedSecret: '',
  wsQueueMax: 100,
  wsQueueTtlS: 300,
  wsMaxPayload: 1024 * 1024,
  wsMaxBuffered: 64 * 1024 * 1024,
  wsMessageRate: 100,
  wsMaxBackpressure: 16 * 1024 * 1024,
  upstreamNetworks: [],
  trustedProxies: [],
};

function bad(field: string, problem: string): HydraError {
  return new HydraError('INVALID_CONFIG', `router config field ${field} ${problem}`);
}

/** Allowed values of a numeric field: within [min, max], whole numbers only when `integer`. */
interface Range {
  min: number;
  max: number;
  integer?: boolean;
  unit?: string;
}

/**
 * Every numeric setting has a range: a value outside one (a typo such as
 * `"workers": 1000`, or `"requestTimeout": 1e308`, which overflows node's timers)
 * would start a router that cannot serve, so it is refused at start, by name.
 */
export const RANGES = {
  requestTimeout: { min: 0.01, max: 3600, unit: 'seconds' },
  bodyLimit: { min: 1, max: 1024 ** 3, integer: true, unit: 'bytes' },
  maxAttempts: { min: 1, max: 10, integer: true },
  upstreamConnections: { min: 1, max: 10_000, integer: true },
  outlierFailures: { min: 0, max: 1000, integer: true },
  outlierEjection: { min: 0.1, max: 3600, unit: 'seconds' },
  workers: { min: 1, max: 32, integer: true },
  wsQueueMax: { min: 1, max: 10_000, integer: true },
  wsQueueTtl: { min: 1, max: 7 * 24 * 3600, integer: true, unit: 'seconds' },
  wsMaxPayload: { min: 1024, max: 64 * 1024 ** 2, integer: true, unit: 'bytes' },
  wsMaxBuffered: { min: 64 * 1024, max: 4 * 1024 ** 3, integer: true, unit: 'bytes' },
  wsMessageRate: { min: 1, max: 100_000, unit: 'messages a second' },
  wsMaxBackpressure: { min: 64 * 1024, max: 1024 ** 3, integer: true, unit: 'bytes' },
} satisfies Record<string, Range>;

function num(doc: Record<string, unknown>, field: keyof typeof RANGES, fallback: number): number {
  const v = doc[field];
  if (v === undefined) return fallback;
  const r: Range = RANGES[field];
  const what = `${r.integer ? 'an integer' : 'a number'} from ${r.min} to ${r.max}${r.unit ? ` (${r.unit})` : ''}`;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < r.min || v > r.max || (r.integer && !Number.isInteger(v))) {
    throw bad(field, `must be ${what}, not ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(doc: Record<string, unknown>, field: string, fallback: boolean): boolean {
  const v = doc[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw bad(field, 'must be true or false');
  return v;
}

function str(doc: Record<string, unknown>, field: string, fallback: string): string {
  const v = doc[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw bad(field, 'must be a string');
  return v;
}

/** A list of addresses and CIDR networks (`127.0.0.1`, `198.18.0.0/15`, `::1/128`). */
function networks(doc: Record<string, unknown>, field: string): string[] {
  const v = doc[field];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(field, 'must be a list of addresses or CIDR networks, e.g. ["127.0.0.1", "198.18.0.0/15"]');
  return v.map((entry, i) => {
    const [address, prefix, extra] = typeof entry === 'string' ? entry.split('/') : [];
    const family = address ? isIP(address) : 0;
    const bits = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (!family || !prefixOk || extra !== undefined) throw bad(`${field}[${i}]`, `must be an IP address or a CIDR network like "198.18.0.0/15", not ${JSON.stringify(entry)}`);
    return entry as string;
  });
}

/** Reads the settings from a router config document's top-level fields; a bad one is refused naming the field. */
export function readSettings(doc: Record<string, unknown>): RouterSettings {
  const cors = doc.cors ?? {};
  if (typeof cors !== 'object' || cors === null || Array.isArray(cors)) throw bad('cors', 'must be an object of header names to values');
  const corsHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(cors)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw bad(`cors["${k}"]`, 'must be a string or number');
    corsHeaders[k.toLowerCase()] = String(v);
  }
  const balancing = str(doc, 'balancing', DEFAULT_SETTINGS.balancing);
  if (!Object.hasOwn(STRATEGIES, balancing)) throw bad('balancing', `"${balancing}" is not one of ${Object.keys(STRATEGIES).join(', ')}`);
  const settings: RouterSettings = {
    routerToken: str(doc, 'routerToken', ''),
    disableRouterEndpoint: bool(doc, 'disableRouterEndpoint', false),
    directAddressing: bool(doc, 'directAddressing', DEFAULT_SETTINGS.directAddressing),
    cors: corsHeaders,
    requestTimeoutMs: Math.round(num(doc, 'requestTimeout', DEFAULT_SETTINGS.requestTimeoutMs / 1000) * 1000),
    bodyLimitBytes: num(doc, 'bodyLimit', DEFAULT_SETTINGS.bodyLimitBytes),
    balancing,
    maxAttempts: num(doc, 'maxAttempts', DEFAULT_SETTINGS.maxAttempts),
    upstreamConnections: num(doc, 'upstreamConnections', DEFAULT_SETTINGS.upstreamConnections),
    outlierFailures: num(doc, 'outlierFailures', DEFAULT_SETTINGS.outlierFailures),
    outlierEjectionMs: Math.round(num(doc, 'outlierEjection', DEFAULT_SETTINGS.outlierEjectionMs / 1000) * 1000),
    workers: num(doc, 'workers', DEFAULT_SETTINGS.workers),
    wrapResponses: bool(doc, 'wrapResponses', DEFAULT_SETTINGS.wrapResponses),
    accessLog: bool(doc, 'accessLog', true),
    forceMessageSignature: bool(doc, 'forceMessageSignature', false),
    signatureSharedSecret: str(doc, 'signatureSharedSecret', ''),
    wsQueueMax: num(doc, 'wsQueueMax', DEFAULT_SETTINGS.wsQueueMax),
    wsQueueTtlS: num(doc, 'wsQueueTtl', DEFAULT_SETTINGS.wsQueueTtlS),
    wsMaxPayload: num(doc, 'wsMaxPayload', DEFAULT_SETTINGS.wsMaxPayload),
    wsMaxBuffered: num(doc, 'wsMaxBuffered', DEFAULT_SETTINGS.wsMaxBuffered),
    wsMessageRate: num(doc, 'wsMessageRate', DEFAULT_SETTINGS.wsMessageRate),
    wsMaxBackpressure: num(doc, 'wsMaxBackpressure', DEFAULT_SETTINGS.wsMaxBackpressure),
    upstreamNetworks: networks(doc, 'upstreamNetworks'),
    trustedProxies: networks(doc, 'trustedProxies'),
  };
  if (settings.forceMessageSignature && !settings.signatureSharedSecret) {
    throw bad('signatureSharedSecret', 'is required when forceMessageSignature is true');
  }
  return settings;
}
