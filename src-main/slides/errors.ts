import path from 'node:path';

/**
 * A slide the user pointed at cannot be read. The message is one sentence naming the file and the
 * reason, fit to show in the UI or the CLI as is; `cause` keeps the detail for the log.
 */
export class SlideError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot read slide ${path.basename(file)}: ${reason}.`, options);
    this.name = 'SlideError';
  }
}

/** Wraps anything thrown while reading `file` into a SlideError (keeps SlideErrors as they are). */
export function asSlideError(file: string, err: unknown): SlideError {
  if (err instanceof SlideError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SlideError(file, detail.replace(/\.$/, ''), { cause: err });
}
