/**
 * W3C trace context (traceparent, tracestate) and W3C baggage as they travel:
 * HTTP headers of the same names, and the same names inside a UMF message's
 * `headers` (`hdr`). Hydra peers copy `headers` into a reply (sendReplyMessage
 * overlays the original) and send them as HTTP headers from makeAPIRequest, so
 * context placed there crosses a Hydra peer untouched.
 */

/** The W3C traceparent header (lower-case, as node gives HTTP headers and as it goes into UMF `headers`). */
export const TRACEPARENT = 'traceparent';
/** The W3C tracestate header: vendors' entries beside the traceparent. */
export const TRACESTATE = 'tracestate';
/** The W3C baggage header: application key-values that travel with the trace. */
export const BAGGAGE = 'baggage';
/** Every name trace context travels under. */
export const TRACE_HEADERS = [TRACEPARENT, TRACESTATE, BAGGAGE] as const;

/**
 * version-traceid-parentid-flags (W3C Trace Context 3.2): lower-case hex, a trace id and a
 * parent id that are not all zeros; version ff is invalid. A future version may append fields.
 */
const TRACEPARENT_FORMAT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** tracestate is at most 32 entries of at most 256 characters; baggage at most 8192 bytes (W3C Baggage 3.3.1). */
const MAX_TRACESTATE = 32 * 257;
const MAX_BAGGAGE = 8192;

/** Trace context in transit: the three headers' values, only those present and well-formed. */
export interface TraceCarrier {
  /** `00-<trace id>-<parent span id>-<flags>`. */
  traceparent?: string;
  /** As it arrived, when it did. */
  tracestate?: string;
  /** As it arrived, when it did. */
  baggage?: string;
}

/** The ids a traceparent names (what logs show as trace_id and span_id). */
export interface TraceIds {
  /** 32 lower-case hex characters. */
  traceId: string;
  /** 16 lower-case hex characters: the span that sent it (the receiver's parent). */
  spanId: string;
  /** Whether the sender recorded its span (flag 01). */
  sampled: boolean;
}

/** The ids in a traceparent, or undefined when it is not a valid one (then it is ignored, as W3C says). */
export function parseTraceparent(value: unknown): TraceIds | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const m = TRACEPARENT_FORMAT.exec(value);
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined) || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId: traceId!, spanId: spanId!, sampled: (parseInt(flags!, 16) & 1) === 1 };
}

function text(value: unknown, max: number): string | undefined {
  const v = Array.isArray(value) ? value.join(',') : value;
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

/**
 * The trace context in a header object (HTTP headers as node gives them, or UMF
 * `headers`), or undefined when it has no valid traceparent: tracestate and baggage
 * mean nothing without one.
 */
export function readCarrier(headers: Record<string, unknown> | undefined): TraceCarrier | undefined {
  const traceparent = headers?.[TRACEPARENT];
  if (parseTraceparent(traceparent) === undefined) return undefined;
  const carrier: TraceCarrier = { traceparent: traceparent as string };
  const state = text(headers![TRACESTATE], MAX_TRACESTATE);
  if (state) carrier.tracestate = state;
  const baggage = text(headers![BAGGAGE], MAX_BAGGAGE);
  if (baggage) carrier.baggage = baggage;
  return carrier;
}
