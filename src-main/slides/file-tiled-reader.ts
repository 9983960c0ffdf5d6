/**
 * A tiled reader whose stored tiles are byte ranges of one file, in a format the codecs decode: the decode
 * workers read and decode the tiles themselves, so regions and Deep Zoom tiles can be rendered in one
 * worker task (render), regions can decode only the part of a tile they need, and a whole level can be
 * box-reduced tile by tile (reduceTiles). Where the addon can, a region of JPEG tiles of which one is
 * decoded in part skips the workers: it is read on libuv's thread pool straight into the caller's buffer
 * (readRegionInPool). A subclass says where each tile is (storedRange) and how it is coded (tileFormat);
 * the TIFF reader is one.
 */
import type { RegionEncoding, RegionReadOptions, RgbaImage, SlideLevel } from './types.js';
import { hasRgbJpegComponents, type TileFormat } from './codecs/tile-format.js';
import type { DecodePool } from './worker/decode-pool.js';
import type { TileCache } from './tile-cache.js';
import { TiledSlideReader, type RegionGeometry } from './tiled-reader.js';
import { canDecodeTilePart } from './codecs/decode-tile.js';
import { rectCopier, regionPartsReader } from './codecs/native-pixels.js';
import type { SlideFile } from './open-file.js';
import { tilePartInRegion } from './tile-region.js';
import { RenderSlots } from './render-slots.js';
import type { RenderTile, WorkerShared } from './worker/messages.js';
import { packRenderTask } from './worker/render-task.js';

/**
 * A missing tile is decoded only in part when a request needs less than this fraction of it; a tile it
 * needs most of is decoded whole and cached (a part that large costs nearly a whole decode). At one half,
 * random 256 px reads decoded a whole tile in three requests of five, for parts of 50-75% that cost less.
 */
const PART_DECODE_MAX_FRACTION = 0.75;
/**
 * How many partly decoded tiles a reader remembers, to decode them whole when asked again soon: coherent
 * access (neighbouring regions, a screen of Deep Zoom tiles) comes back to a tile within a few dozen
 * requests. Random access over a large slide comes back too, but much later, when a whole decode no longer
 * pays (its cached tile is seldom used again): with 4096 remembered, 1500 random 256 px regions of a
 * 17760 x 20769 slide spent more time decoding whole tiles than parts.
 */
const PART_DECODE_MEMORY = 256;
/**
 * A level whose tiles, all decoded, would take at most this share of the tile cache is read by whole
 * decodes only: under any access its tiles are soon all cached, so a part decoded now would be followed by
 * a whole decode of the same tile. (A 4096 x 4096 level against the default 256 MiB cache; the reduced
 * levels of most slides, and the full resolution of small ones.)
 */
const WHOLE_DECODE_LEVEL_CACHE_SHARE = 0.25;
const NO_PIXELS = new Uint8Array(0);
/**
 * Region reads on libuv's thread pool at once, per decode pool: no more than its workers, so that the
 * pool's size still bounds how many threads decode tiles, and one fewer than libuv's threads, so that
 * file reads (stored Deep Zoom tiles, metadata) never queue behind decodes. A read beyond that goes
 * through a worker as before, so a pool larger than libuv's threads still decodes that many regions at once.
 */
const LIBUV_THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;
function regionReadsAtOnce(pool: DecodePool): number {
  return Math.max(1, Math.min(pool.size, LIBUV_THREADS - 1));
}
/** Region reads running on libuv's pool, per decode pool. */
const readsInPool = new WeakMap<DecodePool, number>();

/** Ids of tile sources (a level of a file) shared with the decode workers, unique in the process. */
let nextSourceId = 1;

export abstract class FileTiledReader extends TiledSlideReader {
  /** Tiles recently decoded only in part, oldest first (see decodeInPart). */
  private decodedInPart = new Set<string>();
  /** Each level's tile source as shared with the workers (render tasks name it by id). */
  private sources: WorkerShared[] = [];

  protected constructor(id: string, path: string, cache: TileCache | undefined, pool: DecodePool) {
    super(id, path, cache, pool);
  }

  /** How the tiles of `level` are coded, or undefined where the level does not exist. */
  protected abstract tileFormat(level: number): TileFormat | undefined;

  /** File offset and length of a stored tile; null when nothing is stored (an empty tile) or no such tile. */
  protected abstract storedRange(level: number, col: number, row: number): [number, number] | null;

  /** The open file, where native code may read its tiles by descriptor; undefined where it cannot. */
  protected slideFile(): SlideFile | undefined {
    return undefined;
  }

  /** Wraps a worker's decode error for the user (the subclass knows what the file is). */
  protected abstract decodeError(level: number, err: unknown): Error;

  /** What the workers need to read this file: its key (for their open descriptors) and path. */
  private get file(): { key: string; path: string } {
    return { key: this.id, path: this.path };
  }

  /** The share of `level`'s tiles (file and format) that render tasks refer to by id. */
  private sourceShare(level: number, format: TileFormat): WorkerShared {
    let share = this.sources[level];
    if (!share) {
      share = { kind: 'source', id: nextSourceId++, file: this.file, format };
      this.sources[level] = share;
    }
    return share;
  }

  /** The format of `level` where workers may read it now (not after close). */
  private workerFormat(level: number): TileFormat | undefined {
    return this.closed ? undefined : this.tileFormat(level);
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.decodedInPart.clear();
    await super.close();
    await this.pool.broadcast({ kind: 'forget', key: this.id });
  }

  /** The tiles a region needs: the workers read and decode them, at most one batch per worker. */
  protected override async readTiles(
    level: number,
    tiles: [number, number][],
  ): Promise<(Uint8Array | null)[]> {
    const format = this.tileFormat(level);
    const result: (Uint8Array | null)[] = tiles.map(() => null);
    if (!format) return result;
    if (this.closed) throw this.decodeError(level, new Error('the slide was closed'));
    // Empty tiles (no bytes stored) stay null.
    const ranges: [number, number][] = [];
    const present: number[] = [];
    tiles.forEach(([col, row], i) => {
      const range = this.storedRange(level, col, row);
      if (!range) return;
      ranges.push(range);
      present.push(i);
    });
    if (present.length === 0) return result;
    const chunks = Math.min(this.pool.size, present.length);
    const per = Math.ceil(present.length / chunks);
    const tileBytes = format.tileWidth * format.tileHeight * 4;
    await Promise.all(
      Array.from({ length: chunks }, async (_, k) => {
        const indices = present.slice(k * per, (k + 1) * per);
        if (indices.length === 0) return;
        // Slab slots (shared memory) are written in place by the worker; plain buffers travel.
        const into = indices.map(() => this.cache.takeBuffer(tileBytes));
        const transfer = into.flatMap((b) => (b.buffer instanceof ArrayBuffer ? [b.buffer] : []));
        let decoded: Uint8Array[];
        try {
          const back = await this.pool.runForBuffers(
            {
              kind: 'decodeRanges',
              file: this.file,
              format,
              ranges: ranges.slice(k * per, (k + 1) * per),
              into,
            },
            transfer,
          );
          decoded = into.map((b, j) => (b.buffer instanceof ArrayBuffer ? back[j]! : b));
        } catch (err) {
          for (const b of into) if (!(b.buffer instanceof ArrayBuffer)) this.cache.giveBack(b);
          throw this.decodeError(level, err);
        }
        indices.forEach((i, j) => (result[i] = decoded[j]!));
      }),
    );
    return result;
  }

  /**
   * One worker task per region: cached tiles are passed as their slab slots (pinned while the worker
   * reads them), missing ones are decoded by the worker into fresh slots and cached when it answers; the
   * main thread copies no pixels. Where that cannot be done (a cached tile outside the slabs, no free
   * slot), the region is read and encoded the plain way.
   */
  override async encodeRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    encoding: RegionEncoding,
  ): Promise<Uint8Array> {
    const g = this.regionGeometry(level, x, y, w, h);
    const rendered = await this.renderInWorker(level, g, this.tileKeys(level, g), w, h, encoding);
    return rendered ?? super.encodeRegion(level, x, y, w, h, encoding);
  }

  override async readRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    into?: Uint8Array,
    options: RegionReadOptions = {},
  ): Promise<Uint8Array> {
    const g = this.regionGeometry(level, x, y, w, h);
    if (into && into.length !== w * h * 4) throw new RangeError('the output buffer does not fit the region');
    const whole = options.tilesReused === true;
    const keys = this.tileKeys(level, g);
    if (whole && this.workerFormat(level) !== undefined) {
      // Tiles the caller reuses: decoded whole and cached first, missing ones split over the workers and
      // shared with concurrent reads tile by tile (a render task waits for every tile another request is
      // decoding, which makes neighbouring rows of a grid wait for each other); then the region is composed
      // in a worker from the cached tiles, so the main thread copies no pixels.
      await Promise.all(this.getTiles(level, g.addresses));
      const rgba = await this.renderInWorker(level, g, keys, w, h, { type: 'rgba' }, into, true);
      if (rgba) return rgba;
    } else {
      const read = this.readRegionInPool(level, g, keys, w, h, into);
      if (read) return read;
      if (this.renderPays(level, g, keys)) {
        const rgba = await this.renderInWorker(level, g, keys, w, h, { type: 'rgba' }, into);
        if (rgba) return rgba;
      }
    }
    return this.composeRegion(level, g, w, h, into);
  }

  /**
   * Reads a region on libuv's thread pool (native/pixels/region_parts.cpp) where a JPEG tile is to be
   * decoded in part: the stored bytes are read and decoded there, in part straight into the caller's buffer
   * or whole into a fresh cache slot (the same choice as for a worker, decodeInPart), and cached tiles'
   * parts are copied in. That spares the decode worker's round trip (two messages, the worker's
   * JavaScript, a copy out of shared memory). Undefined, with nothing changed, where it does not apply: no
   * addon or descriptor, a tile another request is decoding, a cached tile outside the slabs, no free slot.
   */
  private readRegionInPool(
    level: number,
    g: RegionGeometry,
    keys: string[],
    w: number,
    h: number,
    into: Uint8Array | undefined,
  ): Promise<Uint8Array> | undefined {
    const read = regionPartsReader();
    const file = read && this.slideFile();
    const withDescriptor = file?.withDescriptor?.bind(file);
    const format = withDescriptor && this.workerFormat(level);
    if (!read || !withDescriptor || !format || format.codec !== 'jpeg') return undefined;
    const running = readsInPool.get(this.pool) ?? 0;
    if (running >= regionReadsAtOnce(this.pool)) return undefined; // as many as may run: a worker reads it
    // Tiles other requests are decoding: a worker's render waits for them.
    if (keys.some((key) => this.inflight.has(key))) return undefined;
    const planned = this.planRender(level, format, g, keys, false, true);
    if (!planned) return undefined;
    const { tiles: plan, slots } = planned;
    // Only whole decodes (a small level, tiles asked for again): they go to the workers side by side and
    // the region is composed here, which answers sooner than one thread decoding them in turn.
    if (!plan.some((t) => t.part)) return slots.giveBackAll();
    // Now the plan stands: remember the parts (and forget tiles now decoded whole), as a worker's plan does.
    for (const { col, row, range } of plan)
      if (range) this.decodeInPart(format, this.tileKey(level, col, row), g, col, row);
    const { tileWidth: tw, tileHeight: th } = format;
    const records: number[] = [];
    const tiles: Uint8Array[] = [];
    for (const { col, row, pixels, range, part } of plan) {
      const p = tilePartInRegion(col, row, tw, th, g, w);
      if (part && range) {
        records.push(0, range[0], range[1], p.x, p.y, p.w, p.h, p.regionOffset);
        continue;
      }
      tiles.push(pixels); // cached, or a fresh slot the whole tile is decoded into first
      const t = tiles.length - 1;
      if (range) records.push(2, range[0], range[1], t, 0, 0, 0, 0);
      records.push(1, t, p.tileOffset, tw * 4, 0, p.w, p.h, p.regionOffset);
    }
    // Empty tiles (no bytes stored) are left out of the plan and stay transparent, as does what lies
    // beyond the level.
    const covered =
      plan.length === g.addresses.length &&
      g.x0 === g.lx &&
      g.y0 === g.ly &&
      g.x1 - g.x0 === w &&
      g.y1 - g.y0 === h;
    const out = into ?? new Uint8Array(w * h * 4);
    if (!covered) out.fill(0);
    slots.start(this.inflight);
    const pool = this.pool;
    readsInPool.set(pool, running + 1);
    return withDescriptor((fd) =>
      read(
        fd,
        Float64Array.from(records),
        format.jpegTables,
        hasRgbJpegComponents(format),
        tw,
        th,
        out,
        w * 4,
        tiles,
      ),
    )
      .finally(() => readsInPool.set(pool, readsInPool.get(pool)! - 1))
      .then(
        () => {
          this.settleSlots(level, slots);
          return out;
        },
        (err: unknown) => {
          const error = this.decodeError(level, err);
          slots.fail(error);
          throw error;
        },
      );
  }

  /**
   * Ends a task that succeeded: its freshly decoded tiles enter the cache, unless the slide was closed
   * meanwhile (close dropped the reader's tiles; caching them now would keep them until evicted). Then the
   * slots go back, and other reads of the closed slide waiting for those tiles get an error.
   */
  private settleSlots(level: number, slots: RenderSlots): void {
    if (this.closed) slots.fail(this.decodeError(level, new Error('the slide was closed')));
    else slots.commit();
  }

  /**
   * Whether a missing tile is decoded only in part: where its format allows it, the request needs less
   * than three quarters of it, its level is too large to be cached whole, and no recent request decoded
   * part of it. A part is not cached; a tile asked for a second time (neighbouring patches read in order,
   * a viewer panning) is decoded whole and cached, so random access pays for parts and coherent access
   * for one extra decode. `peek` leaves the record as it is.
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
    if (!canDecodeTilePart(format) || this.levelFitsCache(g.lv, format)) return false;
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

  /** Whether every tile of `lv`, decoded, fits in a small share of the tile cache (see the constant). */
  private levelFitsCache(lv: SlideLevel, format: TileFormat): boolean {
    const tiles = Math.ceil(lv.width / format.tileWidth) * Math.ceil(lv.height / format.tileHeight);
    return (
      tiles * format.tileWidth * format.tileHeight * 4 <= WHOLE_DECODE_LEVEL_CACHE_SHARE * this.cache.capacity
    );
  }

  /**
   * True when reading this region in one worker task pays: a missing tile that would be decoded only in
   * part (otherwise the tiles are fetched into the cache and the region composed here).
   */
  private renderPays(level: number, g: RegionGeometry, keys: string[]): boolean {
    const format = this.workerFormat(level);
    if (!format || !canDecodeTilePart(format)) return false;
    return g.addresses.some(([col, row], i) => {
      const key = keys[i]!;
      if (this.cache.get(key)) return false;
      return this.decodeInPart(format, key, g, col, row, true);
    });
  }

  /** The cache keys of the tiles of `g`, in the order of its addresses (made once per request). */
  private tileKeys(level: number, g: RegionGeometry): string[] {
    return g.addresses.map(([col, row]) => this.tileKey(level, col, row));
  }

  /**
   * Renders a region in one worker task (see encodeRegion); undefined where it cannot, having given back
   * whatever it took. For 'rgba', the pixels go into `into` where given. `whole`: no tile in part.
   */
  private async renderInWorker(
    level: number,
    g: RegionGeometry,
    keys: string[],
    w: number,
    h: number,
    output: RegionEncoding | { type: 'rgba' },
    into?: Uint8Array,
    whole = false,
  ): Promise<Uint8Array | undefined> {
    const format = this.workerFormat(level);
    if (!format) return undefined;
    // Tiles other requests are decoding right now: wait for them, then everything is cache or ours.
    for (;;) {
      let running: Promise<unknown>[] | undefined;
      for (const key of keys) {
        const decoding = this.inflight.get(key);
        if (decoding) (running ??= []).push(decoding);
      }
      if (!running) break;
      await Promise.allSettled(running);
    }
    const planned = this.planRender(level, format, g, keys, whole);
    if (!planned) return undefined;
    const { tiles, slots } = planned;
    slots.start(this.inflight);
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
          }
        : output;
    let result: Uint8Array;
    try {
      const shared = [this.sourceShare(level, format)];
      const numbers = packRenderTask(
        {
          region: g,
          width: w,
          height: h,
          outWidth: encoding.outWidth,
          outHeight: encoding.outHeight,
          flatten: encoding.flatten,
          quality: encoding.quality,
          tiles,
          intoSlot: slot,
        },
        shared,
      );
      const task = {
        kind: 'render',
        source: shared[0]!.id,
        type: encoding.type,
        numbers,
        into: intoShared,
      } as const;
      result = await this.pool.run(task, [], shared);
    } catch (err) {
      const error = this.decodeError(level, err);
      slots.fail(error);
      if (slot) this.cache.giveBack(slot);
      throw error;
    }
    this.settleSlots(level, slots);
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
  }

  /**
   * The tiles of a render task: cached ones by their slab slot (pinned), missing ones by file range (into
   * a fresh slot, or in part straight into the region), empty ones left out. Undefined, with every slot
   * given back, where a cached tile is not in a slab slot or no slot is free.
   */
  private planRender(
    level: number,
    format: TileFormat,
    g: RegionGeometry,
    keys: string[],
    whole = false,
    /** Leave decodeInPart's record of recent parts as it is (the caller settles it once the plan stands). */
    peek = false,
  ): { tiles: RenderTile[]; slots: RenderSlots } | undefined {
    const tiles: RenderTile[] = [];
    const slots = new RenderSlots(this.cache);
    const tileBytes = format.tileWidth * format.tileHeight * 4;
    for (let i = 0; i < keys.length; i++) {
      const [col, row] = g.addresses[i]!;
      const key = keys[i]!;
      const cached = this.cache.get(key);
      if (cached) {
        if (!slots.pin(cached)) return slots.giveBackAll();
        tiles.push({ col, row, pixels: cached, range: null, part: false });
        continue;
      }
      const range = this.storedRange(level, col, row);
      if (!range) continue; // empty: transparent
      if (!whole && this.decodeInPart(format, key, g, col, row, peek)) {
        tiles.push({ col, row, pixels: NO_PIXELS, range, part: true });
        continue;
      }
      const pixels = slots.decodeInto(key, tileBytes);
      if (!pixels) return slots.giveBackAll();
      tiles.push({ col, row, pixels, range, part: false });
    }
    return { tiles, slots };
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
    const format = this.workerFormat(level);
    const lv = this.metadata.levels[level];
    if (!format || !lv || !Number.isInteger(factor) || factor < 1) return undefined;
    const { tileWidth: tw, tileHeight: th } = format;
    if (tw % factor !== 0 || th % factor !== 0 || lv.tileWidth !== tw || lv.tileHeight !== th)
      return undefined;
    const width = Math.ceil(lv.width / factor);
    const height = Math.ceil(lv.height / factor);
    const out = new Uint8Array(new SharedArrayBuffer(width * height * 4));
    const rows = Math.ceil(lv.height / th);
    const cols = Math.ceil(lv.width / tw);
    const bands = Math.min(this.pool.size, rows);
    const tasks: Promise<unknown>[] = [];
    for (let b = 0; b < bands; b++) {
      const tiles: { col: number; row: number; range: [number, number] | null }[] = [];
      for (let row = Math.floor((b * rows) / bands); row < Math.floor(((b + 1) * rows) / bands); row++) {
        for (let col = 0; col < cols; col++)
          tiles.push({ col, row, range: this.storedRange(level, col, row) });
      }
      tasks.push(
        this.pool.run({
          kind: 'reduceTiles',
          file: this.file,
          format,
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
}
