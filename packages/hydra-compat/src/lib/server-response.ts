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
  /** 200, the status code HTTP_OK names. */
  static readonly HTTP_OK = 200;
  /** 201, the status code HTTP_CREATED names. */
  static readonly HTTP_CREATED = 201;
  /** 202, the status code HTTP_ACCEPTED names. */
  static readonly HTTP_ACCEPTED = 202;
  /** 204, the status code HTTP_NO_CONTENT names. */
  static readonly HTTP_NO_CONTENT = 204;
  /** 301, the status code HTTP_MOVED_PERMANENTLY names. */
  static readonly HTTP_MOVED_PERMANENTLY = 301;
  /** 302, the status code HTTP_FOUND names. */
  static readonly HTTP_FOUND = 302;
  /** 304, the status code HTTP_NOT_MODIFIED names. */
  static readonly HTTP_NOT_MODIFIED = 304;
  /** 400, the status code HTTP_BAD_REQUEST names. */
  static readonly HTTP_BAD_REQUEST = 400;
  /** 401, the status code HTTP_UNAUTHORIZED names. */
  static readonly HTTP_UNAUTHORIZED = 401;
  /** 402, the status code HTTP_PAYMENT_REQUIRED names. */
  static readonly HTTP_PAYMENT_REQUIRED = 402;
  /** 403, the status code HTTP_FORBIDDEN names. */
  static readonly HTTP_FORBIDDEN = 403;
  /** 404, the status code HTTP_NOT_FOUND names. */
  static readonly HTTP_NOT_FOUND = 404;
  /** 405, the status code HTTP_METHOD_NOT_ALLOWED names. */
  static readonly HTTP_METHOD_NOT_ALLOWED = 405;
  /** 406, the status code NOT_ACCEPTABLE names. */
  static readonly NOT_ACCEPTABLE = 406;
  /** 409, the status code HTTP_CONFLICT names. */
  static readonly HTTP_CONFLICT = 409;
  /** 413, the status code HTTP_TOO_LARGE names. */
  static readonly HTTP_TOO_LARGE = 413;
  /** 429, the status code HTTP_TOO_MANY_REQUEST names. */
  static readonly HTTP_TOO_MANY_REQUEST = 429;
  /** 500, the status code HTTP_SERVER_ERROR names. */
  static readonly HTTP_SERVER_ERROR = 500;
  /** 501, the status code HTTP_METHOD_NOT_IMPLEMENTED names. */
  static readonly HTTP_METHOD_NOT_IMPLEMENTED = 501;
  /** 502, the status code HTTP_CONNECTION_REFUSED names. */
  static readonly HTTP_CONNECTION_REFUSED = 502;
  /** 503, the status code HTTP_SERVICE_UNAVAILABLE names. */
  static readonly HTTP_SERVICE_UNAVAILABLE = 503;

  /** Set by setTestMode(); kept for apps that read it. */
  testMode = false;
  /** Whether sendResponse adds corsHeaders. */
  corsEnabled = false;
  /** Headers sendResponse adds while CORS is on. */
  corsHeaders: Record<string, string> = { 'access-control-allow-origin': '*' };

  /** Marks the helper as used by tests (Hydra kept the flag; nothing reads it). */
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

  /** Sends the envelope with 200 (HTTP_OK). */
  sendOk(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_OK, res, data);
  }
  /** Sends the envelope with 201 (HTTP_CREATED). */
  sendCreated(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_CREATED, res, data);
  }
  /** Sends the envelope with 204 (HTTP_NO_CONTENT). */
  sendNoContent(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_NO_CONTENT, res, data);
  }
  /** Sends the envelope with 301 (HTTP_MOVED_PERMANENTLY). */
  sendMovedPermanently(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_MOVED_PERMANENTLY, res, data);
  }
  /** Sends the envelope with 400 (HTTP_BAD_REQUEST). */
  sendInvalidRequest(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_BAD_REQUEST, res, data);
  }
  /** Sends the envelope with 401 (HTTP_UNAUTHORIZED). */
  sendInvalidUserCredentials(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_UNAUTHORIZED, res, data);
  }
  /** Sends the envelope with 402 (HTTP_PAYMENT_REQUIRED). */
  sendPaymentRequired(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_PAYMENT_REQUIRED, res, data);
  }
  /** Sends the envelope with 403 (HTTP_FORBIDDEN). */
  sendForbidden(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_FORBIDDEN, res, data);
  }
  /** Sends the envelope with 404 (HTTP_NOT_FOUND). */
  sendNotFound(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_NOT_FOUND, res, data);
  }
  /** Sends the envelope with 400 (HTTP_BAD_REQUEST). */
  sendInvalidSession(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_BAD_REQUEST, res, data);
  }
  /** Sends the envelope with 500 (HTTP_SERVER_ERROR). */
  sendRequestFailed(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_SERVER_ERROR, res, data);
  }
  /** Sends the envelope with 409 (HTTP_CONFLICT). */
  sendDataConflict(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_CONFLICT, res, data);
  }
  /** Sends the envelope with 413 (HTTP_TOO_LARGE). */
  sendTooLarge(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_TOO_LARGE, res, data);
  }
  /** Sends the envelope with 429 (HTTP_TOO_MANY_REQUEST). */
  sendTooManyRequests(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_TOO_MANY_REQUEST, res, data);
  }
  /** Sends the envelope with 500 (HTTP_SERVER_ERROR). */
  sendServerError(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_SERVER_ERROR, res, data);
  }
  /** Same as sendServerError (500). */
  sendInternalError(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendServerError(res, data);
  }
  /** Sends the envelope with 501 (HTTP_METHOD_NOT_IMPLEMENTED). */
  sendMethodNotImplemented(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_METHOD_NOT_IMPLEMENTED, res, data);
  }
  /** Sends the envelope with 502 (HTTP_CONNECTION_REFUSED) — Hydra answers 502 here, not 503. */
  sendUnavailableError(res: NodeResponse, data?: Record<string, unknown>): void {
    this.sendResponse(ServerResponse.HTTP_CONNECTION_REFUSED, res, data);
  }
}

export = ServerResponse;
