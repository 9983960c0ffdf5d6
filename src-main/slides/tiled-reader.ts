/**
 * Base class for tiled readers: owns the shared tile cache, empty and out-of-bounds tiles,
 * de-duplication of concurrent requests for the same tile, and region composition. A subclass
 * implements only `readTile` (and metadata); it may also implement `readTiles` to fetch the tiles
 * a region needs in one batch (one worker round trip instead of one per tile).
 */
import type { RegionEncoding, RgbaImage, SlideMetadata, SlideReader } from './types.js';
import type { TileFormat } from './codecs/tile-format.js';
import type { DecodePool } from './worker/decode-pool.js';
import { sharedTileCache, type TileCache } from './tile-cache.js';
import { MAX_REGION_PIXELS } from './types.js';
import { canDecodeTilePart } from './codecs/decode-tile.js';
import { rectCopier } from './codecs/native-pixels.js';
import type { RenderTile } from './worker/messages.js';

/** A missing tile is decoded only in part when a request needs less than this fraction of it. */
const PART_DECODE_MAX_FRACTION = 0.5;
/** How many partly decoded tiles a reader remembers, to decode them whole when asked again. */
const PART_DECODE_MEMORY = 4096;
const NO_PIXELS = new Uint8Array(0);

interface RegionGeometry {
  lv: SlideMetadata['levels'][number];
  lx: number;
  ly: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  addresses: [number, number][];
}

export abstract class TiledSlideReader implements SlideReader {
  abstract readonly metadata: SlideMetadata;
  private inflight = new Map<string, Promise<Uint8Array | null>>();
  /** Tiles recently decoded only in part, oldest first (see decodeInPart). */
  private decodedInPart = new Set<string>();

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

  /**
   * Where a worker can read a level's tiles itself (file, tile format, pool), for encodeRegion;
   * undefined (the default) where it cannot.
   */
  protected workerSource(
    _level: number,
  ): { pool: DecodePool; file: { key: string; path: string }; format: TileFormat } | undefined {
    return undefined;
  }

  /** File offset and length of a stored tile, null when nothing is stored (for workerSource levels). */
  protected storedRange(_level: number, _col: number, _row: number): [number, number] | null {
    return null;
  }

  /** Wraps a worker's decode error for the user (the subclass knows the file). */
  protected decodeError(level: number, err: unknown): Error {
    return err instanceof Error ? err : new Error(String(err));
  }

  /**
   * One worker task per region: cached tiles are passed as their slab slots (pinned while the
   * worker reads them), missing ones are decoded by the worker into fresh slots and cached when it
   * answers; the main thread copies no pixels. Undefined where a tile is not in a slab slot.
   */
  async encodeRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    encoding: RegionEncoding,
  ): Promise<Uint8Array | undefined> {
    return await this.renderInWorker(level, this.regionGeometry(level, x, y, w, h), w, h, encoding);
  }

  /**
   * Whether a missing tile is decoded only in part: where its format allows it, the request needs less
   * than half of it, and no recent request decoded part of it. A part is not cached; a tile asked for a
   * second time (neighbouring patches read in order, a viewer panning) is decoded whole and cached, so
   * random access pays for parts and coherent access for one extra decode. `peek` leaves the record as
   * it is.
   */
  private decodeInPart(
    format: TileFormat,
    key: string,
    g: RegionGeometry,
    col: number,
    row: number,
    peek = false,
  ): boolean {
    const { tileWidth: tw, tileHeight: th } = format;
    // Pixels of the tile inside the region.
    const needed =
      (Math.min(g.x1, (col + 1) * tw) - Math.max(g.x0, col * tw)) *
      (Math.min(g.y1, (row + 1) * th) - Math.max(g.y0, row * th));
    if (needed >= PART_DECODE_MAX_FRACTION * tw * th) return false;
    if (!canDecodeTilePart(format)) return false;
    if (this.decodedInPart.has(key)) {
      if (!peek) this.decodedInPart.delete(key);
      return false;
    }
    if (!peek) {
      this.decodedInPart.add(key);
      if (this.decodedInPart.size > PART_DECODE_MEMORY) {
        this.decodedInPart.delete(this.decodedInPart.values().next().value!);
      }
    }
    return true;
  }

  private async renderInWorker(
    level: number,
    g: RegionGeometry,
    w: number,
    h: number,
    output: RegionEncoding | { type: 'rgba' },
    /** For 'rgba': where the pixels go (else a new buffer). */
    into?: Uint8Array,
  ): Promise<Uint8Array | undefined> {
    const source = this.workerSource(level);
    if (!source) return undefined;
    // Tiles other requests are decoding right now: wait for them, then everything is cache or ours.
    for (;;) {
      const running = g.addresses.flatMap(([c, r]) => this.inflight.get(this.tileKey(level, c, r)) ?? []);
      if (running.length === 0) break;
      await Promise.allSettled(running);
    }
    const { tileWidth: tw, tileHeight: th } = source.format;
    const tiles: RenderTile[] = [];
    const pinned: Uint8Array[] = [];
    const decoding: {
      key: string;
      pixels: Uint8Array;
      done: (tile: Uint8Array | null, err?: unknown) => void;
    }[] = [];
    const undo = () => {
      for (const p of pinned) this.cache.unpin(p);
      for (const d of decoding) this.cache.giveBack(d.pixels);
    };
    for (const [col, row] of g.addresses) {
      const key = this.tileKey(level, col, row);
      const hit = this.cache.get(key);
      if (hit) {
        if (!this.cache.isSlabSlot(hit)) return (undo(), undefined);
        this.cache.pin(hit);
        pinned.push(hit);
        tiles.push({ col, row, pixels: hit, range: null });
        continue;
      }
      const range = this.storedRange(level, col, row);
      if (!range) continue; // sparse: transparent
      if (this.decodeInPart(source.format, key, g, col, row)) {
        tiles.push({ col, row, pixels: NO_PIXELS, range, part: true });
        continue;
      }
      const pixels = this.cache.takeSlot(tw * th * 4);
      if (!pixels) return (undo(), undefined);
      tiles.push({ col, row, pixels, range });
      decoding.push({ key, pixels, done: () => {} });
    }
    // Concurrent getTile callers share these decodes.
    for (const d of decoding) {
      const p = new Promise<Uint8Array | null>((resolve, reject) => {
        d.done = (tile, err) => (err === undefined ? resolve(tile) : reject(err as Error));
      });
      p.catch(() => {});
      this.inflight.set(d.key, p);
    }
    // Raw pixels are composed in shared memory, so no buffer crosses back (a fresh 256 KiB answer per
    // region made V8 run a full GC every few hundred regions): in the caller's buffer where that is shared,
    // else in a slab slot copied out below.
    const intoShared = output.type === 'rgba' && into?.buffer instanceof SharedArrayBuffer ? into : undefined;
    const slot = output.type === 'rgba' && !intoShared ? this.cache.takeSlot(w * h * 4) : undefined;
    const encoding =
      output.type === 'rgba'
        ? {
            outWidth: w,
            outHeight: h,
            flatten: false,
            type: 'rgba' as const,
            quality: 0,
            into: intoShared ?? slot,
          }
        : output;
    try {
      const result = await source.pool.run({
        kind: 'render',
        file: source.file,
        format: source.format,
        tiles,
        region: { lx: g.lx, ly: g.ly, x0: g.x0, y0: g.y0, x1: g.x1, y1: g.y1 },
        width: w,
        height: h,
        ...encoding,
      });
      for (const d of decoding) {
        this.inflight.delete(d.key);
        this.cache.set(d.key, d.pixels);
        d.done(d.pixels);
      }
      for (const p of pinned) this.cache.unpin(p);
      if (output.type !== 'rgba' || intoShared) return intoShared ?? result;
      if (!slot) {
        // No slot was free: the pixels came back in a buffer of their own.
        if (!into) return result;
        into.set(result);
        return into;
      }
      const pixels = into ?? new Uint8Array(w * h * 4);
      rectCopier()(slot, 0, w * 4, pixels, 0, w * 4, w * 4, h); // set() copies shared memory word by word
      this.cache.giveBack(slot);
      return pixels;
    } catch (err) {
      const error = this.decodeError(level, err);
      for (const d of decoding) {
        this.inflight.delete(d.key);
        d.done(null, error);
      }
      undo();
      if (slot) this.cache.giveBack(slot);
      throw error;
    }
  }

  /**
   * True when reading this region in one worker task pays: a missing tile that would be decoded only in
   * part (otherwise the tiles are fetched into the cache and the region composed here).
   */
  private renderPays(level: number, g: RegionGeometry): boolean {
    const source = this.workerSource(level);
    if (!source || !canDecodeTilePart(source.format)) return false;
    return g.addresses.some(([col, row]) => {
      const key = this.tileKey(level, col, row);
      if (this.cache.get(key)) return false;
      return this.decodeInPart(source.format, key, g, col, row, true);
    });
  }

  /**
   * The level box-reduced by `factor`, tile by tile in the decode workers (one task per worker, a band of
   * tile rows each, writing into shared memory): no full-size copy of the level is ever composed. Only
   * where the factor divides the tile size, so that reduction blocks never straddle tiles; the pixels are
   * then those of reducing the whole level at once. Tiles are decoded from the file, not cached.
   */
  async readLevelReduced(
    level: number,
    factor: number,
    flattenOnWhite: boolean,
  ): Promise<RgbaImage | undefined> {
    const source = this.workerSource(level);
    const lv = this.metadata.levels[level];
    if (!source || !lv || !Number.isInteger(factor) || factor < 1) return undefined;
    const { tileWidth: tw, tileHeight: th } = source.format;
    if (tw % factor !== 0 || th % factor !== 0 || lv.tileWidth !== tw || lv.tileHeight !== th)
      return undefined;
    const width = Math.ceil(lv.width / factor);
    const height = Math.ceil(lv.height / factor);
    const out = new Uint8Array(new SharedArrayBuffer(width * height * 4));
    const rows = Math.ceil(lv.height / th);
    const cols = Math.ceil(lv.width / tw);
    const bands = Math.min(source.pool.size, rows);
    const tasks: Promise<unknown>[] = [];
    for (let b = 0; b < bands; b++) {
      const tiles: { col: number; row: number; range: [number, number] | null }[] = [];
      for (let row = Math.floor((b * rows) / bands); row < Math.floor(((b + 1) * rows) / bands); row++) {
        for (let col = 0; col < cols; col++)
          tiles.push({ col, row, range: this.storedRange(level, col, row) });
      }
      tasks.push(
        source.pool.run({
          kind: 'reduceTiles',
          file: source.file,
          format: source.format,
          tiles,
          factor,
          flatten: flattenOnWhite,
          levelWidth: lv.width,
          levelHeight: lv.height,
          out,
          outWidth: width,
        }),
      );
    }
    try {
      await Promise.all(tasks);
    } catch (err) {
      throw this.decodeError(level, err);
    }
    return { rgba: out, width, height };
  }

  /** Level coordinates of a region and the addresses of the stored tiles it touches. */
  private regionGeometry(level: number, x: number, y: number, w: number, h: number): RegionGeometry {
    const lv = this.metadata.levels[level];
    if (!lv)
      throw new RangeError(`level ${level} does not exist (the slide has ${this.metadata.levels.length})`);
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 0 || h < 0 || w * h > MAX_REGION_PIXELS) {
      throw new RangeError(`invalid region size ${w}x${h} (at most ${MAX_REGION_PIXELS} pixels)`);
    }
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

  /** A stored tile's key in the shared cache (and for concurrent decodes): the reader's id comes first. */
  private tileKey(level: number, col: number, row: number): string {
    return `${this.id}/${level}/${col}/${row}`;
  }

  async close(): Promise<void> {
    this.decodedInPart.clear();
    this.cache.deletePrefix(this.id + '/');
  }

  /** A stored tile through the cache; concurrent callers share one decode. */
  getTile(level: number, col: number, row: number): Promise<Uint8Array | null> {
    const key = this.tileKey(level, col, row);
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
    const copyRect = rectCopier();
    const g = this.regionGeometry(level, x, y, w, h);
    const { lv, lx, ly, x0, y0, x1, y1, addresses } = g;
    if (into && into.length !== w * h * 4) throw new RangeError('the output buffer does not fit the region');
    if (this.renderPays(level, g)) {
      const rgba = await this.renderInWorker(level, g, w, h, { type: 'rgba' }, into);
      if (rgba) return rgba;
    }
    const out = into ? into.fill(0) : new Uint8Array(w * h * 4);
    if (addresses.length === 0) return out;
    const tw = lv.tileWidth;
    const th = lv.tileHeight;
    const jobs = this.getTiles(level, addresses).map((pending, i) =>
      pending.then((tile) => {
        if (!tile) return;
        const [col, row] = addresses[i]!;
        // Intersection of this tile with the region, in level coordinates.
        const ix0 = Math.max(x0, col * tw);
        const iy0 = Math.max(y0, row * th);
        const ix1 = Math.min(x1, (col + 1) * tw);
        const iy1 = Math.min(y1, (row + 1) * th);
        copyRect(
          tile,
          ((iy0 - row * th) * tw + (ix0 - col * tw)) * 4,
          tw * 4,
          out,
          ((iy0 - ly) * w + (ix0 - lx)) * 4,
          w * 4,
          (ix1 - ix0) * 4,
          iy1 - iy0,
        );
      }),
    );
    await Promise.all(jobs);
    return out;
  }
}
