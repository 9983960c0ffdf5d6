/**
 * Byte-bounded LRU cache of decoded RGBA tiles, shared by every open reader (keys start with the
 * reader's unique id). A Map keeps insertion order, so re-inserting on hit makes the first key the
 * least recently used one.
 *
 * Evicted tile buffers are recycled (`takeBuffer`) for the next decodes instead of being left to
 * the garbage collector: tile churn otherwise triggers frequent full GCs on the main thread. A
 * buffer becomes reusable only after the current macrotask, so a tile handed out by `get` stays
 * intact at least until then (callers copy what they need right away, as readRegion does).
 */
export class TileCache {
  private entries = new Map<string, Uint8Array>();
  private bytes = 0;
  private spare = new Map<number, ArrayBuffer[]>();
  private spareBytes = 0;
  private quarantine: ArrayBuffer[] = [];
  private flushScheduled = false;
  private readonly maxSpareBytes = 64 * 1024 * 1024;

  constructor(private capacityBytes: number) {}

  get(key: string): Uint8Array | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  /** A buffer of `bytes` bytes for a tile about to be decoded: a recycled one when available. */
  takeBuffer(bytes: number): Uint8Array {
    const list = this.spare.get(bytes);
    const buffer = list?.pop();
    if (buffer) {
      this.spareBytes -= bytes;
      return new Uint8Array(buffer);
    }
    return new Uint8Array(bytes);
  }

  set(key: string, value: Uint8Array): void {
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.byteLength;
      this.entries.delete(key);
      if (old !== value) this.release(old);
    }
    if (value.byteLength > this.capacityBytes) return;
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
    const buffer = view.buffer;
    if (!(buffer instanceof ArrayBuffer) || view.byteOffset !== 0 || view.byteLength !== buffer.byteLength)
      return;
    if (this.spareBytes + buffer.byteLength > this.maxSpareBytes) return;
    this.spareBytes += buffer.byteLength;
    this.quarantine.push(buffer);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const b of this.quarantine) {
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
