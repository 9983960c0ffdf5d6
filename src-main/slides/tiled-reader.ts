/**
 * Base class for tiled readers: owns the shared tile cache, empty and out-of-bounds tiles,
 * de-duplication of concurrent requests for the same tile, and region composition. A subclass
 * implements only `readTile` (and metadata).
 */
import type { RgbaImage, SlideMetadata, SlideReader } from './types.js';
import { sharedTileCache, type TileCache } from './tile-cache.js';

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

  async readRegion(level: number, x: number, y: number, w: number, h: number): Promise<Uint8Array> {
    const lv = this.metadata.levels[level];
    if (!lv)
      throw new RangeError(`level ${level} does not exist (the slide has ${this.metadata.levels.length})`);
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 0 || h < 0 || w * h > 1 << 28) {
      throw new RangeError(`invalid region size ${w}x${h}`);
    }
    const out = new Uint8Array(w * h * 4);
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
    const jobs: Promise<void>[] = [];
    for (let row = Math.floor(y0 / th); row * th < y1; row++) {
      for (let col = Math.floor(x0 / tw); col * tw < x1; col++) {
        jobs.push(
          this.getTile(level, col, row).then((tile) => {
            if (!tile) return;
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
      }
    }
    await Promise.all(jobs);
    return out;
  }
}
