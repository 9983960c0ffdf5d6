/**
 * Writes a pyramidal tiled-JPEG TIFF in Aperio's SVS layout (what OpenSlide and Tessera's reader know as
 * "aperio"): level 0 first, with an "Aperio Image Library" ImageDescription carrying MPP and AppMag, then
 * levels each 4 times smaller (Pillow's box reduction) down to about 1,000 pixels. Tiles are 256 x 256
 * complete JFIF JPEGs (YCbCr 4:2:0; edge tiles padded by repeating the last row and column). Classic
 * (32-bit) TIFF: meant for demo and test slides of up to a few hundred megabytes.
 */
import { boxReduce, jpegCodec, nativeBoxReducer } from '../pixel-helpers.js';

export interface SvsOptions {
  /** Level-0 µm per pixel. */
  mpp: number;
  /** Objective power written as AppMag (default 20). */
  appMag?: number;
  /** JPEG quality (default 85). */
  quality?: number;
  /** Written into the description (the scanner's "Filename" field). */
  name?: string;
}

const TILE = 256;
/** Levels stop once the longer side is at most this. */
const SMALLEST_LEVEL = 1024;

interface Level {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** The SVS file's bytes for an RGBA level-0 image. */
export function encodeSvs(level0: Level, options: SvsOptions): Uint8Array {
  const levels: Level[] = [level0];
  for (;;) {
    const last = levels[levels.length - 1]!;
    if (Math.max(last.width, last.height) <= SMALLEST_LEVEL) break;
    const reduce = nativeBoxReducer();
    const rgba = reduce
      ? reduce(last.rgba, last.width, last.height, 4, 4, false)
      : boxReduce(last, 4, 4).rgba;
    levels.push({ width: Math.ceil(last.width / 4), height: Math.ceil(last.height / 4), rgba });
  }
  const quality = options.quality ?? 85;
  const { width, height } = level0;
  const description =
    `Aperio Image Library Tessera demo\r\n${width}x${height} [0,0 ${width}x${height}] (${TILE}x${TILE}) ` +
    `JPEG/RGB Q=${quality}|AppMag = ${options.appMag ?? 20}|MPP = ${options.mpp}` +
    (options.name ? `|Filename = ${options.name.replace(/[|\r\n]/g, ' ')}` : '');
  const codec = jpegCodec();
  const writer = new TiffWriter();
  const ifds: number[] = [];
  for (const [i, level] of levels.entries()) {
    const tiles = encodeTiles(level, quality, codec.encode);
    const offsets = tiles.map((t) => writer.append(t));
    ifds.push(
      writer.appendIfd([
        { tag: 254, type: LONG, values: [0] },
        { tag: 256, type: LONG, values: [level.width] },
        { tag: 257, type: LONG, values: [level.height] },
        { tag: 258, type: SHORT, values: [8, 8, 8] },
        { tag: 259, type: SHORT, values: [7] }, // JPEG
        { tag: 262, type: SHORT, values: [6] }, // YCbCr
        ...(i === 0 ? [{ tag: 270, type: ASCII, values: description }] : []),
        { tag: 277, type: SHORT, values: [3] },
        { tag: 282, type: RATIONAL, values: [Math.round(1e4 / options.mpp / 4 ** i), 1] },
        { tag: 283, type: RATIONAL, values: [Math.round(1e4 / options.mpp / 4 ** i), 1] },
        { tag: 284, type: SHORT, values: [1] },
        { tag: 296, type: SHORT, values: [3] }, // centimetre
        { tag: 322, type: LONG, values: [TILE] },
        { tag: 323, type: LONG, values: [TILE] },
        { tag: 324, type: LONG, values: offsets },
        { tag: 325, type: LONG, values: tiles.map((t) => t.length) },
        { tag: 530, type: SHORT, values: [2, 2] },
      ]),
    );
  }
  return writer.finish(ifds);
}

/** The level's tiles, row by row, each a complete JPEG. */
function encodeTiles(
  level: Level,
  quality: number,
  encode: (rgba: Uint8Array, w: number, h: number, q: number) => Uint8Array,
): Uint8Array[] {
  const { width, height, rgba } = level;
  const tile = new Uint8Array(TILE * TILE * 4);
  const out: Uint8Array[] = [];
  for (let ty = 0; ty < height; ty += TILE) {
    for (let tx = 0; tx < width; tx += TILE) {
      for (let y = 0; y < TILE; y++) {
        const sy = Math.min(ty + y, height - 1);
        const w = Math.min(TILE, width - tx);
        const row = (sy * width + tx) * 4;
        tile.set(rgba.subarray(row, row + w * 4), y * TILE * 4);
        // Pad the right edge with the last pixel, as JPEG blocks past the image still get encoded.
        for (let x = w; x < TILE; x++)
          tile.copyWithin((y * TILE + x) * 4, (y * TILE + w - 1) * 4, (y * TILE + w) * 4);
      }
      out.push(encode(tile, TILE, TILE, quality).slice());
    }
  }
  return out;
}

const SHORT = 3;
const LONG = 4;
const ASCII = 2;
const RATIONAL = 5;
const TYPE_SIZE: Record<number, number> = { [SHORT]: 2, [LONG]: 4, [ASCII]: 1, [RATIONAL]: 8 };

interface Entry {
  tag: number;
  type: number;
  values: number[] | string;
}

/** Little-endian classic TIFF: data appended in order, IFDs chained at the end. */
class TiffWriter {
  private chunks: Uint8Array[] = [new Uint8Array(8)];
  private size = 8;

  /** Appends bytes (word-aligned) and returns their offset. */
  append(bytes: Uint8Array): number {
    if (this.size % 2) this.push(new Uint8Array(1));
    const at = this.size;
    this.push(bytes);
    if (this.size > 0xffffffff) throw new RangeError('the slide is too large for a classic TIFF');
    return at;
  }

  /** Appends one IFD (entries sorted by tag, as TIFF requires) with its out-of-line values; returns its offset. */
  appendIfd(entries: Entry[]): number {
    entries.sort((a, b) => a.tag - b.tag);
    const payloads = entries.map((e) => encodeValues(e));
    const inline = payloads.map((p) => p.length <= 4);
    const valueOffsets = payloads.map((p, i) => (inline[i] ? 0 : this.append(p)));
    const ifd = new Uint8Array(2 + entries.length * 12 + 4);
    const view = new DataView(ifd.buffer);
    view.setUint16(0, entries.length, true);
    entries.forEach((e, i) => {
      const at = 2 + i * 12;
      const p = payloads[i]!;
      view.setUint16(at, e.tag, true);
      view.setUint16(at + 2, e.type, true);
      view.setUint32(at + 4, p.length / TYPE_SIZE[e.type]!, true);
      if (inline[i]) ifd.set(p, at + 8);
      else view.setUint32(at + 8, valueOffsets[i]!, true);
    });
    return this.append(ifd);
  }

  /** Links the IFDs in order from the header and returns the file. */
  finish(ifds: number[]): Uint8Array {
    const file = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      file.set(c, at);
      at += c.length;
    }
    const view = new DataView(file.buffer);
    file.set([0x49, 0x49], 0);
    view.setUint16(2, 42, true);
    view.setUint32(4, ifds[0] ?? 0, true);
    ifds.forEach((offset, i) => {
      const count = view.getUint16(offset, true);
      view.setUint32(offset + 2 + count * 12, ifds[i + 1] ?? 0, true);
    });
    return file;
  }

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }
}

function encodeValues(e: Entry): Uint8Array {
  if (e.type === ASCII) {
    const text = new TextEncoder().encode(String(e.values));
    const out = new Uint8Array(text.length + 1);
    out.set(text);
    return out;
  }
  const values = e.values as number[];
  const size = TYPE_SIZE[e.type]!;
  const out = new Uint8Array(values.length * (e.type === RATIONAL ? 4 : size));
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (e.type === SHORT) view.setUint16(i * 2, v, true);
    else view.setUint32(i * 4, v, true);
  });
  return out;
}
