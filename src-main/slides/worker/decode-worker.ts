/** Entry point of a decode worker thread: answers WorkerRequests from the pool, one at a time. */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { Transformer, ResizeFilterType, ResizeFit } from '@napi-rs/image';
import { boxReduce, flattenOnWhite, reductionFactors, type RgbaPixels } from '../codecs/box-reduce.js';
import { decodeTile, decodeTilePart } from '../codecs/decode-tile.js';
import { jpegCodec } from '../codecs/jpeg-codec.js';
import { lanczosResampler, nativeBoxReducer, rectCopier } from '../codecs/native-pixels.js';
import { expandToRgba } from '../codecs/rgba.js';
import { copyTileIntoRegion, tilePartInRegion } from '../tile-region.js';
import type { TileFormat } from '../codecs/tile-format.js';
import type { WorkerRequest, WorkerResponse, WorkerShared, WorkerTask } from './messages.js';
import { unpackRenderTask, type RenderSpec } from './render-task.js';

const EMPTY = new Uint8Array(0);

async function run(task: WorkerTask): Promise<Uint8Array | Uint8Array[]> {
  if (task.kind === 'decode') return decodeTile(task.format, task.stored);
  if (task.kind === 'reduce') return reduce(task, task.factor, task.factor, task.flatten).rgba;
  if (task.kind === 'forget') {
    forget(task.key);
    return new Uint8Array(0);
  }
  if (task.kind === 'decodeRanges') {
    const fd = descriptor(task.file.key, task.file.path);
    for (let i = 0; i < task.ranges.length; i++)
      await decodeTile(task.format, readStored(fd, task.ranges[i]!), task.into[i]!);
    // Tiles in shared memory (tile-cache slab slots) are already where the main thread reads them.
    return task.into.map((v) => (v.buffer instanceof SharedArrayBuffer ? EMPTY : v));
  }
  if (task.kind === 'render') {
    const source = sources.get(task.source);
    if (!source) throw new Error(`tile source ${task.source} was not shared with this worker`);
    const { tileWidth, tileHeight } = source.format;
    const spec = unpackRenderTask(task.numbers, slabs, tileWidth * tileHeight * 4);
    return render(source, task.type, spec, task.into);
  }
  if (task.kind === 'reduceTiles') return reduceTiles(task);
  if (task.kind === 'share' || task.kind === 'unshare') {
    applyShared(task);
    return EMPTY;
  }
  if (task.flatten) flattenOnWhite(task.rgba);
  if (task.returnPixels) return [await encode(task), task.rgba];
  return encode(task);
}

interface Source {
  file: { key: string; path: string };
  format: TileFormat;
}

/** What the main thread shared (WorkerShared): tile sources and the tile cache's slabs, by id. */
const sources = new Map<number, Source>();
const slabs = new Map<number, SharedArrayBuffer>();

function applyShared(task: Extract<WorkerTask, { kind: 'share' | 'unshare' }>): void {
  if (task.kind === 'unshare') {
    for (const id of task.slabs) slabs.delete(id);
    return;
  }
  for (const item of task.items as WorkerShared[]) {
    if (item.kind === 'source') sources.set(item.id, { file: item.file, format: item.format });
    else slabs.set(item.id, item.buffer);
  }
}

type RenderType = Extract<WorkerTask, { kind: 'render' }>['type'];

async function render(
  source: Source,
  type: RenderType,
  task: RenderSpec,
  intoShared: Uint8Array | undefined,
): Promise<Uint8Array> {
  const { format } = source;
  const { tileWidth: tw, tileHeight: th } = format;
  const fd = descriptor(source.file.key, source.file.path);
  for (const t of task.tiles) {
    if (!t.range || t.part) continue;
    await decodeTile(format, readStored(fd, t.range), t.pixels);
  }
  const { width: w, height: h, region } = task;
  const covered = coversRegion(task, format);
  // Flattening onto white turns uncovered (transparent) pixels white and leaves opaque ones as they
  // are: without an alpha channel in the tiles, starting from white does the whole job.
  const whiteBackground = task.flatten && !format.hasAlpha;
  const into = intoShared ?? task.intoSlot;
  const rgba =
    type === 'rgba'
      ? rgbaTarget(into, w, h, covered)
      : composeBuffer(w * h * 4, covered ? undefined : whiteBackground ? 0xffffffff : 0);
  const copyRect = rectCopier();
  for (const { col, row, pixels, range, part } of task.tiles) {
    if (part && range) {
      const at = tilePartInRegion(col, row, tw, th, region, w);
      decodeTilePart(format, readStored(fd, range), at, rgba, at.regionOffset, w * 4);
      continue;
    }
    copyTileIntoRegion(copyRect, pixels, col, row, tw, th, region, rgba, w);
  }
  if (type === 'rgba') return into ? EMPTY : rgba;
  if (task.flatten && !whiteBackground) flattenOnWhite(rgba);
  return encode({ ...task, kind: 'encode', type, rgba });
}

/**
 * Where an 'rgba' render composes: the caller's shared memory, or a buffer of its own that goes back
 * (transferred). Shared memory is cleared only where tiles leave gaps: V8 fills it byte by byte (0.1 ms
 * per region).
 */
function rgbaTarget(
  into: Uint8Array | undefined,
  width: number,
  height: number,
  covered: boolean,
): Uint8Array {
  if (!into) return new Uint8Array(width * height * 4);
  return covered ? into : into.fill(0);
}

/** True when the region lies inside the level and a tile (cached or stored) covers every part of it. */
function coversRegion(task: RenderSpec, format: TileFormat): boolean {
  const { lx, ly, x0, y0, x1, y1 } = task.region;
  if (x0 !== lx || y0 !== ly || x1 - x0 !== task.width || y1 - y0 !== task.height) return false;
  const { tileWidth: tw, tileHeight: th } = format;
  const across = Math.floor((x1 - 1) / tw) - Math.floor(x0 / tw) + 1;
  const down = Math.floor((y1 - 1) / th) - Math.floor(y0 / th) + 1;
  return task.tiles.length === across * down;
}

/**
 * A stored tile's bytes, in a scratch buffer reused by the next read: a fresh buffer per tile made V8
 * collect this thread's heap every few hundred tiles (the decoders keep nothing of their input).
 */
let scratch = new Uint8Array(1 << 16);
function readStored(fd: number, [offset, length]: [number, number]): Uint8Array {
  if (scratch.length < length) scratch = new Uint8Array(Math.max(length, 2 * scratch.length));
  const stored = scratch.subarray(0, length);
  if (fs.readSync(fd, stored, 0, length, offset) !== length) throw new Error('the file is truncated');
  return stored;
}

async function reduceTiles(task: Extract<WorkerTask, { kind: 'reduceTiles' }>): Promise<Uint8Array> {
  const { tileWidth: tw, tileHeight: th } = task.format;
  const { factor: f, out, outWidth } = task;
  const fd = descriptor(task.file.key, task.file.path);
  const tile = new Uint8Array(tw * th * 4);
  const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length / 4);
  const copyRect = rectCopier();
  for (const { col, row, range } of task.tiles) {
    // The tile's part inside the level (edge tiles hang over it).
    const w = Math.min(tw, task.levelWidth - col * tw);
    const h = Math.min(th, task.levelHeight - row * th);
    const bw = Math.ceil(w / f);
    const bh = Math.ceil(h / f);
    const x0 = (col * tw) / f;
    const y0 = (row * th) / f;
    if (!range) {
      // Empty: transparent, or white once flattened.
      const pixel = task.flatten ? 0xffffffff : 0;
      for (let y = 0; y < bh; y++) out32.fill(pixel, (y0 + y) * outWidth + x0, (y0 + y) * outWidth + x0 + bw);
      continue;
    }
    const pixels = await decodeTile(task.format, readStored(fd, range), tile);
    let inside = pixels;
    if (w !== tw || h !== th) {
      inside = new Uint8Array(w * h * 4); // the part inside the level, packed
      copyRect(pixels, 0, tw * 4, inside, 0, w * 4, w * 4, h);
    }
    const block = reduce({ rgba: inside, width: w, height: h }, f, f, task.flatten).rgba;
    copyRect(block, 0, bw * 4, out, (y0 * outWidth + x0) * 4, outWidth * 4, bw * 4, bh);
  }
  return EMPTY;
}

/** Box reduction (optionally after flattening onto white): native where built, else JavaScript. */
function reduce(src: RgbaPixels, fx: number, fy: number, flatten: boolean): RgbaPixels {
  const width = Math.ceil(src.width / fx);
  const height = Math.ceil(src.height / fy);
  const native = nativeBoxReducer();
  if (native) return { rgba: native(src.rgba, src.width, src.height, fx, fy, flatten), width, height };
  if (flatten) flattenOnWhite(src.rgba);
  return boxReduce(src, fx, fy);
}

/**
 * One region buffer per size, reused (the encoders copy what they need), filled with `pixel`; left as it
 * is without one (the tiles cover every pixel: filling 256 KiB per Deep Zoom tile was wasted).
 */
const composeBuffers = new Map<number, Uint8Array>();
function composeBuffer(bytes: number, pixel: number | undefined): Uint8Array {
  let b = composeBuffers.get(bytes);
  if (!b) {
    if (composeBuffers.size >= 8) composeBuffers.clear();
    b = new Uint8Array(bytes);
    composeBuffers.set(bytes, b);
  }
  if (pixel !== undefined) new Uint32Array(b.buffer, 0, bytes / 4).fill(pixel);
  return b;
}

async function encode(task: Extract<WorkerTask, { kind: 'encode' }>): Promise<Uint8Array> {
  const resize = task.outWidth !== task.width || task.outHeight !== task.height;
  if (!resize && task.type === 'jpeg')
    return jpegCodec().encode(task.rgba, task.width, task.height, task.quality);
  let source = { rgba: task.rgba, width: task.width, height: task.height };
  const [fx, fy] = reductionFactors(task.width, task.height, task.outWidth, task.outHeight);
  if (resize && (fx > 1 || fy > 1)) source = reduce(source, fx, fy, false);
  const lanczos = resize ? lanczosResampler() : undefined;
  if (lanczos) {
    // After the box reduction the region spans width / fx of the ceil(width / fx) pixels (as in Pillow).
    const { outWidth: w, outHeight: h } = task;
    const rgba = lanczos(source.rgba, source.width, source.height, task.width / fx, task.height / fy, w, h);
    if (task.type === 'png') return Transformer.fromRgbaPixels(rgba, w, h).pngSync();
    return jpegCodec().encode(rgba, w, h, task.quality);
  }
  let t = Transformer.fromRgbaPixels(source.rgba, source.width, source.height);
  if (resize) t = t.resize(task.outWidth, task.outHeight, ResizeFilterType.Lanczos3, ResizeFit.Fill);
  if (task.type === 'png') return t.pngSync();
  const pixels = t.rawPixelsSync();
  const n = task.outWidth * task.outHeight;
  const rgba = pixels.length === n * 4 ? new Uint8Array(pixels) : expandToRgba(pixels, n, pixels.length / n);
  return jpegCodec().encode(rgba, task.outWidth, task.outHeight, task.quality);
}

/** Open descriptors by reader key, least recently used first. */
const descriptors = new Map<string, number>();
const MAX_DESCRIPTORS = 32;

function descriptor(key: string, path: string): number {
  let fd = descriptors.get(key);
  if (fd !== undefined) {
    descriptors.delete(key);
    descriptors.set(key, fd);
    return fd;
  }
  fd = fs.openSync(path, 'r');
  descriptors.set(key, fd);
  while (descriptors.size > MAX_DESCRIPTORS) closeDescriptor(descriptors.keys().next().value!);
  return fd;
}

/** The reader of `key` was closed: its descriptor and sources go. */
function forget(key: string): void {
  for (const [id, source] of sources) if (source.file.key === key) sources.delete(id);
  closeDescriptor(key);
}

function closeDescriptor(key: string): void {
  const fd = descriptors.get(key);
  if (fd === undefined) return;
  descriptors.delete(key);
  fs.closeSync(fd);
}

/** Buffers that can move back without a copy: each whole, and each only once. */
function transferable(views: Uint8Array[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) {
    if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer)
      out.add(v.buffer);
  }
  return [...out];
}

// Load the JPEG codec now (koffi and libturbojpeg take tens of ms), not on the first tile request.
if (parentPort) jpegCodec();

// One task at a time, even where a decoder awaits (the first JPEG 2000 tile loads its module): tasks
// share scratch and compose buffers.
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (req: WorkerRequest) => {
  if (req.task.kind === 'share' || req.task.kind === 'unshare') applyShared(req.task);
  else queue = queue.then(() => answer(req));
});

/** Runs one request and posts its answer; never rejects, so one failure cannot stall the queue. */
async function answer(req: WorkerRequest): Promise<void> {
  const failed = (err: unknown): WorkerResponse => ({
    id: req.id,
    ok: false,
    message: err instanceof Error ? err.message : String(err),
  });
  let res: WorkerResponse;
  let transfer: ArrayBuffer[] = [];
  try {
    const bytes = await run(req.task);
    // An answer in shared memory is left out (nothing to clone); one object shape either way.
    res = { id: req.id, ok: true, bytes: bytes === EMPTY ? undefined : bytes };
    transfer = transferable(Array.isArray(bytes) ? bytes : [bytes]);
  } catch (err) {
    res = failed(err);
  }
  try {
    parentPort!.postMessage(res, transfer);
  } catch (err) {
    parentPort!.postMessage(failed(err));
  }
}
