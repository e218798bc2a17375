// One error type for the whole server. Every non-2xx response is
// {"errcode": "M_...", "error": "..."} (spec: Client-Server API, "Standard error response").

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    /** Extra top-level fields of the error body (e.g. retry_after_ms, soft_logout). */
    readonly extra: Record<string, unknown> = {},
    /** Extra response headers (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const forbidden = (message: string) => new MatrixError(403, "M_FORBIDDEN", message);
export const notFound = (message: string) => new MatrixError(404, "M_NOT_FOUND", message);
export const badJson = (message: string) => new MatrixError(400, "M_BAD_JSON", message);
export const missingParam = (message: string) => new MatrixError(400, "M_MISSING_PARAM", message);
export const invalidParam = (message: string) => new MatrixError(400, "M_INVALID_PARAM", message);
export const unrecognized = (status: 404 | 405, message: string) =>
  new MatrixError(status, "M_UNRECOGNIZED", message);
export const limitExceeded = (retryAfterMs: number) =>
  new MatrixError(
    429,
    "M_LIMIT_EXCEEDED",
    "Too many requests",
    { retry_after_ms: retryAfterMs },
    { "Retry-After": String(Math.ceil(retryAfterMs / 1000)) },
  );
