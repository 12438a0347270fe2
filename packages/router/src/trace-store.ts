/**
 * The traces the dashboard shows: the last MAX_TRACES traces whose spans reached the
 * routers (see trace-sharing.ts), each summarised as its route, duration and spans per
 * service. Trace ids come from whoever posts spans, so the store is bounded in traces,
 * spans per trace and text per span, and the trace least recently added to goes first.
 */

/** Traces kept. */
export const MAX_TRACES = 50;
/** Spans kept of one trace; more are counted, not kept. */
export const MAX_SPANS_PER_TRACE = 500;
/** Longest name (span, service, instance) kept, in characters. */
export const MAX_SPAN_TEXT = 200;

/** What the routers keep of one span. */
export interface SpanRecord {
  /** W3C trace id (32 hex characters). */
  traceId: string;
  /** W3C span id (16 hex characters). */
  spanId: string;
  /** The parent span's id; absent for a root. */
  parentId?: string;
  /** The span's name (`GET /v1/hpp/startgame`, `send hpp-service`). */
  name: string;
  /** The service that made it (`hydra.service`, else the resource's `service.name`). */
  service: string;
  /** The instance that made it (`hydra.instance.id`), when the span names one. */
  instance?: string;
  /** Start, ms since the epoch. */
  startMs: number;
  /** Duration in ms. */
  durationMs: number;
  /** The span's status is an error. */
  error: boolean;
}

/** The spans one service contributed to a trace. */
export interface TraceServiceCount {
  /** Service name. */
  service: string;
  /** Its spans in the trace. */
  spans: number;
  /** How many of its instances made them. */
  instances: number;
}

/** A trace as the dashboard lists it. */
export interface TraceSummary {
  /** W3C trace id. */
  traceId: string;
  /** The root span's name: the route of a request, or the first message. */
  route: string;
  /** The service of the root span. */
  rootService: string;
  /** Start of the earliest span (ISO 8601). */
  startedAt: string;
  /** From the earliest start to the latest end, ms. */
  durationMs: number;
  /** Spans seen (kept and dropped). */
  spans: number;
  /** Spans over MAX_SPANS_PER_TRACE, counted but not kept. */
  droppedSpans: number;
  /** Spans whose status is an error. */
  errors: number;
  /** Per service, most spans first. */
  services: TraceServiceCount[];
}

interface Trace {
  spans: SpanRecord[];
  ids: Set<string>;
  dropped: number;
}

const isText = (v: unknown, max = MAX_SPAN_TEXT): v is string => typeof v === 'string' && v.length <= max;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Whether `v` is a span record as trace-sharing.ts publishes them (another client of Redis may publish anything). */
export function isSpanRecord(v: unknown): v is SpanRecord {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return (
    isText(r.traceId, 32) && /^[0-9a-f]{32}$/.test(r.traceId) && isText(r.spanId, 16) && /^[0-9a-f]{16}$/.test(r.spanId) &&
    (r.parentId === undefined || (isText(r.parentId, 16) && /^[0-9a-f]{16}$/.test(r.parentId))) &&
    isText(r.name) && isText(r.service) && (r.instance === undefined || isText(r.instance)) &&
    isTime(r.startMs) && isTime(r.durationMs) && typeof r.error === 'boolean'
  );
}

/** The last traces, bounded (see the module comment). */
export class TraceStore {
  /** In order of the last span added: Map iteration order, oldest first. */
  private readonly traces = new Map<string, Trace>();

  /** Adds spans to their traces (a trace seen first is added; the oldest beyond MAX_TRACES goes). */
  add(spans: Iterable<SpanRecord>): void {
    for (const span of spans) {
      let trace = this.traces.get(span.traceId);
      if (trace) this.traces.delete(span.traceId);
      else trace = { spans: [], ids: new Set(), dropped: 0 };
      this.traces.set(span.traceId, trace);
      // Exporters retry a batch they think failed: the same span twice counts once.
      if (!trace.ids.has(span.spanId)) {
        if (trace.spans.length < MAX_SPANS_PER_TRACE) {
          trace.spans.push(span);
          trace.ids.add(span.spanId);
        } else {
          trace.dropped++;
        }
      }
      if (this.traces.size > MAX_TRACES) this.traces.delete(this.traces.keys().next().value!);
    }
  }

  /** Traces kept. */
  get size(): number {
    return this.traces.size;
  }

  /** The traces, the one most recently added to first. */
  list(limit = MAX_TRACES): TraceSummary[] {
    return [...this.traces].reverse().slice(0, limit).map(([traceId, trace]) => summarise(traceId, trace));
  }

  /** The kept spans of one trace in start order, or undefined when it is not (or no longer) kept. */
  spans(traceId: string): SpanRecord[] | undefined {
    return this.traces.get(traceId)?.spans.slice().sort((a, b) => a.startMs - b.startMs);
  }
}

function summarise(traceId: string, trace: Trace): TraceSummary {
  const { spans, ids } = trace;
  // The root: the earliest span whose parent is not in the trace (a client's own traceparent
  // names a parent no router saw).
  const tops = spans.filter((s) => s.parentId === undefined || !ids.has(s.parentId));
  const root = (tops.length ? tops : spans).reduce((a, b) => (b.startMs < a.startMs ? b : a));
  const start = Math.min(...spans.map((s) => s.startMs));
  const end = Math.max(...spans.map((s) => s.startMs + s.durationMs));
  const perService = new Map<string, { spans: number; instances: Set<string> }>();
  for (const s of spans) {
    let entry = perService.get(s.service);
    if (!entry) perService.set(s.service, (entry = { spans: 0, instances: new Set() }));
    entry.spans++;
    if (s.instance) entry.instances.add(s.instance);
  }
  return {
    traceId,
    route: root.name,
    rootService: root.service,
    startedAt: new Date(start).toISOString(),
    durationMs: Math.round((end - start) * 10) / 10,
    spans: spans.length + trace.dropped,
    droppedSpans: trace.dropped,
    errors: spans.filter((s) => s.error).length,
    services: [...perService]
      .map(([service, e]) => ({ service, spans: e.spans, instances: e.instances.size }))
      .sort((a, b) => b.spans - a.spans || a.service.localeCompare(b.service)),
  };
}
