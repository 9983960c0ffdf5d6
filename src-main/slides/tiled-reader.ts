/**
 * Base class for tiled readers (QuPath's AbstractTileableImageServer): owns the shared tile cache,
 * empty and out-of-bounds tiles, de-duplication of concurrent requests for the same tile, and region
 * composition. A subclass implements only `readTile` (and metadata); it may also implement `readTiles`
 * to fetch the tiles a region needs in one batch (one worker round trip instead of one per tile).
 */
import type {
  RegionEncoding,
  RegionReadOptions,
  RgbaImage,
  SlideLevel,
  SlideMetadata,
  SlideReader,
} from './types.js';
import { sharedTileCache, type TileCache } from './tile-cache.js';
import { checkRegionSize } from './types.js';
import { rectCopier } from './codecs/native-pixels.js';
import { copyTileIntoRegion, type RegionBox } from './tile-region.js';
import { readAndEncodeRegion } from './encode.js';
import { sharedDecodePool, type DecodePool } from './worker/decode-pool.js';

/** A region of a level and the addresses of the stored tiles it touches. */
export interface RegionGeometry extends RegionBox {
  lv: SlideLevel;
  addresses: [col: number, row: number][];
}

export abstract class TiledSlideReader implements SlideReader {
  abstract readonly metadata: SlideMetadata;
  /** Tiles being read now, by cache key: concurrent requests for one tile share its read. */
  protected readonly inflight = new Map<string, Promise<Uint8Array | null>>();
  /** Set by close: tiles read after it are not cached. */
  protected closed = false;

  protected constructor(
    readonly id: string,
    readonly path: string,
    protected readonly cache: TileCache = sharedTileCache(),
    /** Where encodeRegion encodes (subclasses decode there too). */
    protected readonly pool: DecodePool = sharedDecodePool(),
  ) {}

  /** Decoded RGBA of one stored tile (tileWidth x tileHeight x 4), or null for an empty tile. */
  protected abstract readTile(level: number, col: number, row: number): Promise<Uint8Array | null>;

  /** Several tiles of one level at once; by default one `readTile` each. */
  protected readTiles(level: number, tiles: [col: number, row: number][]): Promise<(Uint8Array | null)[]> {
    return Promise.all(tiles.map(([c, r]) => this.readTile(level, c, r)));
  }

  abstract readAssociatedImage(name: string): Promise<RgbaImage>;

  /** readRegion, then flatten, resize and encode in the pool. */
  encodeRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    encoding: RegionEncoding,
  ): Promise<Uint8Array> {
    return readAndEncodeRegion(this, this.pool, level, x, y, w, h, encoding);
  }

  async readRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    into?: Uint8Array,
    // Tiles are always read whole here.
    _options?: RegionReadOptions,
  ): Promise<Uint8Array> {
    const g = this.regionGeometry(level, x, y, w, h);
    if (into && into.length !== w * h * 4) throw new RangeError('the output buffer does not fit the region');
    return this.composeRegion(level, g, w, h, into);
  }

  prefetchRegion(level: number, x: number, y: number, w: number, h: number): Promise<void> {
    let addresses: [number, number][];
    try {
      addresses = this.regionGeometry(level, x, y, w, h).addresses;
    } catch {
      return Promise.resolve();
    }
    return Promise.all(this.getTiles(level, addresses)).then(
      () => undefined,
      () => undefined,
    );
  }

  /** The region composed here from cached or freshly read tiles. */
  protected async composeRegion(
    level: number,
    g: RegionGeometry,
    w: number,
    h: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    const out = into ? into.fill(0) : new Uint8Array(w * h * 4);
    if (g.addresses.length === 0) return out;
    const copyRect = rectCopier();
    const { tileWidth: tw, tileHeight: th } = g.lv;
    await Promise.all(
      this.getTiles(level, g.addresses).map(async (pending, i) => {
        const tile = await pending;
        const [col, row] = g.addresses[i]!;
        if (tile) copyTileIntoRegion(copyRect, tile, col, row, tw, th, g, out, w);
      }),
    );
    return out;
  }

  /** Level coordinates of a region and the addresses of the stored tiles it touches. */
  protected regionGeometry(level: number, x: number, y: number, w: number, h: number): RegionGeometry {
    const lv = this.metadata.levels[level];
    if (!lv)
      throw new RangeError(`level ${level} does not exist (the slide has ${this.metadata.levels.length})`);
    checkRegionSize(w, h);
    const lx = Math.floor(x / lv.downsample);
    const ly = Math.floor(y / lv.downsample);
    const x0 = Math.max(0, lx);
    const y0 = Math.max(0, ly);
    const x1 = Math.min(lv.width, lx + w);
    const y1 = Math.min(lv.height, ly + h);
    const addresses: [number, number][] = [];
    if (x0 < x1 && y0 < y1) {
      const tw = lv.tileWidth;
      const th = lv.tileHeight;
      for (let row = Math.floor(y0 / th); row * th < y1; row++) {
        for (let col = Math.floor(x0 / tw); col * tw < x1; col++) addresses.push([col, row]);
      }
    }
    return { lv, lx, ly, x0, y0, x1, y1, addresses };
  }

  /** A stored tile's key in the shared cache (and for concurrent reads): the reader's id comes first. */
  protected tileKey(level: number, col: number, row: number): string {
    return `${this.id}/${level}/${col}/${row}`;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cache.deletePrefix(this.id + '/');
  }

  /** A stored tile through the cache; concurrent callers share one read. */
  getTile(level: number, col: number, row: number): Promise<Uint8Array | null> {
    const key = this.tileKey(level, col, row);
    const hit = this.cache.get(key);
    if (hit) return Promise.resolve(hit);
    return this.inflight.get(key) ?? this.track(key, this.readTile(level, col, row));
  }

  /** Like getTile for many tiles: cache hits and running requests are shared, the rest batched. */
  getTiles(level: number, tiles: [col: number, row: number][]): Promise<Uint8Array | null>[] {
    const out: Promise<Uint8Array | null>[] = [];
    const missing: { key: string; index: number; col: number; row: number }[] = [];
    tiles.forEach(([col, row], index) => {
      const key = this.tileKey(level, col, row);
      const hit = this.cache.get(key);
      if (hit) out[index] = Promise.resolve(hit);
      else {
        const running = this.inflight.get(key);
        if (running) out[index] = running;
        else missing.push({ key, index, col, row });
      }
    });
    if (missing.length === 0) return out;
    const batch = this.readTiles(
      level,
      missing.map((m) => [m.col, m.row]),
    );
    missing.forEach((m, i) => {
      out[m.index] = this.track(
        m.key,
        batch.then((decoded) => decoded[i] ?? null),
      );
    });
    return out;
  }

  /**
   * Registers a running read of one tile: concurrent requests share it, and the cache gets its pixels,
   * unless the slide closed meanwhile (close has dropped its tiles). Then the callers get a copy of their
   * own and the buffer goes back to the cache at once: it may be a slab slot, which a decode for another
   * slide could take and a worker write while a caller still copies from it.
   */
  private track(key: string, read: Promise<Uint8Array | null>): Promise<Uint8Array | null> {
    const p = read.then(
      (tile) => {
        this.inflight.delete(key);
        if (!tile) return tile;
        if (!this.closed) {
          this.cache.set(key, tile);
          return tile;
        }
        const own = tile.slice();
        this.cache.giveBack(tile);
        return own;
      },
      (err: unknown) => {
        this.inflight.delete(key);
        throw err;
      },
    );
    this.inflight.set(key, p);
    return p;
  }
}
