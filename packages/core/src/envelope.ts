/**
 * The Hydra response envelope `{statusCode, statusMessage, statusDescription, result}`
 * used by makeAPIRequest, hydra-express's helpers and hydra-router's answers.
 * Texts are Hydra's own so that clients matching on them keep working.
 */
import { STATUS_CODES } from 'node:http';

const STATUS: Record<number, readonly [string, string]> = {
  200: ['OK', 'Request succeeded without error'],
  201: ['Created', 'Resource created'],
  202: ['Accepted', 'Request accepted'],
  204: ['No Content', 'Resource has no content'],
  301: ['Moved Permanently', 'Resource has been permanently moved'],
  302: ['Found', 'Resource was found under another URI'],
  304: ['Not Modified', 'Resource has not been modified'],
  400: ['Bad Request', 'Request is invalid, missing parameters?'],
  401: ['Unauthorized', "User isn't authorized to access this resource"],
  402: ['Payment Required', 'This code is reserved for future use.'],
  403: ['Forbidden', 'The server understood the request but refuses to authorize it'],
  404: ['Not Found', 'The requested resource was not found on the server'],
  405: ['Method not allowed', 'The HTTP method used is not allowed'],
  406: ['Not Acceptable', 'The target resource does not have a current representation that would be acceptable to the user agent'],
  409: ['Conflict', 'Request has caused a conflict'],
  413: ['Request Entity Too Large', 'The webserver or proxy believes the request is too large'],
  415: ['Unsupported Media Type', 'The request body is in a format or character set the resource does not accept'],
  429: ['Too Many Requests', 'Too many requests issue within a period'],
  431: ['Request Header Fields Too Large', 'The request headers are larger than the server accepts'],
  500: ['Server Error', 'An error occurred on the server'],
  501: ['Method Not Implemented', "The requested method / resource isn't implemented on the server"],
  502: ['Connection Refused', 'The connection to server was refused'],
  503: ['Service Unavailable', 'The server is currently unable to handle the request due to a temporary overloading or maintenance of the server'],
  504: ['Gateway Timeout', 'The upstream server did not answer in time'],
};

/** Hydra's response envelope: what services, makeAPIRequest and the router answer. */
export interface Envelope<R = unknown> {
  /** The HTTP status. */
  statusCode: number;
  /** Hydra's short text for the status (`OK`, `Not Found`). */
  statusMessage: string;
  /** Hydra's sentence for the status. */
  statusDescription: string;
  /** The answer itself; on errors usually `{reason}`. */
  result: R;
  [extra: string]: unknown;
}

/** Builds the envelope; fields of `payload` (usually `{result}`) overlay the defaults, as in Hydra. */
export function envelope<R = Record<string, unknown>>(statusCode: number, payload: Record<string, unknown> = {}): Envelope<R> {
  // Hydra's texts first; any other real status keeps its standard name (Node's table).
  const [statusMessage, statusDescription] = STATUS[statusCode] ?? [STATUS_CODES[statusCode] ?? String(statusCode), STATUS_CODES[statusCode] ?? `Unknown statusCode ${statusCode}`];
  return { statusCode, statusMessage, statusDescription, result: {} as R, ...payload };
}

/** An error envelope whose `result.reason` tells a person what went wrong. */
export function envelopeWithReason(statusCode: number, reason: string, extra: Record<string, unknown> = {}): Envelope<{
  /** What went wrong, for a person. */
  reason: string;
}> {
  return envelope(statusCode, { result: { reason, ...extra } });
}
