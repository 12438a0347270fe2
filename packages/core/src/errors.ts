/**
 * The one catalogue of hydra-ts errors: each stable code (for programs) with the
 * HTTP status it maps to when answered in the Hydra envelope. The message of each
 * thrown error names the problem (for people).
 */
export const ERRORS = {
  INVALID_CONFIG: 400,
  INVALID_SERVICE_NAME: 400,
  INVALID_UMF: 400,
  INVALID_ROUTE: 400,
  INVALID_JSON: 400,
  /** A Redis key holds another type than the one its name stands for (written by someone else). */
  WRONG_TYPE: 500,
  FORBIDDEN: 403,
  BODY_TOO_LARGE: 413,
  SERVICE_UNAVAILABLE: 503,
  TIMEOUT: 504,
  REDIS_UNAVAILABLE: 503,
  NOT_REGISTERED: 500,
  CLOSED: 503,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class HydraError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HydraError';
    this.code = code;
    this.status = ERRORS[code];
  }
}

export function isHydraError(err: unknown, code?: ErrorCode): err is HydraError {
  return err instanceof HydraError && (code === undefined || err.code === code);
}

/** A message for logs from anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
