/**
 * Hydra's ServerResponse helper (`hydra.getServerResponseHelper()`,
 * `require('hydra/lib/server-response')`): the response envelope and the
 * `send*` shortcuts that write it to a Node response. Status texts are core's
 * (envelope.ts), which are Hydra's own.
 */
import type { ServerResponse as NodeResponse } from 'node:http';
import { envelope, type Envelope } from '@hydra-ts/core';

/** Hydra's response helper class; `new ServerResponse()` as Hydra's users create it. */
class ServerResponse {
  static readonly HTTP_OK = 200;
  static readonly HTTP_CREATED = 201;
  static readonly HTTP_ACCEPTED = 202;
  static readonly HTTP_NO_CONTENT = 204;
  static readonly HTTP_MOVED_PERMANENTLY = 301;
  static readonly HTTP_FOUND = 302;
  static readonly HTTP_NOT_MODIFIED = 304;
  static readonly HTTP_BAD_REQUEST = 400;
  static readonly HTTP_UNAUTHORIZED = 401;
  static readonly HTTP_PAYMENT_REQUIRED = 402;
  static readonly HTTP_FORBIDDEN = 403;
  static readonly HTTP_NOT_FOUND = 404;
  static readonly HTTP_METHOD_NOT_ALLOWED = 405;
  static readonly NOT_ACCEPTABLE = 406;
  static readonly HTTP_CONFLICT = 409;
  static readonly HTTP_TOO_LARGE = 413;
  static readonly HTTP_TOO_MANY_REQUEST = 429;
  static readonly HTTP_SERVER_ERROR = 500;
  static readonly HTTP_METHOD_NOT_IMPLEMENTED = 501;
  static readonly HTTP_CONNECTION_REFUSED = 502;
  static readonly HTTP_SERVICE_UNAVAILABLE = 503;

  /** Set by setTestMode(); kept for apps that read it. */
  testMode = false;
  /** Whether sendResponse adds corsHeaders. */
  corsEnabled = false;
  corsHeaders: Record<string, string> = { 'access-control-allow-origin': '*' };

  setTestMode(): void {
    this.testMode = true;
  }

  /** Turns CORS headers on or off for sendResponse; `corsHeaders` are merged over the default. */
  enableCORS(state: boolean, corsHeaders?: Record<string, string>): void {
    this.corsEnabled = state;
    if (corsHeaders) this.corsHeaders = { ...this.corsHeaders, ...corsHeaders };
  }

  /** The envelope `{statusCode, statusMessage, statusDescription, result}` with `resultPayload`'s fields over it. */
  createResponseObject(httpCode: number, resultPayload?: Record<string, unknown>): Envelope {
    return envelope(httpCode, resultPayload ?? {});
  }

  /** Writes the envelope with `data`'s fields (and `data.headers` as HTTP headers) as JSON. */
  sendResponse(code: number, res: NodeResponse, data?: Record<string, unknown>): void {
    let headers: Record<string, string | number> = { 'Content-Type': 'application/json' };
    if (this.corsEnabled) headers = { ...headers, ...this.corsHeaders };
    if (data?.headers && typeof data.headers === 'object') headers = { ...headers, ...(data.headers as Record<string, string>) };
    const text = JSON.stringify({ ...this.createResponseObject(code), ...(data ?? {}) });
    headers['Content-Length'] = Buffer.byteLength(text);
    res.writeHead(code, headers);
    res.end(text);
  }

  sendOk(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_OK, res, data);
  }
  sendCreated(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_CREATED, res, data);
  }
  sendNoContent(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_NO_CONTENT, res, data);
  }
  sendMovedPermanently(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_MOVED_PERMANENTLY, res, data);
  }
  sendInvalidRequest(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_BAD_REQUEST, res, data);
  }
  sendInvalidUserCredentials(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_UNAUTHORIZED, res, data);
  }
  sendPaymentRequired(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_PAYMENT_REQUIRED, res, data);
  }
  sendForbidden(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_FORBIDDEN, res, data);
  }
  sendNotFound(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_NOT_FOUND, res, data);
  }
  sendInvalidSession(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_BAD_REQUEST, res, data);
  }
  sendRequestFailed(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_SERVER_ERROR, res, data);
  }
  sendDataConflict(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_CONFLICT, res, data);
  }
  sendTooLarge(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_TOO_LARGE, res, data);
  }
  sendTooManyRequests(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_TOO_MANY_REQUEST, res, data);
  }
  sendServerError(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_SERVER_ERROR, res, data);
  }
  sendInternalError(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendServerError(res, data);
  }
  sendMethodNotImplemented(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_METHOD_NOT_IMPLEMENTED, res, data);
  }
  /** Hydra answers 502 here (its HTTP_CONNECTION_REFUSED), not 503. */
  sendUnavailableError(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_CONNECTION_REFUSED, res, data);
  }
}

export = ServerResponse;
