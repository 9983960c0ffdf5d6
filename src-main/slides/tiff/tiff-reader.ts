/**
 * The built-in reader for TIFF-family slides: Aperio SVS and generic tiled pyramidal TIFF/BigTIFF
 * (levels from the main directory chain and SubIFDs), plus stripped single-level TIFFs. Tiles are
 * read here and decoded in the worker pool.
 */
import crypto from 'node:crypto';
import { FileTiledReader } from '../file-tiled-reader.js';
import type { RgbaImage, SlideLevel, SlideMetadata } from '../types.js';
import { SlideError } from '../errors.js';
import { openWithoutBlocking, type SlideFile } from '../open-file.js';
import { sharedDecodePool, type DecodePool } from '../worker/decode-pool.js';
import { completeJpeg } from '../codecs/jpeg-stream.js';
import { TiffFile, TiffFormatError, type Ifd, tagNumber, tagString } from './tiff-file.js';
import { describeImage, type TiffImage } from './tiff-image.js';
import { Tag } from './tiff-tags.js';
import { hasRgbJpegComponents, type TileFormat } from '../codecs/tile-format.js';
import { rectCopier } from '../codecs/native-pixels.js';
import { copyTileIntoRegion } from '../tile-region.js';
import { aperioAssociatedName, aperioProperties, isAperio } from './aperio.js';
import type { TileCache } from '../tile-cache.js';

export interface TiffReaderOptions {
  pool?: DecodePool;
  cache?: TileCache;
}

export class TiffSlideReader extends FileTiledReader {
  readonly metadata: SlideMetadata;

  private constructor(
    id: string,
    path: string,
    private handle: SlideFile,
    private levels: TiffImage[],
    private associated: Map<string, TiffImage>,
    metadata: SlideMetadata,
    pool: DecodePool,
    cache: TileCache | undefined,
  ) {
    super(id, path, cache, pool);
    this.metadata = metadata;
  }

  static async open(path: string, options: TiffReaderOptions = {}): Promise<TiffSlideReader> {
    let handle: SlideFile;
    try {
      handle = await openWithoutBlocking(path);
    } catch (err) {
      throw new SlideError(
        path,
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'the file does not exist'
          : 'the file cannot be opened',
        { cause: err },
      );
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new SlideError(path, 'it is not a regular file (a pipe, socket or device)');
      const tiff = await TiffFile.parse(handle, st.size);
      const layout = classify(path, tiff, st.size);
      await refuseSubsampledJp2k(path, handle, layout.levels);
      const id = crypto
        .createHash('sha1')
        .update(`${path}\0${st.size}\0${st.mtimeMs}`)
        .digest('hex')
        .slice(0, 16);
      return new TiffSlideReader(
        id,
        path,
        handle,
        layout.levels,
        layout.associated,
        layout.metadata,
        options.pool ?? sharedDecodePool(),
        options.cache,
      );
    } catch (err) {
      await handle.close();
      if (err instanceof SlideError) throw err;
      if (err instanceof TiffFormatError) throw new SlideError(path, err.message, { cause: err });
      throw new SlideError(path, err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    await this.handle.close();
  }

  protected override slideFile(): SlideFile {
    return this.handle;
  }

  protected async readTile(level: number, col: number, row: number): Promise<Uint8Array | null> {
    const image = this.levels[level];
    if (!image || col < 0 || row < 0 || col >= image.tilesAcross || row >= image.tilesDown) return null;
    return this.decodeStoredTile(image, col, row);
  }

  protected tileFormat(level: number): TileFormat | undefined {
    return this.levels[level]?.format;
  }

  protected storedRange(level: number, col: number, row: number): [number, number] | null {
    const image = this.levels[level];
    if (!image || col < 0 || row < 0 || col >= image.tilesAcross || row >= image.tilesDown) return null;
    const index = row * image.tilesAcross + col;
    const offset = image.offsets[index]!;
    const count = image.byteCounts[index]!;
    return count === 0 || offset === 0 ? null : [offset, count];
  }

  protected decodeError(level: number, err: unknown): Error {
    const image = this.levels[level]!;
    return new SlideError(
      this.path,
      `a tile of a ${image.width}x${image.height} image cannot be decoded (${(err as Error).message})`,
      { cause: err },
    );
  }

  private async readStored(image: TiffImage, col: number, row: number): Promise<Uint8Array | null> {
    if (this.closed) throw new SlideError(this.path, 'the slide was closed');
    const index = row * image.tilesAcross + col;
    const offset = image.offsets[index]!;
    const count = image.byteCounts[index]!;
    if (count === 0 || offset === 0) return null; // sparse tile: nothing stored
    const buf = new Uint8Array(count);
    const { bytesRead } = await this.handle.read(buf, 0, count, offset);
    if (bytesRead !== count) throw new SlideError(this.path, 'the file is truncated');
    return buf;
  }

  private async decodeStoredTile(image: TiffImage, col: number, row: number): Promise<Uint8Array | null> {
    const stored = await this.readStored(image, col, row);
    if (!stored) return null;
    try {
      return await this.pool.run({ kind: 'decode', format: image.format, stored }, [
        stored.buffer as ArrayBuffer,
      ]);
    } catch (err) {
      throw new SlideError(
        this.path,
        `tile ${col},${row} of a ${image.width}x${image.height} image cannot be decoded (${(err as Error).message})`,
        { cause: err },
      );
    }
  }

  async storedJpegTile(level: number, col: number, row: number): Promise<Uint8Array | undefined> {
    const image = this.levels[level];
    if (!image || image.format.codec !== 'jpeg' || !image.tiled) return undefined;
    if (col < 0 || row < 0 || col >= image.tilesAcross || row >= image.tilesDown) return undefined;
    const stored = await this.readStored(image, col, row);
    if (!stored) return undefined;
    const { format } = image;
    return completeJpeg(stored, format.jpegTables, hasRgbJpegComponents(format));
  }

  async readAssociatedImage(name: string): Promise<RgbaImage> {
    const image = this.associated.get(name);
    if (!image) throw new SlideError(this.path, `it has no associated image named "${name}"`);
    const { width, height } = image;
    const { tileWidth: tw, tileHeight: th } = image.format;
    const rgba = new Uint8Array(width * height * 4);
    const whole = { lx: 0, ly: 0, x0: 0, y0: 0, x1: width, y1: height };
    const copyRect = rectCopier();
    const jobs: Promise<void>[] = [];
    for (let row = 0; row < image.tilesDown; row++) {
      for (let col = 0; col < image.tilesAcross; col++) {
        jobs.push(
          this.decodeStoredTile(image, col, row).then((tile) => {
            if (tile) copyTileIntoRegion(copyRect, tile, col, row, tw, th, whole, rgba, width);
          }),
        );
      }
    }
    await Promise.all(jobs);
    return { width, height, rgba };
  }
}

/**
 * OpenJPEG's WebAssembly build interleaves components without upsampling, so JPEG 2000 tiles with
 * subsampled chroma are refused at open (OpenSlide, when installed, then reads the file).
 */
async function refuseSubsampledJp2k(path: string, handle: SlideFile, levels: TiffImage[]): Promise<void> {
  for (const image of levels) {
    if (image.format.codec !== 'jpeg2000') continue;
    const i = image.byteCounts.findIndex((n) => n > 0);
    if (i < 0) continue;
    const head = Buffer.alloc(Math.min(64, image.byteCounts[i]!));
    await handle.read(head, 0, head.length, image.offsets[i]!);
    if (head.length < 42 || head.readUInt16BE(0) !== 0xff4f || head.readUInt16BE(2) !== 0xff51) continue;
    const components = head.readUInt16BE(40);
    for (let c = 0; c < components && 42 + 3 * c + 2 < head.length; c++) {
      if (head[42 + 3 * c + 1] !== 1 || head[42 + 3 * c + 2] !== 1) {
        throw new SlideError(
          path,
          'its JPEG 2000 tiles have subsampled colour components, which the built-in reader does not support',
        );
      }
    }
  }
}

interface Layout {
  levels: TiffImage[];
  associated: Map<string, TiffImage>;
  metadata: SlideMetadata;
}

/**
 * TIFF-based vendor formats whose layout the built-in reader does not model; refusing them at open
 * lets the registry hand the file to OpenSlide (or report why it cannot be read).
 */
function unsupportedVendor(first: Ifd, description: string): string | undefined {
  if (first.tags.has(NDPI_FORMAT_FLAG)) return 'Hamamatsu NDPI files need the OpenSlide backend';
  const xmp = first.tags.get(Tag.XMP);
  const xmpText = xmp instanceof Uint8Array ? Buffer.from(xmp).toString('latin1') : '';
  if (xmpText.includes('<iScan')) return 'Ventana BIF files need the OpenSlide backend';
  if (description.includes('leica-microsystems.com/scn')) return 'Leica SCN files need the OpenSlide backend';
  return undefined;
}

/** Hamamatsu's private tag present in every NDPI directory. */
const NDPI_FORMAT_FLAG = 65420;

function classify(path: string, tiff: TiffFile, size: number): Layout {
  const first = tiff.ifds[0]!;
  const firstDescription = tagString(first, Tag.ImageDescription) ?? '';
  const vendorProblem = unsupportedVendor(first, firstDescription);
  if (vendorProblem) throw new SlideError(path, vendorProblem);
  const aperio = isAperio(firstDescription);
  const properties = tiffProperties(first);
  const levels: TiffImage[] = [];
  const associated = new Map<string, TiffImage>();
  const problems: string[] = [];
  const skipped: { ifd: Ifd; index: number; reason: string }[] = [];

  // Candidate images in directory order, SubIFDs right after their parent.
  const candidates: { ifd: Ifd; index: number }[] = [];
  tiff.ifds.forEach((ifd, index) => {
    candidates.push({ ifd, index });
    for (const sub of ifd.subIfds) candidates.push({ ifd: sub, index: -1 });
  });

  for (const { ifd, index } of candidates) {
    const image = describeImage(ifd, size);
    if (typeof image === 'string') {
      problems.push(image);
      skipped.push({ ifd, index, reason: image });
      continue;
    }
    if (aperio) {
      if (image.tiled) levels.push(image);
      else {
        const name = aperioAssociatedName(index, image.description);
        if (name && !associated.has(name)) associated.set(name, image);
      }
    } else {
      levels.push(image);
    }
  }
  if (levels.length === 0) {
    throw new SlideError(path, problems[0] ?? 'it contains no readable image');
  }

  let pyramid: TiffImage[];
  if (aperio) {
    pyramid = levels;
  } else {
    // Largest image is level 0; smaller images with the same aspect ratio are its pyramid.
    // Stripped images qualify only as a single-level slide (as a level-0 with no tiled sibling).
    const sorted = [...levels].sort((a, b) => b.width - a.width);
    const base = sorted.find((i) => i.tiled) ?? sorted[0]!;
    pyramid = [base];
    for (const img of sorted) {
      if (img === base || !img.tiled || img.width >= pyramid[pyramid.length - 1]!.width) continue;
      const rx = base.width / img.width;
      const ry = base.height / img.height;
      if (Math.abs(rx - ry) / rx < 0.02 + 2 / Math.min(img.width, img.height)) pyramid.push(img);
    }
  }
  pyramid.sort((a, b) => b.width - a.width);
  const base = pyramid[0]!;

  const levelInfo: SlideLevel[] = pyramid.map((img) => ({
    width: img.width,
    height: img.height,
    downsample: (base.width / img.width + base.height / img.height) / 2,
    tileWidth: img.format.tileWidth,
    tileHeight: img.format.tileHeight,
    jpegTiles: img.tiled && img.format.codec === 'jpeg',
  }));

  let mppX: number | undefined;
  let mppY: number | undefined;
  let objectivePower: number | undefined;
  if (aperio) {
    Object.assign(properties, aperioProperties(firstDescription));
    const mpp = Number(properties['aperio.MPP']);
    if (mpp > 0) mppX = mppY = mpp;
    const mag = Number(properties['aperio.AppMag']);
    if (mag > 0) objectivePower = mag;
  } else {
    const unit = tagNumber(base.ifd, Tag.ResolutionUnit) ?? 2;
    const xres = tagNumber(base.ifd, Tag.XResolution);
    const yres = tagNumber(base.ifd, Tag.YResolution);
    const umPerUnit = unit === 3 ? 10000 : unit === 2 ? 25400 : 0;
    // A bare 72 or 1 dpi is a writer default, not a scan resolution.
    if (umPerUnit && xres && yres && !(unit === 2 && xres <= 300)) {
      mppX = umPerUnit / xres;
      mppY = umPerUnit / yres;
    }
  }
  if (mppX !== undefined) properties['openslide.mpp-x'] = String(mppX);
  if (mppY !== undefined) properties['openslide.mpp-y'] = String(mppY);
  if (objectivePower !== undefined) properties['openslide.objective-power'] = String(objectivePower);
  const vendor = aperio ? 'aperio' : 'generic-tiff';
  properties['openslide.vendor'] = vendor;
  levelInfo.forEach((l, i) => {
    properties[`openslide.level[${i}].width`] = String(l.width);
    properties[`openslide.level[${i}].height`] = String(l.height);
    properties[`openslide.level[${i}].downsample`] = String(l.downsample);
    properties[`openslide.level[${i}].tile-width`] = String(l.tileWidth);
    properties[`openslide.level[${i}].tile-height`] = String(l.tileHeight);
  });

  return {
    levels: pyramid,
    associated,
    metadata: {
      vendor,
      backend: 'tiff',
      levels: levelInfo,
      mppX,
      mppY,
      objectivePower,
      properties,
      associatedImages: [...associated.keys()],
      problems: readProblems(tiff, skipped, aperio ? [...associated.keys()] : undefined),
    },
  };
}

/**
 * What of an opened file could not be read, as sentences for the user: a directory chain cut by the end
 * of the file (scanners write associated images last, so a truncated copy silently loses them), and
 * images left out, each with its reason.
 */
function readProblems(
  tiff: TiffFile,
  skipped: { ifd: Ifd; index: number; reason: string }[],
  /** The associated images found, for formats that name them (Aperio). */
  associated?: string[],
): string[] {
  const out: string[] = [];
  if (tiff.endsEarly) {
    const missing = ['label', 'macro', 'thumbnail'].filter(
      (name) => associated && !associated.includes(name),
    );
    const list = missing.length > 1 ? `${missing.slice(0, -1).join(', ')} or ${missing.at(-1)}` : missing[0];
    out.push(
      'The file ends before its last image directory (truncated?), so images stored after it are missing' +
        (list ? ` (it has no ${list} image).` : '.'),
    );
  }
  for (const { ifd, index, reason } of skipped) {
    const w = tagNumber(ifd, Tag.ImageWidth) ?? 0;
    const h = tagNumber(ifd, Tag.ImageLength) ?? 0;
    const which = index >= 0 ? `Image directory ${index}` : 'A sub-image directory';
    out.push(`${which} (${w} x ${h}) is left out: ${reason}.`);
  }
  return out;
}

function tiffProperties(ifd: Ifd): Record<string, string> {
  const props: Record<string, string> = {};
  const strings: [number, string][] = [
    [Tag.ImageDescription, 'tiff.ImageDescription'],
    [Tag.Make, 'tiff.Make'],
    [Tag.Model, 'tiff.Model'],
    [Tag.Software, 'tiff.Software'],
    [Tag.DateTime, 'tiff.DateTime'],
  ];
  for (const [tag, name] of strings) {
    const v = tagString(ifd, tag);
    if (v !== undefined) props[name] = v;
  }
  const numbers: [number, string][] = [
    [Tag.XResolution, 'tiff.XResolution'],
    [Tag.YResolution, 'tiff.YResolution'],
    [Tag.ResolutionUnit, 'tiff.ResolutionUnit'],
  ];
  for (const [tag, name] of numbers) {
    const v = tagNumber(ifd, tag);
    if (v !== undefined) props[name] = String(v);
  }
  return props;
}
