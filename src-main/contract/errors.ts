/**
 * Errors that cross the API boundary. Every failure a user can cause becomes an ApiError with one
 * clear sentence; anything else is reported as an internal error and logged with its stack.
 */
export type ApiErrorCode =
  | 'bad-input'
  | 'unknown-command'
  | 'not-found'
  | 'no-project'
  | 'conflict'
  | 'unreadable'
  | 'too-new'
  | 'unauthorized'
  | 'forbidden'
  | 'method-not-allowed'
  | 'too-large'
  | 'unsupported-media-type'
  | 'internal';

export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface SerializedError {
  code: ApiErrorCode;
  message: string;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof ApiError) return { code: err.code, message: err.message };
  if (err && typeof err === 'object' && 'userMessage' in err && typeof err.userMessage === 'string') {
    return { code: 'unreadable', message: err.userMessage };
  }
  return { code: 'internal', message: `Internal error: ${err instanceof Error ? err.message : String(err)}` };
}
