/**
 * Byte-bounded LRU cache of decoded RGBA tiles, shared by every open reader (keys start with the
 * reader's unique id). A Map keeps insertion order, so re-inserting on hit makes the first key the
 * least recently used one.
 *
 * Tile memory lives in slabs: SharedArrayBuffers of up to 16 MiB, cut into slots of one tile size
 * (`takeBuffer`). Workers decode straight into a slot (sharing, no transfer) and evicted slots are
 * reused, so tile churn allocates nothing: per-tile ArrayBuffers made V8 run full GCs on the main
 * thread as external memory grew (3-14 ms pauses in the p99 of region reads). Slabs grow up to the
 * capacity plus two slabs (room for the tiles being decoded and the regions being composed while the
 * cache is full) and are kept for the life of the cache; past that, and for tiles over a
 * quarter of a slab, plain buffers are used and recycled the old way (at most 64 MiB spare).
 * A slot or buffer becomes reusable only after the current macrotask, so a tile handed out by
 * `get` stays intact at least until then (callers copy what they need right away, as readRegion does).
 */
export class TileCache {
  private entries = new Map<string, Uint8Array>();
  private bytes = 0;
  /** Free slab slots by size, and every slot ever cut (to tell them from plain buffers). */
  private freeSlots = new Map<number, Uint8Array[]>();
  private slots = new WeakSet<Uint8Array>();
  /** Slots that are free or quarantined, so that a slot released twice is reused only once. */
  private idleSlots = new WeakSet<Uint8Array>();
  private slabBytes = 0;
  /** Slots a worker is reading (pinned): if evicted meanwhile, reused only once unpinned. */
  private pins = new Map<Uint8Array, number>();
  private releaseOnUnpin = new Set<Uint8Array>();
  private spare = new Map<number, ArrayBuffer[]>();
  private spareBytes = 0;
  private quarantine: Uint8Array[] = [];
  private flushScheduled = false;
  private readonly maxSpareBytes = 64 * 1024 * 1024;
  private readonly slabSize = 16 * 1024 * 1024;

  constructor(private capacityBytes: number) {}

  get(key: string): Uint8Array | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  /**
   * A zeroed or recycled buffer of `bytes` bytes for a tile about to be decoded: a slab slot (a view
   * on a SharedArrayBuffer) where possible. Give it to `set`, or back with `giveBack` if unused.
   */
  takeBuffer(bytes: number): Uint8Array {
    const slot = this.takeSlot(bytes);
    if (slot) return slot;
    const list = this.spare.get(bytes);
    const buffer = list?.pop();
    if (buffer) {
      this.spareBytes -= bytes;
      return new Uint8Array(buffer);
    }
    return new Uint8Array(bytes);
  }

  /**
   * A slab slot of `bytes` bytes (shared memory a worker writes in place), or undefined where slabs do not
   * serve this size or have reached their bound. Give it to `set`, or back with `giveBack` if unused.
   */
  takeSlot(bytes: number): Uint8Array | undefined {
    const slot = this.freeSlots.get(bytes)?.pop();
    if (slot) {
      this.idleSlots.delete(slot);
      return slot;
    }
    if (bytes > 0 && bytes <= this.slabSize / 4 && this.slabBytes < this.capacityBytes + 2 * this.slabSize) {
      const count = Math.max(
        1,
        Math.min(Math.floor(this.slabSize / bytes), Math.ceil(this.capacityBytes / bytes)),
      );
      const slab = new SharedArrayBuffer(count * bytes);
      this.slabBytes += slab.byteLength;
      let first: Uint8Array | undefined;
      const free = this.freeSlots.get(bytes) ?? [];
      this.freeSlots.set(bytes, free);
      for (let i = count - 1; i >= 0; i--) {
        const view = new Uint8Array(slab, i * bytes, bytes);
        this.slots.add(view);
        if (i > 0) {
          this.idleSlots.add(view);
          free.push(view);
        } else first = view;
      }
      return first!;
    }
    return undefined;
  }

  /** True for a slab slot from `takeBuffer` (shared memory a worker can read and write in place). */
  isSlabSlot(view: Uint8Array): boolean {
    return this.slots.has(view);
  }

  /** Keeps a slot from being reused while a worker reads it, even if it is evicted; see `unpin`. */
  pin(view: Uint8Array): void {
    this.pins.set(view, (this.pins.get(view) ?? 0) + 1);
  }

  unpin(view: Uint8Array): void {
    const n = (this.pins.get(view) ?? 1) - 1;
    if (n > 0) {
      this.pins.set(view, n);
      return;
    }
    this.pins.delete(view);
    if (this.releaseOnUnpin.delete(view)) this.release(view);
  }

  /** Returns a buffer from `takeBuffer` that was not stored (e.g. its decode failed). */
  giveBack(buffer: Uint8Array): void {
    this.release(buffer);
  }

  set(key: string, value: Uint8Array): void {
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.byteLength;
      this.entries.delete(key);
      if (old !== value) this.release(old);
    }
    if (value.byteLength > this.capacityBytes) {
      this.release(value);
      return;
    }
    this.entries.set(key, value);
    this.bytes += value.byteLength;
    this.evict();
  }

  /** Drops every entry whose key starts with `prefix` (a closed reader's tiles). */
  deletePrefix(prefix: string): void {
    for (const [k, v] of this.entries) {
      if (k.startsWith(prefix)) {
        this.entries.delete(k);
        this.bytes -= v.byteLength;
        this.release(v);
      }
    }
  }

  setCapacity(bytes: number): void {
    this.capacityBytes = bytes;
    this.evict();
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get capacity(): number {
    return this.capacityBytes;
  }

  get count(): number {
    return this.entries.size;
  }

  /** Bytes of slab slots free for reuse (not cached, lent out or waiting out the current macrotask). */
  get freeSlabBytes(): number {
    let n = 0;
    for (const [bytes, list] of this.freeSlots) n += bytes * list.length;
    return n;
  }

  /** Bytes held in slabs (in use or free). */
  get slabSizeBytes(): number {
    return this.slabBytes;
  }

  private evict(): void {
    while (this.bytes > this.capacityBytes) {
      const first = this.entries.keys().next();
      if (first.done) break;
      const v = this.entries.get(first.value)!;
      this.entries.delete(first.value);
      this.bytes -= v.byteLength;
      this.release(v);
    }
  }

  private release(view: Uint8Array): void {
    if (this.pins.has(view)) {
      this.releaseOnUnpin.add(view);
      return;
    }
    if (this.slots.has(view)) {
      if (this.idleSlots.has(view)) return;
      this.idleSlots.add(view);
    } else {
      const buffer = view.buffer;
      if (!(buffer instanceof ArrayBuffer) || view.byteOffset !== 0 || view.byteLength !== buffer.byteLength)
        return;
      if (this.spareBytes + buffer.byteLength > this.maxSpareBytes) return;
      this.spareBytes += buffer.byteLength;
    }
    this.quarantine.push(view);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const v of this.quarantine) {
        if (this.slots.has(v)) {
          this.freeSlots.get(v.byteLength)!.push(v);
          continue;
        }
        const b = v.buffer as ArrayBuffer;
        const list = this.spare.get(b.byteLength);
        if (list) list.push(b);
        else this.spare.set(b.byteLength, [b]);
      }
      this.quarantine = [];
    });
  }
}

const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
let shared: TileCache | undefined;

/** The process-wide tile cache (256 MiB unless resized with setCapacity). */
export function sharedTileCache(): TileCache {
  shared ??= new TileCache(DEFAULT_CACHE_BYTES);
  return shared;
}
