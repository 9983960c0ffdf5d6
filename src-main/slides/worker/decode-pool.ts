/**
 * A small pool of worker threads for tile decoding, resizing and encoding, so that no codec work
 * runs on the main event loop. Each task goes to the worker with the fewest tasks in flight. A worker
 * that dies fails its own tasks and is replaced. Idle workers are unref'd so they never keep a CLI
 * process alive.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WorkerRequest, WorkerResponse, WorkerShared, WorkerTask } from './messages.js';

interface Pending {
  resolve: (bytes: Uint8Array | Uint8Array[]) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** What was shared with this worker: sources (id to file key) and slabs. */
  sources: Map<number, string>;
  slabs: Set<number>;
}

const EMPTY = new Uint8Array(0);

/**
 * The compiled worker next to this file; when running from TypeScript sources (tests, dev), a
 * bootstrap that registers tsx's loader in the worker first (Node 20 workers ignore --import).
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./decode-worker.js', import.meta.url));
  const entry = new URL('./decode-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true });
}

export class DecodePool {
  private slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  /** Slabs shared with any worker: when the main thread lets one go, the workers drop it too. */
  private sharedSlabs = new Set<number>();
  private slabsGone = new FinalizationRegistry<number>((id) => this.unshareSlab(id));

  constructor(readonly size = defaultPoolSize()) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`invalid worker count ${size}`);
  }

  /** Runs a task; `shared`: what it refers to by id, posted first to a worker that has not had it. */
  run(
    task: WorkerTask,
    transfer: ArrayBuffer[] = [],
    shared: readonly WorkerShared[] = [],
  ): Promise<Uint8Array> {
    return this.post(task, transfer, shared) as Promise<Uint8Array>;
  }

  /** For tasks answered with several buffers (decodeRanges). */
  runForBuffers(task: WorkerTask, transfer: ArrayBuffer[] = []): Promise<Uint8Array[]> {
    return this.post(task, transfer, []) as Promise<Uint8Array[]>;
  }

  private post(
    task: WorkerTask,
    transfer: ArrayBuffer[],
    shared: readonly WorkerShared[],
  ): Promise<Uint8Array | Uint8Array[]> {
    if (this.closed) return Promise.reject(new Error('the decode pool is closed'));
    const slot = this.pickSlot();
    this.share(slot, shared);
    const id = this.nextId++;
    return new Promise<Uint8Array | Uint8Array[]>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      const req: WorkerRequest = { id, task };
      slot.worker.postMessage(req, transfer);
    });
  }

  /** Posts what `slot`'s worker has not had yet (one message, applied before the task after it). */
  private share(slot: Slot, shared: readonly WorkerShared[]): void {
    let fresh: WorkerShared[] | undefined;
    for (const s of shared) {
      if (s.kind === 'source' ? slot.sources.has(s.id) : slot.slabs.has(s.id)) continue;
      if (s.kind === 'source') slot.sources.set(s.id, s.file.key);
      else {
        slot.slabs.add(s.id);
        if (!this.sharedSlabs.has(s.id)) {
          this.sharedSlabs.add(s.id);
          this.slabsGone.register(s.buffer, s.id);
        }
      }
      (fresh ??= []).push(s);
    }
    if (fresh)
      slot.worker.postMessage({ id: 0, task: { kind: 'share', items: fresh } } satisfies WorkerRequest);
  }

  private unshareSlab(id: number): void {
    this.sharedSlabs.delete(id);
    for (const slot of this.slots) {
      if (slot.slabs.delete(id))
        slot.worker.postMessage({ id: 0, task: { kind: 'unshare', slabs: [id] } } satisfies WorkerRequest);
    }
  }

  /** Runs a task on every running worker (e.g. to drop per-file state); errors are ignored. */
  async broadcast(task: WorkerTask): Promise<void> {
    if (task.kind === 'forget') {
      for (const slot of this.slots)
        for (const [id, key] of slot.sources) if (key === task.key) slot.sources.delete(id);
    }
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            const id = this.nextId++;
            if (slot.pending.size === 0) slot.worker.ref();
            slot.pending.set(id, { resolve: () => resolve(), reject: () => resolve() });
            slot.worker.postMessage({ id, task } satisfies WorkerRequest);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private pickSlot(): Slot {
    if (this.slots.length < this.size) {
      const idle = this.slots.find((s) => s.pending.size === 0);
      if (idle) return idle;
      return this.spawn();
    }
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < best.pending.size) best = s;
    return best;
  }

  private spawn(): Slot {
    const worker = startWorker();
    const slot: Slot = { worker, pending: new Map(), sources: new Map(), slabs: new Set() };
    worker.on('message', (res: WorkerResponse) => {
      const p = slot.pending.get(res.id);
      if (!p) return;
      slot.pending.delete(res.id);
      if (slot.pending.size === 0) worker.unref();
      if (res.ok) p.resolve(res.bytes ?? EMPTY);
      else p.reject(new Error(res.message));
    });
    const fail = (err: Error) => {
      this.slots = this.slots.filter((s) => s !== slot);
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`decode worker failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (slot.pending.size > 0) fail(new Error(`decode worker exited with code ${code}`));
      else this.slots = this.slots.filter((s) => s !== slot);
    });
    worker.unref();
    this.slots.push(slot);
    return slot;
  }
}

export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

let shared: DecodePool | undefined;

/** The process-wide pool used by readers unless one is passed explicitly. */
export function sharedDecodePool(): DecodePool {
  shared ??= new DecodePool();
  return shared;
}

/** Replaces the process-wide pool (e.g. to set the worker count); closes the old one. */
export async function setSharedDecodePool(pool: DecodePool): Promise<void> {
  const old = shared;
  shared = pool;
  if (old && old !== pool) await old.close();
}
