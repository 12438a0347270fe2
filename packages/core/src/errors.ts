/**
 * The one catalogue of hydra-ts errors: each stable code (for programs) with the
 * HTTP status it maps to when answered in the Hydra envelope. The message of each
 * thrown error names the problem (for people).
 */
/** Every error code with the HTTP status it is answered with. */
export const ERRORS = {
  /** A config field is missing or wrong; the message names it. */
  INVALID_CONFIG: 400,
  /** A service name that cannot be part of a key (capitals, `:`, `*`, spaces). */
  INVALID_SERVICE_NAME: 400,
  /** A message that is not UMF; the message names the field. */
  INVALID_UMF: 400,
  /** A route that does not parse (Hydra's texts). */
  INVALID_ROUTE: 400,
  /** Text that is not JSON, or nested deeper than MAX_JSON_DEPTH. */
  INVALID_JSON: 400,
  /** A Redis key holds another type than the one its name stands for (written by someone else). */
  WRONG_TYPE: 500,
  /** Refused by policy (for example a router refusing an upstream). */
  FORBIDDEN: 403,
  /** A body over its limit. */
  BODY_TOO_LARGE: 413,
  /** No live instance of the service named in `to`. */
  SERVICE_UNAVAILABLE: 503,
  /** No answer in time (request/reply, HTTP calls). */
  TIMEOUT: 504,
  /** Redis did not answer; nothing was queued to be sent later. */
  REDIS_UNAVAILABLE: 503,
  /** An operation that needs registerService() first (request(), registerRoutes(), log()). */
  NOT_REGISTERED: 500,
  /** The service closed while the operation waited. */
  CLOSED: 503,
} as const;

/** One of the stable codes of {@link ERRORS}. */
export type ErrorCode = keyof typeof ERRORS;

/** The error every hydra-ts operation throws: a stable `code` for programs, a message naming the problem for people. */
export class HydraError extends Error {
  /** Stable code, e.g. `INVALID_CONFIG`; match on this, not on the message. */
  readonly code: ErrorCode;
  /** The HTTP status the code maps to ({@link ERRORS}). */
  readonly status: number;

  /** An error with `code`; `message` should name the field or the thing that went wrong. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HydraError';
    this.code = code;
    this.status = ERRORS[code];
  }
}

/** True when `err` is a {@link HydraError} (with `code`, when given). */
export function isHydraError(err: unknown, code?: ErrorCode): err is HydraError {
  return err instanceof HydraError && (code === undefined || err.code === code);
}

/** A message for logs from anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
