/**
 * HTTP calls between services (Hydra's makeAPIRequest) over pooled keep-alive
 * connections. A call goes to the named instance or the next present one; on
 * failure it moves to another instance only when that cannot run the request
 * twice: the connection was refused, or the method is idempotent. The answer is
 * always Hydra's envelope.
 */
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import type { Discovery } from './discovery.js';
import type { Instance } from './registry-reads.js';
import { envelope, envelopeWithReason, type Envelope } from './envelope.js';
import { errorMessage } from './errors.js';
import { IDEMPOTENT_METHODS, neverSent } from './retry-safety.js';
import { createMessage, parseRoute, type ParsedRoute, type UMFInput } from './umf.js';
import { timerMs } from './timer.js';
import { injectContext, Tracer, tracingOn, type Span } from './tracing.js';

export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/** An instance that refused a connection is passed over this long (its presence outlives its process by up to 3 s). */
const BENCH_AFTER_REFUSAL_MS = 3000;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
/**
 * A request target of visible ASCII only (RFC 9112 3.2). Anything else cannot be sent;
 * undici refuses it before connecting, which would look like a dead instance and
 * move the call to every other one.
 */
const REQUEST_TARGET = /^\/[\x21-\x7e]*$/;

/** Options of one makeAPIRequest call. */
export interface ApiRequestOptions {
  /** Overrides the message's `timeout` (seconds); default 30 s; clamped to MAX_TIMEOUT_MS (timer.ts). */
  timeoutMs?: number;
  /**
   * A non-JSON answer's `result` is a Buffer of its exact bytes instead of its text (the
   * hydra compat package hands it out as Hydra's `payLoad`, which binary answers need).
   */
  bytes?: boolean;
  /**
   * Asked once the call is valid, before an instance is chosen (`path` without the query):
   * an answer refuses the call with its status and reason. The router uses it to keep calls
   * to the routes a service registered.
   */
  refuse?: (
    serviceName: string,
    method: string,
    path: string,
  ) =>
    | {
        /** The status answered. */
        status: number;
        /** The envelope's `result.reason`. */
        reason: string;
      }
    | undefined;
}

/**
 * Where the client finds instances: a Discovery, or anything answering the same two
 * questions (the hydra compat package's test mode answers them for its one instance).
 */
export type InstanceSource = Pick<Discovery, 'get' | 'pick' | 'ready'>;

/**
 * HTTP calls to live instances over pooled keep-alive connections (Hydra's
 * makeAPIRequest). A Hydra instance holds one; use `hydra.makeAPIRequest`.
 */
export class ApiClient {
  private readonly agent: Agent;
  /** instanceID → time until which it is passed over after refusing a connection. */
  private readonly benched = new Map<string, number>();

  /**
   * `refusal` names why an instance may not be called (e.g. a router refusing its own
   * address or the Redis server's as an upstream); such instances are passed over.
   */
  constructor(private readonly discovery: InstanceSource, private readonly refusal?: (instance: Instance) => string | undefined, private readonly tracer = new Tracer('@hydra-ts/core')) {
    this.agent = new Agent({ keepAliveTimeout: 10_000, connections: 64, pipelining: 1 });
  }

  /**
   * Calls the route in `input.to` (`svc:[get]/v1/x`) and answers Hydra's envelope, never
   * throws: a bad route is 400, no instance 503, a non-idempotent call that failed after
   * reaching an instance 502 (504 on timeout).
   */
  async request(input: UMFInput, options: ApiRequestOptions = {}): Promise<Envelope> {
    let message;
    let route;
    try {
      message = createMessage(input);
      route = parseRoute(message.to);
    } catch (err) {
      return envelopeWithReason(400, errorMessage(err));
    }
    if (!route.httpMethod) return envelopeWithReason(400, 'HTTP method not specified in `to` field');
    if (!route.apiRoute.startsWith('/')) return envelopeWithReason(400, 'message `to` field does not specify a valid route');
    if (!REQUEST_TARGET.test(route.apiRoute)) {
      return envelopeWithReason(400, `path ${JSON.stringify(route.apiRoute)} is not a valid HTTP request path: percent-encode spaces, control and non-ASCII characters (a space is %20)`);
    }

    const method = route.httpMethod.toUpperCase();
    const refused = options.refuse?.(route.serviceName, method, route.apiRoute.replace(/[?#].*$/, ''));
    if (refused) return envelopeWithReason(refused.status, refused.reason);
    const timeoutMs = timerMs(options.timeoutMs ?? (message.timeout ? message.timeout * 1000 : DEFAULT_HTTP_TIMEOUT_MS));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = String(v);
    if (message.authorization) headers.authorization = message.authorization;
    const body = WITH_BODY.has(method) ? JSON.stringify(message.body) : undefined;
    if (body !== undefined) headers['content-type'] = 'application/json';
    // An HTTP client span (semantic conventions: named by the method); the instance answers as its child.
    const span = !tracingOn() ? undefined : this.tracer.start(method, 'client', { 'http.request.method': method, 'url.path': route.apiRoute.replace(/[?#].*$/, ''), 'hydra.target.service': route.serviceName });
    injectContext(headers, span);
    const asBytes = options.bytes === true;
    if (!span) return this.attempts(route, method, headers, body, timeoutMs, asBytes);
    try {
      const answer = await this.attempts(route, method, headers, body, timeoutMs, asBytes, span);
      span.set('http.response.status_code', answer.statusCode);
      if (answer.statusCode >= 500) span.fail(`answered ${answer.statusCode}`, String(answer.statusCode));
      return answer;
    } finally {
      span.end();
    }
  }

  /** Tries instances until one answers, or none may be tried (see the module comment). */
  private async attempts(route: ParsedRoute, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number, asBytes: boolean, span?: Span): Promise<Envelope> {
    await this.discovery.ready(route.serviceName);
    const tried = new Set<string>();
    let lastError = '';
    for (;;) {
      const instance: Instance | undefined = route.instance
        ? tried.size === 0 ? this.discovery.get(route.serviceName, route.instance) : undefined
        : this.choose(route.serviceName, tried);
      if (!instance) {
        if (tried.size === 0) {
          const what = route.instance ? `${route.serviceName} instance ${route.instance}` : `${route.serviceName} instances`;
          return envelopeWithReason(503, `Unavailable ${what}`);
        }
        return envelopeWithReason(503, `An instance of ${route.serviceName} is unavailable: ${lastError}`);
      }
      tried.add(instance.instanceID);
      span?.set('server.address', instance.ip).set('server.port', instance.port).set('http.request.resend_count', tried.size > 1 ? tried.size - 1 : undefined);
      const refused = this.refusal?.(instance);
      if (refused) {
        lastError = `instance ${instance.instanceID} refused as an upstream: ${refused}`;
        continue;
      }
      try {
        return await this.call(instance, method, route.apiRoute, headers, body, timeoutMs, asBytes);
      } catch (err) {
        lastError = errorMessage(err);
        const refused = neverSent(err);
        if (refused) this.benched.set(instance.instanceID, Date.now() + BENCH_AFTER_REFUSAL_MS);
        if (!refused && !IDEMPOTENT_METHODS.has(method)) {
          const status = err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError ? 504 : 502;
          return envelopeWithReason(status, `${method} ${route.apiRoute} on ${route.serviceName} ${instance.instanceID} failed and was not retried (not idempotent): ${lastError}`);
        }
      }
    }
  }

  /** The next instance not yet tried, preferring those that have not refused a connection lately. */
  private choose(serviceName: string, tried: ReadonlySet<string>): Instance | undefined {
    const now = Date.now();
    const avoid = new Set(tried);
    for (const [id, until] of this.benched) {
      if (until < now) this.benched.delete(id);
      else avoid.add(id);
    }
    return this.discovery.pick(serviceName, avoid) ?? this.discovery.pick(serviceName, tried);
  }

  private async call(instance: Instance, method: string, path: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number, asBytes: boolean): Promise<Envelope> {
    const res = await this.agent.request({
      origin: `http://${instance.ip.includes(':') ? `[${instance.ip}]` : instance.ip}:${instance.port}`,
      path,
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const bytes = asBytes ? Buffer.from(await res.body.arrayBuffer()) : undefined;
    const text = bytes ? bytes.toString('utf8') : await res.body.text();
    const type = String(res.headers['content-type'] ?? '');
    const base = { headers: res.headers };
    if (type.includes('json') && text) {
      try {
        const parsed = JSON.parse(text) as unknown;
        // Hydra merges a JSON answer (usually already an envelope) over the envelope defaults.
        const fields = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : { result: parsed };
        return envelope(res.statusCode, { ...base, ...fields, statusCode: res.statusCode });
      } catch {
        // fall through: answered as text below
      }
    }
    return envelope(res.statusCode, { ...base, result: bytes ?? text });
  }

  /** Closes the connection pools. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}
