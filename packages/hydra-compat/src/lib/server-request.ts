/**
 * Hydra's ServerRequest helper (`hydra.getServerRequestHelper()`,
 * `require('hydra/lib/server-request')`): one plain HTTP request, answered with
 * `{statusCode, headers, payLoad}` (the body as a Buffer). `timeout` is in seconds
 * (default 30); a request that exceeds it is aborted and the promise rejects.
 */
import { request, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { MAX_TIMEOUT_MS } from '@hydra-ts/core';

const DEFAULT_TIMEOUT_S = 30;

/** What send() takes: node's http.request options plus a string body and a timeout in seconds. */
interface ServerRequestOptions extends RequestOptions {
  body?: string;
  /** Seconds. */
  timeout?: number;
}

/** What send() answers. */
interface ServerRequestAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  payLoad: Buffer;
}

/** Hydra's plain HTTP request helper. */
class ServerRequest {
  /** Sends the request; the body goes only with POST, PUT and PATCH, as in Hydra. */
  send(options: ServerRequestOptions): Promise<ServerRequestAnswer> {
    const { body, timeout, ...rest } = options;
    const withBody = ['POST', 'PUT', 'PATCH'].includes(String(rest.method ?? 'GET').toUpperCase()) && body !== undefined;
    const headers = { ...(rest.headers as Record<string, string> | undefined), ...(withBody ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
    const ms = Math.min((timeout ?? DEFAULT_TIMEOUT_S) * 1000 || DEFAULT_TIMEOUT_S * 1000, MAX_TIMEOUT_MS);
    return new Promise((resolve, reject) => {
      const req = request({ ...rest, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const payLoad = Buffer.concat(chunks);
          resolve({ statusCode: res.statusCode ?? 0, headers: { ...res.headers, 'content-length': String(payLoad.length) }, payLoad });
        });
      });
      req.setTimeout(ms, () => req.destroy(new Error(`request to ${rest.host ?? rest.hostname}:${rest.port}${rest.path ?? ''} timed out after ${ms} ms`)));
      req.on('error', reject);
      req.end(withBody ? body : undefined);
    });
  }
}

export = ServerRequest;
