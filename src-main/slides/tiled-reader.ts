/**
 * Base class for tiled readers: owns the shared tile cache, empty and out-of-bounds tiles,
 * de-duplication of concurrent requests for the same tile, and region composition. A subclass
 * implements only `readTile` (and metadata); it may also implement `readTiles` to fetch the tiles
 * a region needs in one batch (one worker round trip instead of one per tile).
 */
import type { RgbaImage, SlideMetadata, SlideReader } from './types.js';
import { sharedTileCache, type TileCache } from './tile-cache.js';
import { MAX_REGION_PIXELS } from './types.js';

export abstract class TiledSlideReader implements SlideReader {
  abstract readonly metadata: SlideMetadata;
  private inflight = new Map<string, Promise<Uint8Array | null>>();

  protected constructor(
    readonly id: string,
    readonly path: string,
    protected readonly cache: TileCache = sharedTileCache(),
  ) {}

  /** Decoded RGBA of one stored tile (tileWidth x tileHeight x 4), or null for an empty tile. */
  protected abstract readTile(level: number, col: number, row: number): Promise<Uint8Array | null>;

  /** Several tiles of one level at once; by default one `readTile` each. */
  protected readTiles(level: number, tiles: [col: number, row: number][]): Promise<(Uint8Array | null)[]> {
    return Promise.all(tiles.map(([c, r]) => this.readTile(level, c, r)));
  }

  abstract readAssociatedImage(name: string): Promise<RgbaImage>;

  async close(): Promise<void> {
    this.cache.deletePrefix(this.id + '/');
  }

  /** A stored tile through the cache; concurrent callers share one decode. */
  getTile(level: number, col: number, row: number): Promise<Uint8Array | null> {
    const key = `${this.id}/${level}/${col}/${row}`;
    const hit = this.cache.get(key);
    if (hit) return Promise.resolve(hit);
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.readTile(level, col, row).then(
      (tile) => {
        this.inflight.delete(key);
        if (tile) this.cache.set(key, tile);
        return tile;
      },
      (err: unknown) => {
        this.inflight.delete(key);
        throw err;
      },
    );
    this.inflight.set(key, p);
    return p;
  }

  /** Like getTile for many tiles: cache hits and running requests are shared, the rest batched. */
  getTiles(level: number, tiles: [col: number, row: number][]): Promise<Uint8Array | null>[] {
    const out: Promise<Uint8Array | null>[] = [];
    const missing: { key: string; index: number; col: number; row: number }[] = [];
    tiles.forEach(([col, row], index) => {
      const key = `${this.id}/${level}/${col}/${row}`;
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
      const p = batch.then(
        (decoded) => {
          this.inflight.delete(m.key);
          const tile = decoded[i] ?? null;
          if (tile) this.cache.set(m.key, tile);
          return tile;
        },
        (err: unknown) => {
          this.inflight.delete(m.key);
          throw err;
        },
      );
      this.inflight.set(m.key, p);
      out[m.index] = p;
    });
    return out;
  }

  async readRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    const lv = this.metadata.levels[level];
    if (!lv)
      throw new RangeError(`level ${level} does not exist (the slide has ${this.metadata.levels.length})`);
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 0 || h < 0 || w * h > MAX_REGION_PIXELS) {
      throw new RangeError(`invalid region size ${w}x${h} (at most ${MAX_REGION_PIXELS} pixels)`);
    }
    if (into && into.length !== w * h * 4) throw new RangeError('the output buffer does not fit the region');
    const out = into ? into.fill(0) : new Uint8Array(w * h * 4);
    // Level coordinates of the region's top-left corner.
    const lx = Math.floor(x / lv.downsample);
    const ly = Math.floor(y / lv.downsample);
    const x0 = Math.max(0, lx);
    const y0 = Math.max(0, ly);
    const x1 = Math.min(lv.width, lx + w);
    const y1 = Math.min(lv.height, ly + h);
    if (x0 >= x1 || y0 >= y1) return out;
    const tw = lv.tileWidth;
    const th = lv.tileHeight;
    const addresses: [number, number][] = [];
    for (let row = Math.floor(y0 / th); row * th < y1; row++) {
      for (let col = Math.floor(x0 / tw); col * tw < x1; col++) addresses.push([col, row]);
    }
    const jobs = this.getTiles(level, addresses).map((pending, i) =>
      pending.then((tile) => {
        if (!tile) return;
        const [col, row] = addresses[i]!;
        // Intersection of this tile with the region, in level coordinates.
        const ix0 = Math.max(x0, col * tw);
        const iy0 = Math.max(y0, row * th);
        const ix1 = Math.min(x1, (col + 1) * tw);
        const iy1 = Math.min(y1, (row + 1) * th);
        const rowBytes = (ix1 - ix0) * 4;
        for (let yy = iy0; yy < iy1; yy++) {
          const src = ((yy - row * th) * tw + (ix0 - col * tw)) * 4;
          const dst = ((yy - ly) * w + (ix0 - lx)) * 4;
          out.set(tile.subarray(src, src + rowBytes), dst);
        }
      }),
    );
    await Promise.all(jobs);
    return out;
  }
}
