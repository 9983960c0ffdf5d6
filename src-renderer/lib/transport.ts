/**
 * What a transport carries: contract commands out, `{ok, value} | {ok, error}` back, and contract
 * events in. The wire types are restated here because the renderer may import only the contract.
 */
export interface WireError {
  code: string;
  message: string;
}

export type WireResult = { ok: true; value: unknown } | { ok: false; error: WireError };

export interface Transport {
  call(command: string, input: unknown): Promise<WireResult>;
  on(event: string, listener: (payload: unknown) => void): () => void;
  /**
   * Runs the listener whenever events may have been missed (the browser-mode event socket came back
   * after a drop), so state derived from events can be fetched again.
   */
  onResync(listener: () => void): () => void;
}

/** Checks that something received over a transport really is a WireResult. */
export function asWireResult(value: unknown, command: string): WireResult {
  if (value && typeof value === 'object' && 'ok' in value) {
    if (value.ok === true && 'value' in value) return { ok: true, value: value.value };
    if (value.ok === false && 'error' in value) {
      const error = value.error as Partial<WireError> | null;
      if (error && typeof error.code === 'string' && typeof error.message === 'string') {
        return { ok: false, error: { code: error.code, message: error.message } };
      }
    }
  }
  return {
    ok: false,
    error: { code: 'bad-response', message: `The main process sent an unreadable answer to ${command}.` },
  };
}
