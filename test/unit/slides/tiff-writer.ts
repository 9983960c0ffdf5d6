/**
 * A minimal TIFF/BigTIFF writer for test fixtures the Debian tools cannot make (Aperio-style JPEG
 * 2000 files, big-endian files with chosen tags). Writes tiled or stripped 8-bit images whose
 * tiles are already encoded.
 */
export interface WriterImage {
  width: number;
  height: number;
  /** Tiled when set; otherwise `tiles` are strips of `rowsPerStrip` rows. */
  tileWidth?: number;
  tileHeight?: number;
  rowsPerStrip?: number;
  tiles: Uint8Array[];
  compression: number;
  photometric: number;
  samplesPerPixel?: number;
  description?: string;
  jpegTables?: Uint8Array;
  newSubfileType?: number;
  /** Further tags as they are (type 1/2/3/4/7/16 values). */
  extraTags?: { tag: number; type: number; values: number[] | Uint8Array | string }[];
}

export interface WriterOptions {
  littleEndian?: boolean;
  bigTiff?: boolean;
}

type Entry = { tag: number; type: number; values: number[] | Uint8Array | string };

export function writeTiff(images: WriterImage[], options: WriterOptions = {}): Uint8Array {
  const le = options.littleEndian ?? true;
  const big = options.bigTiff ?? false;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const append = (b: Uint8Array): number => {
    const at = size;
    chunks.push(b);
    size += b.length;
    if (size % 2) {
      chunks.push(new Uint8Array(1));
      size++;
    }
    return at;
  };
  const header = new Uint8Array(big ? 16 : 8);
  append(header);
  const ifdOffsets: number[] = [];
  const patchNext: { at: number }[] = [];
  for (const img of images) {
    const offsets = img.tiles.map((t) => append(t));
    const entries: Entry[] = [];
    const spp = img.samplesPerPixel ?? 3;
    if (img.newSubfileType !== undefined) entries.push({ tag: 254, type: 4, values: [img.newSubfileType] });
    entries.push({ tag: 256, type: 4, values: [img.width] });
    entries.push({ tag: 257, type: 4, values: [img.height] });
    entries.push({ tag: 258, type: 3, values: new Array(spp).fill(8) as number[] });
    entries.push({ tag: 259, type: 3, values: [img.compression] });
    entries.push({ tag: 262, type: 3, values: [img.photometric] });
    if (img.description !== undefined) entries.push({ tag: 270, type: 2, values: img.description });
    if (img.tileWidth === undefined) entries.push({ tag: 273, type: big ? 16 : 4, values: offsets });
    entries.push({ tag: 277, type: 3, values: [spp] });
    if (img.tileWidth === undefined) {
      entries.push({ tag: 278, type: 4, values: [img.rowsPerStrip ?? img.height] });
      entries.push({ tag: 279, type: 4, values: img.tiles.map((t) => t.length) });
    }
    entries.push({ tag: 284, type: 3, values: [1] });
    if (img.tileWidth !== undefined) {
      entries.push({ tag: 322, type: 4, values: [img.tileWidth] });
      entries.push({ tag: 323, type: 4, values: [img.tileHeight ?? img.tileWidth] });
      entries.push({ tag: 324, type: big ? 16 : 4, values: offsets });
      entries.push({ tag: 325, type: 4, values: img.tiles.map((t) => t.length) });
    }
    if (img.jpegTables) entries.push({ tag: 347, type: 7, values: img.jpegTables });
    for (const e of img.extraTags ?? []) entries.push(e);
    const { at, nextAt } = writeIfd(entries, le, big, append, () => size);
    ifdOffsets.push(at);
    patchNext.push({ at: nextAt });
  }
  const out = new Uint8Array(size);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  const dv = new DataView(out.buffer);
  out[0] = out[1] = le ? 0x49 : 0x4d;
  if (big) {
    dv.setUint16(2, 43, le);
    dv.setUint16(4, 8, le);
    dv.setBigUint64(8, BigInt(ifdOffsets[0]!), le);
  } else {
    dv.setUint16(2, 42, le);
    dv.setUint32(4, ifdOffsets[0]!, le);
  }
  for (let i = 0; i < patchNext.length; i++) {
    const next = ifdOffsets[i + 1] ?? 0;
    if (big) dv.setBigUint64(patchNext[i]!.at, BigInt(next), le);
    else dv.setUint32(patchNext[i]!.at, next, le);
  }
  return out;
}

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 16: 8 };

function encodeValues(e: Entry, le: boolean): Uint8Array {
  if (typeof e.values === 'string') return new TextEncoder().encode(e.values + '\0');
  if (e.values instanceof Uint8Array) return e.values;
  const size = TYPE_SIZE[e.type]!;
  const b = new Uint8Array(e.values.length * size);
  const dv = new DataView(b.buffer);
  e.values.forEach((v, i) => {
    if (size === 2) dv.setUint16(i * 2, v, le);
    else if (size === 4) dv.setUint32(i * 4, v, le);
    else if (size === 8) dv.setBigUint64(i * 8, BigInt(v), le);
    else b[i] = v;
  });
  return b;
}

function writeIfd(
  entries: Entry[],
  le: boolean,
  big: boolean,
  append: (b: Uint8Array) => number,
  sizeNow: () => number,
): { at: number; nextAt: number } {
  entries.sort((a, b) => a.tag - b.tag);
  const inline = big ? 8 : 4;
  const data = entries.map((e) => encodeValues(e, le));
  const pointers = data.map((d) => (d.length > inline ? append(d) : -1));
  const entrySize = big ? 20 : 12;
  const ifd = new Uint8Array((big ? 8 : 2) + entries.length * entrySize + (big ? 8 : 4));
  const dv = new DataView(ifd.buffer);
  if (big) dv.setBigUint64(0, BigInt(entries.length), le);
  else dv.setUint16(0, entries.length, le);
  entries.forEach((e, i) => {
    const o = (big ? 8 : 2) + i * entrySize;
    const d = data[i]!;
    const count = typeof e.values === 'string' ? d.length : d.length / TYPE_SIZE[e.type]!;
    dv.setUint16(o, e.tag, le);
    dv.setUint16(o + 2, e.type, le);
    if (big) dv.setBigUint64(o + 4, BigInt(count), le);
    else dv.setUint32(o + 4, count, le);
    const vo = o + (big ? 12 : 8);
    if (pointers[i]! >= 0) {
      if (big) dv.setBigUint64(vo, BigInt(pointers[i]!), le);
      else dv.setUint32(vo, pointers[i]!, le);
    } else {
      ifd.set(d, vo);
    }
  });
  void sizeNow;
  const at = append(ifd);
  return { at, nextAt: at + ifd.length - (big ? 8 : 4) };
}
