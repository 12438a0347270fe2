/** Writing the router's own answers: the Hydra envelope as JSON, with the request id and CORS headers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertJsonDepth, envelope, envelopeWithReason, HydraError } from '@hydra-ts/core';

export const REQUEST_ID = 'x-request-id';

export interface AnswerContext {
  requestId: string;
  cors: Record<string, string>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, ctx: AnswerContext, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...ctx.cors,
    ...extraHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    [REQUEST_ID]: ctx.requestId,
  });
  res.end(text);
}

/** `{statusCode, statusMessage, statusDescription, result}` with `payload` overlaid, as hydra-router answers. */
export function sendEnvelope(res: ServerResponse, status: number, payload: Record<string, unknown>, ctx: AnswerContext, extraHeaders?: Record<string, string>): void {
  sendJson(res, status, envelope(status, payload), ctx, extraHeaders);
}

/** An error envelope whose `result.reason` tells a person what to do. */
export function sendReason(res: ServerResponse, status: number, reason: string, ctx: AnswerContext, extraHeaders?: Record<string, string>): void {
  sendJson(res, status, envelopeWithReason(status, reason), ctx, extraHeaders);
}

/** Reads a whole JSON request body (router API calls only; proxied bodies are streamed); `expected` names what it should hold. */
export async function readJsonBody(req: IncomingMessage, limit: number, expected = 'a UMF message'): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HydraError('BODY_TOO_LARGE', `request body is larger than the router's limit of ${limit} bytes (config field bodyLimit)`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HydraError('INVALID_JSON', `request body is empty; send ${expected} as JSON`);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new HydraError('INVALID_JSON', `request body is not JSON: ${(err as Error).message}`);
  }
  assertJsonDepth(text, 'request body');
  return value;
}
