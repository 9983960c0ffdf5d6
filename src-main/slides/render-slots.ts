/**
 * The tile-cache slots one render task uses, and what becomes of them.
 *
 * While the task is planned, `pin` keeps a cached tile's slot from being reused (even if it is evicted
 * meanwhile) and `decodeInto` takes a fresh slot for a missing tile; `giveBackAll` undoes both when the
 * plan is dropped. Once the task is sent, `start` lets concurrent requests wait for the tiles being
 * decoded, and exactly one of `commit` (the decoded tiles enter the cache) or `fail` (their waiters get
 * the error and the slots go back) ends it. Every path releases every pin once.
 */
import type { TileCache } from './tile-cache.js';

interface Decoding {
  key: string;
  pixels: Uint8Array;
  /** Settles the promise concurrent requests wait on (set by start). */
  settle?: (error?: Error) => void;
}

export class RenderSlots {
  private pinned: Uint8Array[] = [];
  private decoding: Decoding[] = [];
  private inflight?: Map<string, Promise<Uint8Array | null>>;

  constructor(private readonly cache: TileCache) {}

  /** Pins a cached tile for the worker; false where it is not a slab slot (no worker can read it in place). */
  pin(tile: Uint8Array): boolean {
    if (!this.cache.isSlabSlot(tile)) return false;
    this.cache.pin(tile);
    this.pinned.push(tile);
    return true;
  }

  /** A fresh slot the worker decodes the tile `key` into, or undefined where none is free. */
  decodeInto(key: string, bytes: number): Uint8Array | undefined {
    const pixels = this.cache.takeSlot(bytes);
    if (pixels) this.decoding.push({ key, pixels });
    return pixels;
  }

  /** Drops the plan: unpins and gives back every slot. Returns undefined, for `return slots.giveBackAll()`. */
  giveBackAll(): undefined {
    for (const d of this.decoding) this.cache.giveBack(d.pixels);
    this.decoding = [];
    this.unpinAll();
    return undefined;
  }

  /** The task is sent: requests for the tiles it decodes wait for it (in `inflight`, by cache key). */
  start(inflight: Map<string, Promise<Uint8Array | null>>): void {
    this.inflight = inflight;
    for (const d of this.decoding) {
      const waiting = new Promise<Uint8Array | null>((resolve, reject) => {
        d.settle = (error) => (error ? reject(error) : resolve(d.pixels));
      });
      waiting.catch(() => {}); // nobody may be waiting
      inflight.set(d.key, waiting);
    }
  }

  /** The task succeeded: the decoded tiles enter the cache, their waiters get them, pins are released. */
  commit(): void {
    for (const d of this.decoding) {
      this.inflight?.delete(d.key);
      this.cache.set(d.key, d.pixels);
      d.settle?.();
    }
    this.decoding = [];
    this.unpinAll();
  }

  /** The task failed: waiters get `error`, the fresh slots go back, pins are released. */
  fail(error: Error): void {
    for (const d of this.decoding) {
      this.inflight?.delete(d.key);
      d.settle?.(error);
    }
    this.giveBackAll();
  }

  private unpinAll(): void {
    for (const p of this.pinned) this.cache.unpin(p);
    this.pinned = [];
  }
}
