/**
 * The errors the user has not dismissed yet, shown by the one error surface. Every failed API call
 * lands here with the server's own sentence; repeats of the newest error are counted, not stacked.
 */
import { ApiCallError } from './api-client.js';

export interface ShownError {
  id: number;
  code: string;
  message: string;
  /** How many times this same error happened in a row. */
  count: number;
}

const MAX_SHOWN = 5;

export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof ApiCallError) return { code: err.code, message: err.message };
  if (err instanceof Error)
    return { code: 'internal', message: `Something went wrong in the app: ${err.message}` };
  return { code: 'internal', message: `Something went wrong in the app: ${String(err)}` };
}

class ErrorStore {
  items = $state<ShownError[]>([]);
  private nextId = 1;

  report(err: unknown): void {
    const { code, message } = describeError(err);
    const newest = this.items.at(-1);
    if (newest && newest.message === message) {
      newest.count += 1;
      return;
    }
    this.items = [...this.items, { id: this.nextId++, code, message, count: 1 }].slice(-MAX_SHOWN);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((e) => e.id !== id);
  }

  clear(): void {
    this.items = [];
  }
}

export const errors = new ErrorStore();

/** Runs an async action and reports its failure instead of throwing; returns undefined on failure. */
export async function reporting<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (err) {
    errors.report(err);
    return undefined;
  }
}
