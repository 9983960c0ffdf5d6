/**
 * Byte-bounded LRU cache of decoded RGBA tiles, shared by every open reader (keys start with the
 * reader's unique id). A Map keeps insertion order, so re-inserting on hit makes the first key the
 * least recently used one.
 */
export class TileCache {
  private entries = new Map<string, Uint8Array>();
  private bytes = 0;

  constructor(private capacityBytes: number) {}

  get(key: string): Uint8Array | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, value: Uint8Array): void {
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.byteLength;
      this.entries.delete(key);
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
    }
  }
}

const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
let shared: TileCache | undefined;

/** The process-wide tile cache (256 MiB unless resized with setCapacity). */
export function sharedTileCache(): TileCache {
  shared ??= new TileCache(DEFAULT_CACHE_BYTES);
  return shared;
}
