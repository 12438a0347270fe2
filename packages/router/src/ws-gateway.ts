/**
 * WebSocket messaging as hydra-router's clients know it: short-form UMF both
 * ways, a `connection` message with the client id, ping → pong, messages to
 * `svc:/...` relayed with `via = <routerId>-<clientId>@hydra-router:/` so the
 * service's reply (sent to `via`) comes back to this router and socket.
 *
 * A reply for a client this router does not hold (it reconnected elsewhere, or
 * is away) goes to the client's queue in Redis, and every router is told; the
 * one holding the client hands the queue over. A client that comes back says
 * `{typ:"reconnect", bdy:{id, secret}}` (hydra-router's message, plus the secret) or
 * connects with `?id=<id>&secret=<secret>`, and gets what was kept; the id alone is
 * public and resumes nothing (see client-secrets.ts). Malformed frames get an error frame
 * naming the problem and the connection stays open.
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import {
  channels, createMessage, envelopeWithReason, errorMessage, isInstanceId, parseMessage, parseRoute, runArrived, toShort, tracingOn, verify,
  type ApiRequestOptions, type Hydra, type Logger, type ShortUMFMessage, type Tracer, type UMFMessage,
} from '@hydra-ts/core';
import type { ClientQueue } from './client-queue.js';
import type { RouterSettings } from './settings.js';
import type { PerSecondStats } from './stats.js';
import type { RouterMetrics } from './metrics.js';
import type { RouterToken } from './router-token.js';
import type { ClientSecrets } from './client-secrets.js';
import type { TrustedProxies } from './trusted-proxies.js';
import { duplicateHost } from './headers.js';
import { WsLimits } from './ws-limits.js';

/** Router-to-router notice: "a client's queue has messages; whoever holds the client, hand them over". */
export const DELIVER_TYPE = 'ws.deliver';

const newClientId = () => randomBytes(16).toString('hex');

const NO_RESUME = 'could not resume the client named by ?id=: add ?secret=<the secret from that client\'s connection message>; connected as a new client';

export interface WsGatewayDeps {
  hydra: Hydra;
  settings: RouterSettings;
  token: RouterToken;
  secrets: ClientSecrets;
  proxies: TrustedProxies;
  queue: ClientQueue;
  wsStats: PerSecondStats;
  errorStats: PerSecondStats;
  metrics: RouterMetrics;
  logger: Logger;
  /** How an HTTP call a message names is made (timeout, registered routes only); router.ts. */
  callOptions: ApiRequestOptions;
  /** The router's spans (a frame's processing). */
  tracer: Tracer;
  /** The router API read from a socket: `hydra-router:[get]/v1/router/<name>` (api.ts readForSocket). */
  routerApi: (apiRoute: string) => Promise<unknown>;
}

export class WsGateway {
  private readonly wss: WebSocketServer;
  private readonly limits: WsLimits;
  private readonly clients = new Map<string, WebSocket>();
  private readonly ids = new WeakMap<WebSocket, string>();
  /** The address each socket connects from (its greeting says it again after a reconnect). */
  private readonly ips = new WeakMap<WebSocket, string>();
  private readonly self: string;

  constructor(private readonly d: WsGatewayDeps) {
    this.self = `${d.hydra.instanceId}@${d.hydra.serviceName}:/`;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: d.settings.wsMaxPayload });
    this.limits = new WsLimits(d.settings);
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      if (duplicateHost(req.rawHeaders)) return refuseUpgrade(socket, 400, 'the request has more than one Host header; send exactly one (RFC 9112 3.2)');
      if (!this.d.token.admits(req)) {
        return refuseUpgrade(socket, 401, 'this router needs the router token for WebSocket connections: add ?token=<routerToken> or an "Authorization: Bearer <routerToken>" header', 'WWW-Authenticate: Bearer\r\n');
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req, socket));
    });
  }

  /** Number of connected clients (dashboard, metrics). */
  get size(): number {
    return this.clients.size;
  }

  private onConnection(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    const query = new URL(req.url ?? '/', 'http://router').searchParams;
    const asked = query.get('id');
    const resumes = asked !== null && isInstanceId(asked) && this.d.secrets.verify(asked, query.get('secret'));
    const ip = this.d.proxies.clientAddress(req);
    this.ips.set(ws, ip);
    this.limits.track(ws, socket);
    ws.on('message', (data, isBinary) => {
      if (this.limits.admit(ws, socket)) void this.onFrame(ws, data, isBinary);
    });
    ws.on('close', () => this.unbind(ws));
    ws.on('error', (err) => this.d.logger.debug({ client: this.ids.get(ws), err: errorMessage(err) }, 'WebSocket error'));
    void this.bind(ws, resumes ? asked : newClientId(), asked === null || resumes ? undefined : NO_RESUME);
  }

  /** Makes `ws` the socket of client `id`, greets it (with its secret) and hands over anything kept for it. */
  private async bind(ws: WebSocket, id: string, problem?: string): Promise<void> {
    const previous = this.clients.get(id);
    if (previous && previous !== ws) previous.close(4000, 'the client reconnected on another socket');
    this.clients.set(id, ws);
    this.ids.set(ws, id);
    const body = { id, ip: this.ips.get(ws) ?? 'unknown', secret: this.d.secrets.issue(id) };
    this.sendTo(ws, { to: `${id}@client:/`, from: this.self, type: 'connection', body });
    if (problem) this.sendError(ws, problem);
    await this.handOver(id);
  }

  private unbind(ws: WebSocket): void {
    const id = this.ids.get(ws);
    if (id && this.clients.get(id) === ws) this.clients.delete(id);
  }

  /**
   * Every frame to a client goes out here. False when the socket is not open, or when the
   * client has left too much unread (it is closed for it: ws-limits.ts); a caller holding a
   * message for the client then keeps it in the client's queue.
   */
  private send(ws: WebSocket, text: string): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    const backlogged = this.limits.backlogged(ws);
    if (backlogged) {
      this.d.logger.warn({ client: this.ids.get(ws), queuedBytes: ws.bufferedAmount }, `closed a WebSocket client with 1008: ${backlogged}`);
      return false;
    }
    ws.send(text);
    this.d.metrics.ws('out');
    return true;
  }

  private sendTo(ws: WebSocket, input: Parameters<typeof createMessage>[0]): boolean {
    return this.send(ws, JSON.stringify(toShort(createMessage(input))));
  }

  /**
   * A reply whose `bdy` is anything JSON (a list, a text), as hydra-router sends them;
   * createMessage checks bodies are objects, so the body goes into the short form after it.
   */
  private sendAny(ws: WebSocket, input: Omit<Parameters<typeof createMessage>[0], 'body'>, body: unknown): boolean {
    return this.send(ws, JSON.stringify({ ...toShort(createMessage({ ...input, body: {} })), bdy: body }));
  }

  private sendError(ws: WebSocket, problem: string, original?: UMFMessage): void {
    this.sendTo(ws, { to: original?.from ?? 'client:/', from: this.self, type: 'error', rmid: original?.mid, body: { error: problem } });
  }

  private async onFrame(ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    this.d.metrics.ws('in');
    if (isBinary) {
      this.sendError(ws, 'binary frames are not accepted: send a UMF message as JSON text');
      return;
    }
    let message: UMFMessage;
    let route;
    try {
      message = parseMessage(data.toString());
      route = parseRoute(message.to);
    } catch (err) {
      this.sendError(ws, errorMessage(err));
      return;
    }
    const { settings } = this.d;
    if (settings.forceMessageSignature) {
      if (!message.signature) return this.sendError(ws, 'Not a signed UMF message: this router requires an HMAC-SHA256 "sig" field', message);
      if (!verify(message, settings.signatureSharedSecret)) return this.sendError(ws, 'Invalid signed UMF message: the signature does not verify', message);
    }
    const clientId = this.ids.get(ws)!;
    this.d.wsStats.log(route.serviceName);
    // The frame continues the client's trace (its `hdr`), or starts one; what it causes is its child.
    const span = !tracingOn() ? undefined : this.d.tracer.startFrom(message.headers, `process ${this.d.hydra.serviceName}`, 'consumer', {
      'messaging.system': 'hydra',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': this.d.hydra.serviceName,
      'messaging.message.id': message.mid,
      'network.protocol.name': 'websocket',
      'hydra.message.type': message.type,
      'hydra.target.service': route.serviceName,
    });
    try {
      await runArrived(span, message.headers, () => {
        if (route.serviceName === this.d.hydra.serviceName) return this.toRouter(ws, message);
        if (route.httpMethod) return this.throughHttp(ws, message);
        return this.relay(clientId, message);
      });
    } catch (err) {
      this.d.errorStats.log(route.serviceName);
      span?.fail(errorMessage(err));
      this.sendError(ws, errorMessage(err), message);
    } finally {
      span?.end();
    }
  }

  private async toRouter(ws: WebSocket, m: UMFMessage): Promise<void> {
    const route = parseRoute(m.to);
    if (route.httpMethod) {
      // hydra-router answers its API over the socket too (whatever the method), the result as `bdy`.
      this.sendAny(ws, { to: m.from, from: this.self, rmid: m.mid }, await this.d.routerApi(route.apiRoute));
      return;
    }
    switch (m.type) {
      case 'ping':
        this.sendTo(ws, { to: m.from, from: this.self, rmid: m.mid, type: 'pong', body: { typ: 'pong' } });
        return;
      case 'reconnect': {
        const id = m.body.id;
        if (typeof id !== 'string' || !isInstanceId(id)) {
          this.sendError(ws, 'reconnect message needs bdy.id: the 32-hex-character id from your connection message', m);
          return;
        }
        if (!this.d.secrets.verify(id, m.body.secret)) {
          this.sendError(ws, 'reconnect message needs bdy.secret: the secret from the connection message of that client (an id alone resumes nothing)', m);
          return;
        }
        this.unbind(ws);
        await this.bind(ws, id);
        return;
      }
      default:
        if (m.forward) await this.fromClient(m, route.apiRoute);
        else this.sendError(ws, `Unrecognized Hydra Router request: typ "${m.type ?? ''}" (the router answers ping and reconnect, [get]/v1/router/* calls, and messages with fwd: another client's "<id>@client:/", or with to "hydra-router:/queue" a service's queue)`, m);
    }
  }

  /**
   * hydra-router's client-side messaging, `to: "hydra-router:/"` with `fwd`:
   * - to `hydra-router:/queue`: the message goes to the queue of the service `fwd` names;
   * - otherwise `fwd` is another client (`<id>@client:/`): it gets the message with `to` = `fwd`
   *   and `via` = this router, on this router's socket or, wherever it is (or once it is back),
   *   through its queue like any reply.
   */
  private async fromClient(m: UMFMessage, apiRoute: string): Promise<void> {
    const forward = m.forward!;
    if (apiRoute === '/queue') {
      const { forward: _forward, ...rest } = m;
      await this.d.hydra.queueMessage({ ...rest, to: forward });
      return;
    }
    const clientId = parseRoute(forward).instance;
    if (!isInstanceId(clientId)) throw new Error(`fwd "${forward}" names no client: use "<id>@client:/" with the id from that client's connection message`);
    const short = toShort({ ...m, to: forward, via: this.self });
    const ws = this.clients.get(clientId);
    if (ws && this.send(ws, JSON.stringify(short))) return;
    await this.keep(clientId, short);
  }

  /** `svc:[get]/path` from a socket: an HTTP call whose answer comes back as a reply. */
  private async throughHttp(ws: WebSocket, m: UMFMessage): Promise<void> {
    const answer = await this.d.hydra.makeAPIRequest(m, this.d.callOptions);
    if (answer.statusCode >= 400) this.d.errorStats.log(parseRoute(m.to).serviceName);
    const result = answer.result;
    const isObject = typeof result === 'object' && result !== null && !Array.isArray(result);
    // As hydra-router: `bdy` is the answer's `result`, or the text itself when it was not JSON.
    let body: unknown = result;
    if (answer.statusCode >= 400) body = isObject ? { error: true, ...result } : { error: true, result };
    this.sendAny(ws, { to: m.from, from: m.to, rmid: m.mid }, body);
  }

  private async relay(clientId: string, m: UMFMessage): Promise<void> {
    await this.d.hydra.sendMessage({ ...m, via: `${this.d.hydra.instanceId}-${clientId}@${this.d.hydra.serviceName}:/` });
  }

  /**
   * A message that reached this router over pub/sub. Returns true when it was
   * for a WebSocket client (delivered, forwarded or kept), false otherwise.
   */
  async deliver(m: UMFMessage): Promise<boolean> {
    if (m.type === DELIVER_TYPE && typeof m.body.clientId === 'string') {
      if (this.clients.has(m.body.clientId)) await this.handOver(m.body.clientId);
      return true;
    }
    const target = m.via ?? m.forward;
    if (!target) return false;
    let clientId: string;
    try {
      const r = parseRoute(target);
      if (r.serviceName !== this.d.hydra.serviceName && m.via) return false;
      clientId = m.via ? r.subId : r.instance;
    } catch {
      return false;
    }
    if (!isInstanceId(clientId)) return false;
    const { via: _via, ...rest } = m;
    const short = toShort(rest as UMFMessage);
    const ws = this.clients.get(clientId);
    if (ws && this.send(ws, JSON.stringify(short))) return true;
    await this.keep(clientId, short);
    return true;
  }

  /** Puts a message in the client's queue and tells every router, so the one holding the client sends it. */
  private async keep(clientId: string, short: ShortUMFMessage): Promise<void> {
    await this.d.queue.push(clientId, short);
    this.d.metrics.ws('buffered');
    const notice = createMessage({ to: `${this.d.hydra.serviceName}:/`, from: this.self, type: DELIVER_TYPE, body: { clientId } });
    await this.d.hydra.redis.publish(channels.service(this.d.hydra.serviceName), JSON.stringify(toShort(notice)));
  }

  /** Sends the client everything kept for it; what cannot be sent (socket gone meanwhile) is kept again. */
  private async handOver(clientId: string): Promise<void> {
    let kept: ShortUMFMessage[];
    try {
      kept = await this.d.queue.takeAll(clientId);
    } catch (err) {
      this.d.logger.warn({ clientId, err: errorMessage(err) }, 'could not read the queue of a WebSocket client');
      return;
    }
    for (let i = 0; i < kept.length; i++) {
      const ws = this.clients.get(clientId);
      if (!ws || !this.send(ws, JSON.stringify(kept[i]))) {
        for (const m of kept.slice(i)) await this.d.queue.push(clientId, m);
        return;
      }
    }
  }

  async close(): Promise<void> {
    for (const ws of this.clients.values()) ws.close(1001, 'router shutting down');
    this.clients.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Answers an upgrade request with an error envelope instead of switching protocols. */
function refuseUpgrade(socket: Duplex, status: number, reason: string, extraHeaders = ''): void {
  const body = JSON.stringify(envelopeWithReason(status, reason));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n${extraHeaders}` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
