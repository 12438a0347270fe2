/**
 * The one catalogue of hydra-ts errors. Each has a stable code (for programs),
 * a message naming the problem (for people) and the HTTP status it maps to when
 * it is answered over HTTP in the Hydra envelope.
 */
export const ERRORS = {
  INVALID_CONFIG: { status: 400, title: 'invalid configuration' },
  INVALID_SERVICE_NAME: { status: 400, title: 'invalid service name' },
  INVALID_INSTANCE_ID: { status: 400, title: 'invalid instance id' },
  INVALID_UMF: { status: 400, title: 'invalid UMF message' },
  INVALID_ROUTE: { status: 400, title: 'invalid route' },
  INVALID_JSON: { status: 400, title: 'invalid JSON' },
  BAD_SIGNATURE: { status: 401, title: 'signature does not verify' },
  NOT_FOUND: { status: 404, title: 'not found' },
  BODY_TOO_LARGE: { status: 413, title: 'body too large' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'no live instance' },
  UPSTREAM_FAILED: { status: 502, title: 'upstream request failed' },
  TIMEOUT: { status: 504, title: 'timed out' },
  REDIS_UNAVAILABLE: { status: 503, title: 'Redis unavailable' },
  NOT_REGISTERED: { status: 500, title: 'service not registered' },
  CLOSED: { status: 503, title: 'closed' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class HydraError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HydraError';
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

export function isHydraError(err: unknown, code?: ErrorCode): err is HydraError {
  return err instanceof HydraError && (code === undefined || err.code === code);
}

/** A message for logs from anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
