/**
 * A minimal, defensive TIFF/BigTIFF directory parser: reads the header and every IFD (following the
 * next-IFD chain and SubIFDs), both byte orders. Pixel data is not touched here; see tiff-image.ts.
 *
 * Every offset and count read from the file is checked against the file size before use, IFD loops
 * are detected and sizes are capped, so a corrupt file fails with a reason instead of a huge
 * allocation or an endless walk.
 */
import type { SlideFile } from '../open-file.js';
import { Tag } from './tiff-tags.js';

export type TagValue = number[] | string | Uint8Array;

export interface Ifd {
  /** File offset of this directory (unique per IFD; used in ids). */
  offset: number;
  tags: Map<number, TagValue>;
  subIfds: Ifd[];
}

const MAX_IFDS = 4096;
const MAX_ENTRIES = 4096;
const MAX_VALUE_BYTES = 256 * 1024 * 1024;

/** Byte size of one value of each TIFF field type; 0 = unknown type. */
const TYPE_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};

export class TiffFormatError extends Error {}

export interface TiffHeader {
  littleEndian: boolean;
  bigTiff: boolean;
  firstIfd: number;
}

export class TiffFile {
  private constructor(
    readonly handle: SlideFile,
    readonly size: number,
    readonly header: TiffHeader,
    readonly ifds: Ifd[],
    /** A directory points to a next one beyond the end of the file: the file was cut (truncated copy). */
    readonly endsEarly: boolean,
  ) {}

  /** Parses all directories. Throws TiffFormatError if this is not a TIFF or is malformed. */
  static async parse(handle: SlideFile, size: number): Promise<TiffFile> {
    const header = await readHeader(handle, size);
    const reader = new IfdReader(handle, size, header);
    const ifds = await reader.readChain(header.firstIfd, 0);
    if (ifds.length === 0) throw new TiffFormatError('the TIFF has no image directories');
    return new TiffFile(handle, size, header, ifds, reader.endsEarly);
  }
}

/** True if `bytes` start like a TIFF or BigTIFF header (either byte order). */
export function looksLikeTiff(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const le = bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[3] === 0;
  const be = bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0;
  if (!le && !be) return false;
  const magic = le ? bytes[2] : bytes[3];
  return magic === 42 || magic === 43;
}

async function readHeader(handle: SlideFile, size: number): Promise<TiffHeader> {
  if (size < 8) throw new TiffFormatError('the file is too small to be a TIFF');
  const buf = Buffer.alloc(16);
  await handle.read(buf, 0, Math.min(16, size), 0);
  if (!looksLikeTiff(buf)) throw new TiffFormatError('the file is not a TIFF (bad header)');
  const littleEndian = buf[0] === 0x49;
  const classic = fields(buf, littleEndian, false);
  if (classic.word(2) === 42) return { littleEndian, bigTiff: false, firstIfd: classic.offset(4) };
  if (size < 16) throw new TiffFormatError('the file is too small to be a BigTIFF');
  if (classic.word(4) !== 8) throw new TiffFormatError('the BigTIFF header has an unsupported offset size');
  return { littleEndian, bigTiff: true, firstIfd: fields(buf, littleEndian, true).offset(8) };
}

/**
 * Reads the fields of a TIFF structure in one byte order: 16-bit words, and offset-sized fields (counts,
 * offsets: 32 bits, or 64 in BigTIFF, as numbers; beyond 2^53 they could not be addressed anyway).
 */
function fields(buf: Buffer, le: boolean, bigTiff: boolean) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    word: (at: number) => view.getUint16(at, le),
    offset: (at: number) => (bigTiff ? Number(view.getBigUint64(at, le)) : view.getUint32(at, le)),
  };
}

class IfdReader {
  private seen = new Set<number>();
  private count = 0;
  /** A next-directory pointer lay beyond the end of the file (see readIfd). */
  endsEarly = false;

  constructor(
    private handle: SlideFile,
    private size: number,
    private header: TiffHeader,
  ) {}

  async readChain(first: number, depth: number): Promise<Ifd[]> {
    const out: Ifd[] = [];
    let offset = first;
    while (offset !== 0) {
      if (this.seen.has(offset)) throw new TiffFormatError('the TIFF directory chain loops');
      if (++this.count > MAX_IFDS) throw new TiffFormatError('the TIFF has too many directories');
      this.seen.add(offset);
      const { ifd, next } = await this.readIfd(offset);
      const sub = ifd.tags.get(Tag.SubIFDs);
      if (Array.isArray(sub) && depth < 2) {
        for (const s of sub) ifd.subIfds.push(...(await this.readChain(s, depth + 1)));
      }
      out.push(ifd);
      offset = next;
    }
    return out;
  }

  private async readBytes(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new TiffFormatError(`a TIFF directory points outside the file (offset ${offset})`);
    }
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buf, 0, length, offset);
    if (bytesRead !== length) throw new TiffFormatError('the file is truncated');
    return buf;
  }

  private async readIfd(offset: number): Promise<{ ifd: Ifd; next: number }> {
    const { littleEndian: le, bigTiff } = this.header;
    const countSize = bigTiff ? 8 : 2;
    const entrySize = bigTiff ? 20 : 12;
    const countField = fields(await this.readBytes(offset, countSize), le, bigTiff);
    const n = bigTiff ? countField.offset(0) : countField.word(0);
    if (n === 0 || n > MAX_ENTRIES)
      throw new TiffFormatError(`a TIFF directory has an invalid entry count (${n})`);
    const body = await this.readBytes(offset + countSize, n * entrySize + (bigTiff ? 8 : 4));
    const entries = fields(body, le, bigTiff);
    const tags = new Map<number, TagValue>();
    for (let i = 0; i < n; i++) {
      const e = i * entrySize;
      const tag = entries.word(e);
      const type = entries.word(e + 2);
      const count = entries.offset(e + 4);
      const typeSize = TYPE_SIZE[type] ?? 0;
      if (typeSize === 0) continue; // unknown field types are skipped, as TIFF readers must
      const bytes = count * typeSize;
      if (bytes > MAX_VALUE_BYTES || !Number.isSafeInteger(bytes)) {
        throw new TiffFormatError(`TIFF tag ${tag} is implausibly large`);
      }
      // The value, or where it is: inline when it fits the offset-sized field.
      const valueAt = e + (bigTiff ? 12 : 8);
      const data =
        bytes <= (bigTiff ? 8 : 4)
          ? body.subarray(valueAt, valueAt + bytes)
          : await this.readBytes(entries.offset(valueAt), bytes);
      tags.set(tag, decodeValues(data, type, count, le));
    }
    const next = entries.offset(n * entrySize);
    if (next !== 0 && (next >= this.size || !Number.isSafeInteger(next))) {
      // A dangling next pointer after valid directories is common in damaged files; stop there.
      if (next >= this.size && Number.isSafeInteger(next)) this.endsEarly = true;
      return { ifd: { offset, tags, subIfds: [] }, next: 0 };
    }
    return { ifd: { offset, tags, subIfds: [] }, next };
  }
}

type ReadValue = (view: DataView, at: number, le: boolean) => number;

const rational =
  (part: (view: DataView, at: number, le: boolean) => number): ReadValue =>
  (view, at, le) => {
    const den = part(view, at + 4, le);
    return den === 0 ? 0 : part(view, at, le) / den;
  };

/**
 * How to read one value of each numeric field type (its size is TYPE_SIZE). 64-bit values (16/17/18) are
 * read as unsigned numbers: offsets beyond 2^53 cannot be addressed anyway.
 */
const READ_VALUE: Record<number, ReadValue> = {
  3: (v, at, le) => v.getUint16(at, le),
  8: (v, at, le) => v.getInt16(at, le),
  4: (v, at, le) => v.getUint32(at, le),
  13: (v, at, le) => v.getUint32(at, le),
  9: (v, at, le) => v.getInt32(at, le),
  5: rational((v, at, le) => v.getUint32(at, le)),
  10: rational((v, at, le) => v.getInt32(at, le)),
  11: (v, at, le) => v.getFloat32(at, le),
  12: (v, at, le) => v.getFloat64(at, le),
  16: (v, at, le) => Number(v.getBigUint64(at, le)),
  17: (v, at, le) => Number(v.getBigUint64(at, le)),
  18: (v, at, le) => Number(v.getBigUint64(at, le)),
};

function decodeValues(data: Buffer, type: number, count: number, le: boolean): TagValue {
  if (type === 2) {
    const end = data.indexOf(0);
    return data.subarray(0, end < 0 ? data.length : end).toString('latin1');
  }
  if (type === 1 || type === 7) return new Uint8Array(data);
  if (type === 6) return Array.from(new Int8Array(data.buffer, data.byteOffset, count));
  const read = READ_VALUE[type]!;
  const size = TYPE_SIZE[type]!;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = read(view, i * size, le);
  return out;
}

export function tagNumber(ifd: Ifd, tag: number): number | undefined {
  const v = ifd.tags.get(tag);
  return Array.isArray(v) ? v[0] : v instanceof Uint8Array ? v[0] : undefined;
}

export function tagNumbers(ifd: Ifd, tag: number): number[] | undefined {
  const v = ifd.tags.get(tag);
  return Array.isArray(v) ? v : v instanceof Uint8Array ? Array.from(v) : undefined;
}

export function tagString(ifd: Ifd, tag: number): string | undefined {
  const v = ifd.tags.get(tag);
  return typeof v === 'string' ? v : undefined;
}

export function tagBytes(ifd: Ifd, tag: number): Uint8Array | undefined {
  const v = ifd.tags.get(tag);
  return v instanceof Uint8Array ? v : undefined;
}
