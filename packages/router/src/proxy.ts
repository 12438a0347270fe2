/**
 * Passing one HTTP request to an instance and its response back, both bodies
 * streamed (with back-pressure) over the instance's keep-alive pool.
 *
 * When an attempt fails before any response byte came back, another instance
 * is tried only if that cannot run the request twice: the connection was never
 * established (refused, unreachable, connect timeout), or the method is
 * idempotent and there is no body. A POST whose connection broke is answered
 * 502, never replayed. An instance refusing connections leaves the rotation;
 * one failing answers in a row is ejected as an outlier (upstreams.ts).
 *
 * When an instance's presence expires while it holds a request (it stopped
 * heartbeating: dead or hung), the attempt is abandoned at once and treated like
 * a broken connection: tried again elsewhere when safe, otherwise answered 504,
 * instead of waiting out requestTimeout.
 */
import type { IncomingMessage, ServerResponse, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Logger } from '@hydra-ts/core';
import { errorMessage, IDEMPOTENT_METHODS, neverSent, TRACE_HEADERS, type Span, type Tracer } from '@hydra-ts/core';
import type { InFlight, Upstream, Upstreams } from './upstreams.js';
import type { RouterSettings } from './settings.js';
import { REQUEST_ID, sendReason, type AnswerContext } from './respond.js';
import { JsonWrap, mayWrap } from './json-wrap.js';
import { HOP_BY_HOP, connectionNamed } from './headers.js';

/** The pool was closed between choosing it and using it (the instance just went down): nothing was sent. */
const POOL_GONE = new Set(['UND_ERR_DESTROYED', 'UND_ERR_CLOSED']);

/** How a proxied request failed at its instance: connection refused, pool gone, timeout, body too large, reset, or the instance's presence lost mid-request. */
export type FailureKind = 'refused' | 'gone' | 'timeout' | 'too-large' | 'reset' | 'lost';

/** Who learns how each proxied request ended (the router: stats, metrics, access log). */
export interface ProxyObserver {
  /** Once per request, when its answer is complete (or abandoned: 499). */
  proxied(call: ProxyCall, status: number, instanceId: string | undefined): void;
  /** When an instance failed the request (counted per kind in /metrics). */
  upstreamFailed(call: ProxyCall, kind: FailureKind): void;
}

export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`request body exceeds the router's limit of ${limit} bytes`);
  }
}

/**
 * The client's body as an async iterable that counts bytes against the limit
 * and notes whether it was started. Handing undici an iterable rather than the
 * request stream matters: undici destroys a stream body when an attempt fails,
 * which would kill the client's connection before it could be answered.
 */
class ClientBody {
  started = false;
  tooLarge = false;

  constructor(private readonly req: IncomingMessage, private readonly limit: number) {}

  async *chunks(): AsyncGenerator<Buffer> {
    this.started = true;
    let seen = 0;
    for await (const chunk of this.req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > this.limit) {
        this.tooLarge = true;
        throw new BodyTooLarge(this.limit);
      }
      yield chunk;
    }
  }
}

/** The instance's presence expired while it held the request (see Upstreams.remove). */
export class InstanceLost extends Error {
  constructor(instanceId: string) {
    super(`instance ${instanceId} stopped heartbeating (its presence expired) while the request was in flight`);
  }
}

function failureKind(err: unknown): FailureKind {
  if (err instanceof BodyTooLarge) return 'too-large';
  if (err instanceof InstanceLost) return 'lost';
  if (neverSent(err)) return 'refused';
  const code = (err as { code?: string }).code ?? '';
  if (POOL_GONE.has(code)) return 'gone';
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout';
  return 'reset';
}

function uncork(res: ServerResponse): void {
  res.uncork();
}

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** The headers forwardHeaders writes itself (from the client's, when it sent them). */
const SET_HERE = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', REQUEST_ID, 'via']);
/** With a span, the trace context the instance sees is the span's, not the client's. */
const TRACE_SET_HERE = new Set([...SET_HERE, ...TRACE_HEADERS]);

/**
 * The headers an instance sees: the client's, minus hop-by-hop ones, plus X-Forwarded-*,
 * the request id and Via. As undici's flat [name, value, ...] list: it reads that by index,
 * where an object costs a megamorphic lookup per name (twice, in Object.keys order) and a
 * new hidden class per header set.
 */
export function forwardHeaders(req: IncomingMessage, requestId: string, via: string, span?: Span): string[] {
  const out: string[] = [];
  const h = req.headers;
  const named = connectionNamed(h.connection);
  const setHere = span ? TRACE_SET_HERE : SET_HERE;
  for (const name in h) {
    const value = h[name];
    if (value === undefined || HOP_BY_HOP.has(name) || setHere.has(name) || named?.has(name)) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v); // set-cookie: one line each, as undici sends an array
  }
  const remote = req.socket.remoteAddress ?? '';
  const prior = h['x-forwarded-for'];
  out.push('x-forwarded-for', prior ? `${prior}, ${remote}` : remote);
  out.push('x-forwarded-proto', (h['x-forwarded-proto'] as string | undefined) ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'));
  const host = (h['x-forwarded-host'] as string | undefined) ?? h.host;
  // The client's own X-Forwarded-Host goes on even when empty; an empty Host adds none.
  if (host || h['x-forwarded-host'] !== undefined) out.push('x-forwarded-host', host!);
  out.push(REQUEST_ID, requestId);
  const priorVia = h.via;
  out.push('via', priorVia ? `${priorVia}, ${via}` : via);
  if (span) {
    const trace: Record<string, string> = {};
    span.inject(trace);
    for (const name in trace) out.push(name, trace[name]!);
  }
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders, ctx: AnswerContext): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...ctx.cors };
  const named = connectionNamed(headers.connection);
  for (const name in headers) if (!HOP_BY_HOP.has(name) && !named?.has(name)) out[name] = headers[name];
  out[REQUEST_ID] = ctx.requestId;
  return out;
}

export interface ProxyRequest {
  /** The router's Via entry, appended to the client's (loop detection). */
  via: string;
  req: IncomingMessage;
  res: ServerResponse;
  serviceName: string;
  /** Path and query as the instance should see them. */
  path: string;
  ctx: AnswerContext;
  /** performance.now() when the request arrived. */
  started: number;
  /** The router's server span of this request (tracing on). */
  span?: Span;
}

const clientClosed = () => new Error('client closed the connection');

/** The call a response belongs to, so one shared 'close' listener serves every request (no closure each). */
const CALL = Symbol('hydra-router proxy call');

function onClientClose(this: ServerResponse & { [CALL]?: ProxyCall }): void {
  this[CALL]?.clientClosed();
}

/**
 * One request's journey through one or more attempts. The call is its own
 * undici handler (attempts are sequential, an error ends one before the next
 * starts), so a request allocates no closures on the fast path.
 */
export class ProxyCall implements Dispatcher.DispatchHandler, InFlight {
  readonly method: string;
  inFlightSlot = -1;
  private readonly tried = new Set<Upstream>();
  private readonly headers: string[];
  private readonly body?: ClientBody;
  private clientGone = false;
  private finished = false;
  /** The attempt in progress. */
  private upstream?: Upstream;
  private controller?: Dispatcher.DispatchController;
  private responded = false;
  /** Set when the attempt's instance was lost before undici handed us its controller. */
  private lostError?: InstanceLost;
  /** With wrapResponses: the answer held until it is known whether it gets wrapped. */
  private wrap?: { body: JsonWrap; statusCode: number; statusMessage?: string; headers: IncomingHttpHeaders };
  /** The HTTP client span of the call to the instance, all attempts (tracing on). */
  private readonly clientSpan?: Span;

  constructor(
    readonly r: ProxyRequest,
    private readonly upstreams: Upstreams,
    private readonly settings: RouterSettings,
    private readonly observer: ProxyObserver,
    private readonly logger: Logger,
    tracer: Tracer,
  ) {
    this.method = r.req.method ?? 'GET';
    this.clientSpan = r.span && tracer.startUnder(r.span, this.method, 'client', { 'http.request.method': this.method, 'url.path': r.path.replace(/[?#].*$/, ''), 'hydra.target.service': r.serviceName });
    this.headers = forwardHeaders(r.req, r.ctx.requestId, r.via, this.clientSpan);
    if (hasBody(r.req)) this.body = new ClientBody(r.req, settings.bodyLimitBytes);
    (r.res as ServerResponse & { [CALL]?: ProxyCall })[CALL] = this;
    r.res.on('close', onClientClose);
  }

  /** InFlight: the instance of the current attempt stopped heartbeating; abandon the attempt. */
  lost(upstream: Upstream): void {
    if (upstream !== this.upstream) return;
    const err = new InstanceLost(upstream.instanceId);
    if (this.controller) this.controller.abort(err);
    else this.lostError = err;
  }

  /** The client's connection closed: before the answer was complete, the attempt is abandoned (499). */
  clientClosed(): void {
    if (this.r.res.writableFinished) return;
    this.clientGone = true;
    this.controller?.abort(clientClosed());
    this.finish(499);
  }

  start(): void {
    const declared = Number(this.r.req.headers['content-length'] ?? 0);
    if (declared > this.settings.bodyLimitBytes) {
      // Reading a body declared too large only to drop it would be work for nothing: close instead.
      this.answerTooLarge(true);
      return;
    }
    this.attempt(undefined);
  }

  /**
   * A chunked body found too large midway: node's server discards the rest (bounded by its
   * requestTimeout) and the client, still sending, can read the 413 instead of a broken pipe.
   */
  private answerTooLarge(close = false): void {
    sendReason(this.r.res, 413, `request body is larger than the router's limit of ${this.settings.bodyLimitBytes} bytes (config field bodyLimit)`, this.r.ctx, close ? { connection: 'close' } : undefined);
    this.finish(413);
  }

  private attempt(lastError: string | undefined): void {
    const { serviceName } = this.r;
    const upstream = this.tried.size < this.settings.maxAttempts ? this.upstreams.choose(serviceName, this.tried) : undefined;
    if (!upstream) {
      const reason = this.tried.size === 0
        ? `Unavailable ${serviceName} instances: no live instance is registered; start one or check that its heartbeat reaches Redis`
        : `Unavailable ${serviceName} instances: ${this.tried.size} tried, last error: ${lastError}`;
      sendReason(this.r.res, 503, reason, this.r.ctx);
      this.finish(503);
      return;
    }
    this.tried.add(upstream);
    this.clientSpan?.set('server.address', upstream.instance.ip).set('server.port', upstream.instance.port).set('http.request.resend_count', this.tried.size > 1 ? this.tried.size - 1 : undefined);
    upstream.inFlight.add(this);
    this.upstream = upstream;
    this.responded = false;
    this.controller = undefined;
    this.lostError = undefined;
    upstream.pool.dispatch(
      {
        path: this.r.path,
        method: this.method as Dispatcher.HttpMethod,
        headers: this.headers,
        // undici takes async iterables as bodies (core/request.js) though its types list only streams.
        body: this.body ? (this.body.chunks() as unknown as Readable) : undefined,
      },
      this,
    );
  }

  /** The attempt is over (answered or failed): the instance has one request less in flight. */
  private settle(): Upstream | undefined {
    const upstream = this.upstream;
    if (upstream) {
      upstream.inFlight.delete(this);
      this.upstream = undefined;
    }
    return upstream;
  }

  // --- undici's handler interface (one attempt) -----------------------------------

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(clientClosed());
    else if (this.lostError) controller.abort(this.lostError);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.responded = true;
    if (statusCode >= 500) this.upstreams.failed(this.upstream!, `answered ${statusCode}`);
    else this.upstream!.succeeded();
    this.controller = controller;
    if (this.settings.wrapResponses && mayWrap(this.method, statusCode, headers)) {
      this.wrap = { body: new JsonWrap(), statusCode, statusMessage, headers };
      return;
    }
    this.writeHead(statusCode, statusMessage, responseHeaders(headers, this.r.ctx));
  }

  private writeHead(statusCode: number, statusMessage: string | undefined, headers: OutgoingHttpHeaders): void {
    const res = this.r.res;
    res.writeHead(statusCode, statusMessage || undefined, headers);
    // A small response arrives whole in one parse: corked, head, body and end leave in one write.
    res.cork();
    process.nextTick(uncork, res);
  }

  /** The held answer needs no wrapping after all: it goes out as it came, and streams on. */
  private unwrap(): void {
    const { body, statusCode, statusMessage, headers } = this.wrap!;
    this.wrap = undefined;
    this.writeHead(statusCode, statusMessage, responseHeaders(headers, this.r.ctx));
    for (const chunk of body.chunks) this.r.res.write(chunk);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.wrap) {
      if (this.wrap.body.add(chunk)) return;
      this.unwrap();
      return;
    }
    if (!this.r.res.write(chunk)) {
      controller.pause();
      this.r.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    const upstream = this.settle();
    const wrapped = this.wrap?.body.wrapped(this.wrap.statusCode);
    if (wrapped !== undefined) {
      const { statusCode, statusMessage, headers } = this.wrap!;
      this.wrap = undefined;
      const out = responseHeaders(headers, this.r.ctx);
      out['content-length'] = Buffer.byteLength(wrapped);
      this.writeHead(statusCode, statusMessage, out);
      this.r.res.end(wrapped);
      this.finish(statusCode, upstream?.instanceId);
      return;
    }
    if (this.wrap) this.unwrap();
    this.r.res.end();
    this.finish(this.r.res.statusCode, upstream?.instanceId);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const upstream = this.settle();
    if (this.clientGone || !upstream) return;
    if (this.responded) {
      // Part of the response is out: all we can do is cut it, so the client sees it incomplete.
      this.logger.warn({ reqId: this.r.ctx.requestId, upstreamService: this.r.serviceName, upstreamInstance: upstream.instanceId, err: errorMessage(err) }, 'upstream failed mid-response');
      this.observer.upstreamFailed(this, 'reset');
      this.r.res.destroy();
      this.finish(502, upstream.instanceId);
      return;
    }
    this.failed(upstream, err);
  }

  // --- after a failed attempt ------------------------------------------------------

  private failed(upstream: Upstream, err: unknown): void {
    const kind = failureKind(err);
    const message = errorMessage(err);
    this.observer.upstreamFailed(this, kind);
    if (kind === 'too-large' || this.body?.tooLarge) {
      this.answerTooLarge();
      return;
    }
    if (kind === 'refused') this.upstreams.refused(upstream, message);
    else if (kind === 'timeout' || kind === 'reset') this.upstreams.failed(upstream, message);
    const neverSent = (kind === 'refused' || kind === 'gone') && !this.body?.started;
    const replayable = (kind === 'reset' || kind === 'lost') && IDEMPOTENT_METHODS.has(this.method) && !this.body;
    if (neverSent || replayable) {
      this.logger.debug({ reqId: this.r.ctx.requestId, upstreamService: this.r.serviceName, upstreamInstance: upstream.instanceId, err: message }, 'trying another instance');
      this.attempt(`${upstream.instanceId}: ${message}`);
      return;
    }
    const { serviceName } = this.r;
    if (kind === 'timeout') {
      sendReason(this.r.res, 504, `${serviceName} instance ${upstream.instanceId} sent no response within ${this.settings.requestTimeoutMs} ms (config field requestTimeout, seconds)`, this.r.ctx);
      this.finish(504, upstream.instanceId);
      return;
    }
    const why = IDEMPOTENT_METHODS.has(this.method) ? 'its body was already sent' : `${this.method} is not idempotent`;
    if (kind === 'lost') {
      sendReason(this.r.res, 504, `${this.method} to ${serviceName}: ${message}; not retried: ${why}, so it may have been processed`, this.r.ctx);
      this.finish(504, upstream.instanceId);
      return;
    }
    sendReason(this.r.res, 502, `${this.method} to ${serviceName} instance ${upstream.instanceId} failed (${message}) and was not retried: ${why}, so it may have been processed`, this.r.ctx);
    this.finish(502, upstream.instanceId);
  }

  private finish(status: number, instanceId?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.r.span) this.endSpans(status, instanceId);
    this.observer.proxied(this, status, instanceId);
  }

  private endSpans(status: number, instanceId: string | undefined): void {
    for (const span of [this.clientSpan, this.r.span]) {
      span?.set('http.response.status_code', status);
      if (status >= 500) span?.fail(`answered ${status}`, String(status));
    }
    this.clientSpan?.set('hydra.target.instance', instanceId).end();
    this.r.span!.end();
  }
}
