/**
 * The one error taxonomy of Parley. Codes are the v1 contract's error codes, so the edge maps an error to
 * `{"error": {"code", "message", "details"}}` without a lookup table that could drift.
 */
export const ERROR_CODES = ['invalid-payload', 'not-found', 'forbidden', 'conflict', 'unavailable', 'rate-limited', 'internal'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class ParleyError extends Error {
  override readonly name: string = 'ParleyError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toBody(): ErrorBody {
    return this.details === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, details: this.details };
  }
}

export const invalidPayload = (message: string, details?: Record<string, unknown>) => new ParleyError('invalid-payload', message, details);
export const notFound = (message: string, details?: Record<string, unknown>) => new ParleyError('not-found', message, details);
export const forbidden = (message: string, details?: Record<string, unknown>) => new ParleyError('forbidden', message, details);
export const conflict = (message: string, details?: Record<string, unknown>, cause?: unknown) => new ParleyError('conflict', message, details, { cause });
export const unavailable = (message: string, details?: Record<string, unknown>, cause?: unknown) => new ParleyError('unavailable', message, details, { cause });

/** Anything thrown that is not a ParleyError becomes `internal`, keeping the original as the cause for logs. */
export function toParleyError(err: unknown): ParleyError {
  if (err instanceof ParleyError) return err;
  return new ParleyError('internal', 'internal error', undefined, { cause: err });
}
