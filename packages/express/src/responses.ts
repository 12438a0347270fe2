/**
 * hydra-express's response helpers: every answer is the Hydra envelope, so
 * clients and the router see one shape whichever service answered.
 */
import type { Response } from 'express';
import { envelope } from '@hydra-ts/core';

export function sendResponse(res: Response, statusCode: number, data: Record<string, unknown> = {}): void {
  res.status(statusCode).json(envelope(statusCode, data));
}

export const sendOk = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 200, data);
export const sendCreated = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 201, data);
export const sendInvalidRequest = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 400, data);
export const sendInvalidUserCredentials = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 401, data);
export const sendForbidden = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 403, data);
export const sendNotFound = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 404, data);
export const sendDataConflict = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 409, data);
export const sendTooLarge = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 413, data);
export const sendServerError = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 500, data);
export const sendUnavailableError = (res: Response, data?: Record<string, unknown>) => sendResponse(res, 503, data);
