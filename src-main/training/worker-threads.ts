/**
 * Starts a worker thread from a module next to the caller: the compiled .js in a build, or, when running
 * from TypeScript sources (tests, benchmarks, dev), a bootstrap that registers tsx's loader in the worker
 * first (Node 20 workers ignore --import). The same arrangement as the slide decode pool's.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `moduleUrl` is the worker's .ts URL relative to the caller, e.g. new URL('./patch-worker.ts', import.meta.url). */
export function startModuleWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL(moduleUrl.href.replace(/\.ts$/, '.js')), options);
  }
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(moduleUrl.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
