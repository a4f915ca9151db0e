/**
 * vLLM's error objects: `{"error": {"message", "type", "param", "code"}}` where `code` is the
 * HTTP status as an integer (vLLM's `ErrorResponse`/`ErrorInfo` in its OpenAI protocol module),
 * and FastAPI's `{"detail": ...}` for unknown routes and methods.
 */

/** An error that becomes an HTTP response; thrown by request parsing and checks. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  constructor(status: number, message: string, param: string | null = null, type = errorType(status)) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.param = param;
  }
}

/** vLLM's error type names by status (its create_error_response defaults to BadRequestError). */
export function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequestError';
    case 404:
      return 'NotFoundError';
    case 413:
      return 'RequestEntityTooLarge';
    case 503:
      return 'ServiceUnavailableError';
    default:
      return status >= 500 ? 'InternalServerError' : 'BadRequestError';
  }
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: number };
}

export function errorBody(e: ApiError): ErrorBody {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.status } };
}
