/**
 * Spans and trace context through `@opentelemetry/api`, an optional peer
 * dependency: it is required on first use, and a process without it (or with it
 * but no SDK registered) still carries context along.
 *
 * Tracing is on when the API is installed and an SDK registered a propagator
 * (NodeSDK and `provider.register()` register the W3C ones with a context
 * manager). Then hydra-ts makes spans and uses the API's context and propagators.
 * Otherwise it is off: no span is made, and a traceparent that arrived (HTTP
 * header, UMF `headers`) is kept as the current context while its request or
 * message is handled, so what the handler sends carries it on unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as OtelApi from '@opentelemetry/api';
import { parseTraceparent, readCarrier, TRACEPARENT, TRACE_HEADERS, type TraceCarrier } from './trace-context.js';

type Api = typeof OtelApi;

/** undefined: not tried yet; null: not installed. A cache of require, as require's own is. */
let loadedApi: Api | null | undefined;

function otelApi(): Api | null {
  if (loadedApi === undefined) {
    try {
      loadedApi = require('@opentelemetry/api') as Api;
    } catch {
      loadedApi = null;
    }
  }
  return loadedApi;
}

/** The API when tracing is on (see the module comment), else null. Cheap: a few property reads. */
function activeApi(): Api | null {
  const api = loadedApi === undefined ? otelApi() : loadedApi;
  return api && api.propagation.fields().length > 0 ? api : null;
}

/**
 * Context while tracing is off. Process-wide by nature, like the API's global context
 * manager: a handler of one service may call through another Hydra in the same process.
 * Created on the first traced arrival, so a process that never sees one pays nothing.
 */
let passThrough: AsyncLocalStorage<TraceCarrier> | undefined;

/** Whether hydra-ts makes spans now (the API is installed and an SDK registered). */
export function tracingOn(): boolean {
  return activeApi() !== null;
}

/** What a span is in the OpenTelemetry semantic conventions (the API's SpanKind, by name). */
export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
/** The API's SpanKind enum values. */
const KINDS: Record<SpanKindName, number> = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };
/** Attribute values a span takes. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** One span while tracing is on, with the context it is current in. */
export class Span {
  /** @internal made by Tracer.start / Tracer.startFrom */
  constructor(
    private readonly api: Api,
    /** The OpenTelemetry span itself (e.g. to rename it once the route is known). */
    readonly span: OtelApi.Span,
    /** The context in which this span is the current one. */
    readonly context: OtelApi.Context,
  ) {}

  /** Sets one attribute (undefined values are skipped). */
  set(key: string, value: string | number | boolean | undefined): this {
    if (value !== undefined) this.span.setAttribute(key, value);
    return this;
  }

  /** Marks the span failed, with the reason as its status message (and `error.type`). */
  fail(reason: string, errorType = 'error'): this {
    this.span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: reason });
    this.span.setAttribute('error.type', errorType);
    return this;
  }

  /** Ends the span (it is exported from then on). */
  end(): void {
    this.span.end();
  }

  /** Runs `fn` with this span as the current one (what it sends or calls becomes its child). */
  run<T>(fn: () => T): T {
    return this.api.context.with(this.context, fn);
  }

  /** Writes this span's context into `headers` (HTTP or UMF), replacing any there. */
  inject(headers: Record<string, unknown>): void {
    for (const name of TRACE_HEADERS) delete headers[name];
    this.api.propagation.inject(this.context, headers);
  }

  /** The W3C trace id of this span. */
  get traceId(): string {
    return this.span.spanContext().traceId;
  }

  /** The W3C span id of this span. */
  get spanId(): string {
    return this.span.spanContext().spanId;
  }
}

/**
 * Makes the spans of one instrumentation scope (a package: `@hydra-ts/core`,
 * `@hydra-ts/express`, `@hydra-ts/router`). Every method is cheap when tracing is off.
 */
export class Tracer {
  private tracer?: OtelApi.Tracer;

  /**
   * `own` goes on every span: which service instance made it (a process may host several,
   * so the SDK's resource cannot say); see instanceAttributes.
   */
  constructor(private readonly scope: string, private readonly own: SpanAttributes = {}) {}

  private otelTracer(api: Api): OtelApi.Tracer {
    return (this.tracer ??= api.trace.getTracer(this.scope));
  }

  /** A span that is a child of the current context; undefined when tracing is off. */
  start(name: string, kind: SpanKindName, attributes?: SpanAttributes): Span | undefined {
    const api = activeApi();
    if (!api) return undefined;
    return this.make(api, api.context.active(), name, kind, attributes);
  }

  /**
   * A span continuing the context that arrived in `headers` (HTTP or UMF), a new root
   * when they carry none; undefined when tracing is off.
   */
  startFrom(headers: Record<string, unknown> | undefined, name: string, kind: SpanKindName, attributes?: SpanAttributes): Span | undefined {
    const api = activeApi();
    if (!api) return undefined;
    const parent = headers ? api.propagation.extract(api.ROOT_CONTEXT, headers) : api.ROOT_CONTEXT;
    return this.make(api, parent, name, kind, attributes);
  }

  /**
   * A child of the current context or, when nothing is current (a reply sent after its
   * handler returned, from a timer or a queue of its own), of the context `headers`
   * carry; a new root without either. Undefined when tracing is off.
   */
  startContinuing(headers: Record<string, unknown> | undefined, name: string, kind: SpanKindName, attributes?: SpanAttributes): Span | undefined {
    const api = activeApi();
    if (!api) return undefined;
    const active = api.context.active();
    const parent = api.trace.getSpanContext(active) || !headers ? active : api.propagation.extract(active, headers);
    return this.make(api, parent, name, kind, attributes);
  }

  /** A child of `parent` (when there is none, tracing is off: undefined too). */
  startUnder(parent: Span | undefined, name: string, kind: SpanKindName, attributes?: SpanAttributes): Span | undefined {
    const api = parent && activeApi();
    if (!api) return undefined;
    return this.make(api, parent!.context, name, kind, attributes);
  }

  private make(api: Api, parent: OtelApi.Context, name: string, kind: SpanKindName, attributes?: SpanAttributes): Span {
    const span = this.otelTracer(api).startSpan(name, { kind: KINDS[kind], attributes: { ...this.own, ...attributes } as OtelApi.Attributes }, parent);
    return new Span(api, span, api.trace.setSpan(parent, span));
  }
}

/** The attributes naming the instance that makes a span: `hydra.service`, `hydra.instance.id`. */
export function instanceAttributes(serviceName: string, instanceId: string): SpanAttributes {
  return { 'hydra.service': serviceName, 'hydra.instance.id': instanceId };
}

/**
 * Handles something that arrived with `headers` (a request, a message): with its span
 * current when there is one, else, when the headers carry a traceparent, with that as
 * the context to carry on (tracing off). Without either, just runs `fn`.
 */
export function runArrived<T>(span: Span | undefined, headers: Record<string, unknown> | undefined, fn: () => T): T {
  if (span) return span.run(fn);
  const carrier = headers && readCarrier(headers);
  if (!carrier) return fn();
  passThrough ??= new AsyncLocalStorage<TraceCarrier>();
  return passThrough.run(carrier, fn);
}

/**
 * Writes the current trace context into `headers` of something about to leave (a
 * message, an HTTP call): a span's when given, else the active one's (tracing on), else
 * the one that arrived, unless the headers already carry a traceparent (off). Returns
 * whether anything was written.
 */
export function injectContext(headers: Record<string, unknown>, span?: Span): boolean {
  if (span) {
    span.inject(headers);
    return true;
  }
  const api = activeApi();
  if (api) {
    const ctx = api.context.active();
    if (!api.trace.getSpanContext(ctx)) return false;
    for (const name of TRACE_HEADERS) delete headers[name];
    api.propagation.inject(ctx, headers);
    return true;
  }
  // Off: context the caller put in the headers itself stays; otherwise the one that arrived goes on.
  const carrier = passThrough?.getStore();
  if (!carrier || headers[TRACEPARENT] !== undefined) return false;
  Object.assign(headers, carrier);
  return true;
}

/**
 * The context that arrived with what is being handled while tracing is off (see
 * runArrived), or undefined: what a message about to leave carries on.
 */
export function arrivedContext(): TraceCarrier | undefined {
  return passThrough?.getStore();
}

/** The current trace context as header values, or undefined when there is none. */
export function currentContext(): TraceCarrier | undefined {
  const headers: Record<string, unknown> = {};
  return injectContext(headers) ? (headers as TraceCarrier) : undefined;
}

/** What traceLogFields adds to a log line. */
export interface TraceLogFields {
  /** The trace's id (32 hex characters). */
  trace_id?: string;
  /** The current span's id (16 hex characters). */
  span_id?: string;
}


/**
 * `trace_id` and `span_id` of the current trace, for a log line (pino's `mixin`);
 * an empty object when there is none. The span is hydra-ts's own when tracing is on,
 * the caller's (from the traceparent that arrived) when it is off.
 */
export function traceLogFields(): TraceLogFields {
  const api = activeApi();
  if (api) {
    const sc = api.trace.getSpanContext(api.context.active());
    return sc && api.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
  }
  const carrier = passThrough?.getStore();
  const ids = carrier && parseTraceparent(carrier.traceparent);
  // A new object each time: pino merges the line's own fields into what its mixin returns.
  return ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}
