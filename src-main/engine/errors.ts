/** Errors from the native engine, with a code saying what kind of failure it was. */
export type EngineErrorCode =
  | 'ERR_NOT_BUILT'
  | 'ERR_CANCELLED'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_INVALID_ARG'
  | 'ERR_BAD_WEIGHTS'
  | 'ERR_BAD_CONFIG'
  | 'ERR_BUSY'
  | 'ERR_DISPOSED'
  | 'ERR_NO_DEVICE'
  | 'ERR_ENGINE';

export class EngineError extends Error {
  readonly code: EngineErrorCode;

  constructor(message: string, code: EngineErrorCode) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
  }
}

const KNOWN = new Set<string>([
  'ERR_NOT_BUILT',
  'ERR_CANCELLED',
  'ERR_OUT_OF_MEMORY',
  'ERR_INVALID_ARG',
  'ERR_BAD_WEIGHTS',
  'ERR_BAD_CONFIG',
  'ERR_BUSY',
  'ERR_DISPOSED',
  'ERR_NO_DEVICE',
  'ERR_ENGINE',
]);

/** Normalises whatever the addon threw (TypeError/RangeError for bad arguments, Error with `code`). */
export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    if (typeof code === 'string' && KNOWN.has(code))
      return new EngineError(err.message, code as EngineErrorCode);
    if (err instanceof TypeError || err instanceof RangeError)
      return new EngineError(err.message, 'ERR_INVALID_ARG');
    return new EngineError(err.message, 'ERR_ENGINE');
  }
  return new EngineError(String(err), 'ERR_ENGINE');
}
