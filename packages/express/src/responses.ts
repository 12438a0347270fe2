/**
 * hydra-express's response helpers: every answer is the Hydra envelope, so
 * clients and the router see one shape whichever service answered.
 */
import type { Response } from 'express';
import { envelope } from '@hydra-ts/core';

/**
 * Answers `statusCode` with Hydra's envelope `{statusCode, statusMessage, statusDescription, result}`;
 * the fields of `data` (usually `{result}`) overlay it, as hydra-express's sendResponse does.
 */
export function sendResponse(res: Response, statusCode: number, data: Record<string, unknown> = {}): void {
  res.status(statusCode).json(envelope(statusCode, data));
}

/** Answers 200 (OK) in the envelope; `data` is usually `{result}`. */
export const sendOk = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 200, data);
/** Answers 201 (Created) in the envelope; `data` is usually `{result}`. */
export const sendCreated = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 201, data);
/** Answers 400 (Bad Request) in the envelope; `data` is usually `{result}`. */
export const sendInvalidRequest = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 400, data);
/** Answers 401 (Unauthorized) in the envelope; `data` is usually `{result}`. */
export const sendInvalidUserCredentials = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 401, data);
/** Answers 403 (Forbidden) in the envelope; `data` is usually `{result}`. */
export const sendForbidden = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 403, data);
/** Answers 404 (Not Found) in the envelope; `data` is usually `{result}`. */
export const sendNotFound = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 404, data);
/** Answers 409 (Conflict) in the envelope; `data` is usually `{result}`. */
export const sendDataConflict = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 409, data);
/** Answers 413 (Request Entity Too Large) in the envelope; `data` is usually `{result}`. */
export const sendTooLarge = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 413, data);
/** Answers 500 (Server Error) in the envelope; `data` is usually `{result}`. */
export const sendServerError = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 500, data);
/** Answers 503 (Service Unavailable) in the envelope; `data` is usually `{result}`. */
export const sendUnavailableError = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 503, data);
