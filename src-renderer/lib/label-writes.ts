/**
 * Label writes from the keyboard go one at a time, in the order of the keys: two quick keys on one slide
 * must land in that order whatever the transport does, and an undo or "next without a value" right after
 * a key must see the key's write.
 */
let chain: Promise<unknown> = Promise.resolve();

export function queueWrite<T>(write: () => Promise<T>): Promise<T> {
  const run = chain.then(write);
  chain = run.catch(() => undefined);
  return run;
}

/** Resolves once every write queued so far has landed or failed. */
export async function writesSettled(): Promise<void> {
  await chain;
}
