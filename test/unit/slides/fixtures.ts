/**
 * Generated slide fixtures for the reader tests, made at test time in a temporary folder: a
 * noisy gradient image (noise makes a one-pixel shift obvious) saved by vips in every layout and
 * compression the built-in reader claims, big-endian copies by tiffcp, and Aperio-style JPEG 2000
 * files (33003 YCbCr, 33005 RGB) written by our own tiny TIFF writer.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { tool } from '../../helpers/prerequisites.js';
import { writeTiff } from './tiff-writer.js';
import { completeJpeg } from '../../../src-main/slides/codecs/jpeg-stream.js';

export const SOURCE_WIDTH = 1500;
export const SOURCE_HEIGHT = 1100;

/** A command line tool the fixtures need (a test prerequisite: skipped without it, failed in CI). */
export function hasTool(name: string): boolean {
  return tool(name);
}

/** Deterministic RGB source: gradients plus uniform noise from a fixed-seed LCG. */
export function sourcePixels(width = SOURCE_WIDTH, height = SOURCE_HEIGHT): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 16) / 65536;
  };
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v | 0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const n = (rand() - 0.5) * 80;
      const i = (y * width + x) * 3;
      rgb[i] = clamp((x * 255) / width + n);
      rgb[i + 1] = clamp((y * 255) / height - n);
      rgb[i + 2] = clamp(128 + ((x ^ y) & 63) + n / 2);
    }
  }
  return rgb;
}

export interface Fixture {
  name: string;
  file: string;
  /** What to compare against: OpenSlide, or the lossless source pixels (formats OpenSlide lacks). */
  reference: 'openslide' | 'source';
  /** Tolerated mean absolute difference per channel against the source (lossy codecs). */
  sourceTolerance?: number;
}

/** Packed RGB of one TIFF directory as libvips decodes it. */
export function vipsPage(file: string, page: number): { rgb: Uint8Array; width: number; height: number } {
  const v = `${file}.page${page}.v`;
  const raw = `${v}.raw`;
  execFileSync('vips', ['tiffload', file, v, '--page', String(page)]);
  const width = Number(execFileSync('vipsheader', ['-f', 'width', v], { encoding: 'utf8' }));
  const height = Number(execFileSync('vipsheader', ['-f', 'height', v], { encoding: 'utf8' }));
  execFileSync('vips', ['rawsave', v, raw]);
  const rgb = new Uint8Array(fs.readFileSync(raw));
  fs.rmSync(v, { force: true });
  fs.rmSync(raw, { force: true });
  return { rgb, width, height };
}

export function makeFixtureDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-slides-'));
}

/** Writes every fixture into `dir`; returns them by name. Needs vips; tiffcp is optional. */
export function buildFixtures(dir: string): Map<string, Fixture> {
  const rgb = sourcePixels();
  const raw = path.join(dir, 'source.raw');
  fs.writeFileSync(raw, rgb);
  const v = path.join(dir, 'source.v');
  execFileSync('vips', ['rawload', raw, v, String(SOURCE_WIDTH), String(SOURCE_HEIGHT), '3']);
  const out = new Map<string, Fixture>();
  const save = (name: string, args: string[], reference: Fixture['reference'], sourceTolerance?: number) => {
    const file = path.join(dir, `${name}.tif`);
    execFileSync('vips', ['tiffsave', v, file, ...args]);
    out.set(name, { name, file, reference, sourceTolerance });
  };
  const tiled = (w = 256, h = 256) => [
    '--tile',
    '--tile-width',
    String(w),
    '--tile-height',
    String(h),
    '--pyramid',
  ];
  save('jpeg', [...tiled(), '--compression', 'jpeg', '--Q', '90'], 'openslide');
  save('jpeg-bigtiff', [...tiled(), '--compression', 'jpeg', '--Q', '90', '--bigtiff'], 'openslide');
  save('jpeg-nonsquare', [...tiled(256, 128), '--compression', 'jpeg', '--Q', '90'], 'openslide');
  save('jpeg-subifd', [...tiled(), '--compression', 'jpeg', '--Q', '90', '--subifd'], 'openslide');
  save('lzw', [...tiled(), '--compression', 'lzw', '--predictor', 'horizontal'], 'openslide');
  save('lzw-nopredictor', [...tiled(), '--compression', 'lzw', '--predictor', 'none'], 'openslide');
  save('deflate', [...tiled(), '--compression', 'deflate', '--predictor', 'horizontal'], 'openslide');
  save('deflate-nopredictor', [...tiled(), '--compression', 'deflate', '--predictor', 'none'], 'openslide');
  save('none', [...tiled(), '--compression', 'none'], 'openslide');
  save('jp2k-vips', [...tiled(), '--compression', 'jp2k', '--lossless'], 'source', 2);
  // OpenSlide 3.4 does not open stripped TIFFs; these compare against the source pixels.
  save('stripped-lzw', ['--compression', 'lzw', '--predictor', 'horizontal'], 'source', 0);
  save('stripped-deflate', ['--compression', 'deflate'], 'source', 0);
  save('stripped-none', ['--compression', 'none'], 'source', 0);
  save('stripped-jpeg', ['--compression', 'jpeg', '--Q', '95'], 'source', 4);
  if (hasTool('tiffcp')) {
    // tiffcp writes JPEG tiles with Photometric YCbCr (vips writes RGB), and big-endian files.
    const tiffcp = (
      name: string,
      args: string[],
      from: string,
      reference: Fixture['reference'],
      tol?: number,
    ) => {
      const file = path.join(dir, `${name}.tif`);
      execFileSync('tiffcp', [...args, '-t', '-w', '256', '-l', '256', out.get(from)!.file, file]);
      out.set(name, { name, file, reference, sourceTolerance: tol });
    };
    tiffcp('jpeg-ycbcr', ['-c', 'jpeg:90'], 'lzw', 'openslide');
    tiffcp('jpeg-bigendian', ['-B', '-c', 'jpeg:90'], 'lzw', 'source', 5);
    tiffcp('lzw-bigendian', ['-B', '-c', 'lzw:2'], 'lzw', 'source', 0);
  }
  for (const [name, compression] of [
    ['aperio-jp2k-33003', 33003],
    ['aperio-jp2k-33005', 33005],
  ] as const) {
    const file = path.join(dir, `${name}.svs`);
    fs.writeFileSync(file, aperioJp2k(rgb, SOURCE_WIDTH, SOURCE_HEIGHT, 600, 500, compression));
    out.set(name, { name, file, reference: 'openslide' });
  }
  return out;
}

/** An Aperio-style SVS (one level, 240 px JPEG 2000 tiles, padded edge tiles) of a crop of `rgb`. */
function aperioJp2k(
  rgb: Uint8Array,
  srcWidth: number,
  _srcHeight: number,
  width: number,
  height: number,
  compression: 33003 | 33005,
): Uint8Array {
  const tile = 240;
  const tiles: Uint8Array[] = [];
  const encoder = jp2kEncoderSync();
  for (let ty = 0; ty < Math.ceil(height / tile); ty++) {
    for (let tx = 0; tx < Math.ceil(width / tile); tx++) {
      const samples = new Uint8Array(tile * tile * 3);
      for (let y = 0; y < tile; y++) {
        for (let x = 0; x < tile; x++) {
          const sx = Math.min(tx * tile + x, width - 1);
          const sy = Math.min(ty * tile + y, height - 1);
          const s = (sy * srcWidth + sx) * 3;
          const d = (y * tile + x) * 3;
          const [r, g, b] = [rgb[s]!, rgb[s + 1]!, rgb[s + 2]!];
          if (compression === 33003) {
            samples[d] = clamp(0.299 * r + 0.587 * g + 0.114 * b);
            samples[d + 1] = clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
            samples[d + 2] = clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
          } else {
            samples.set([r, g, b], d);
          }
        }
      }
      tiles.push(encoder(samples, tile, tile));
    }
  }
  const description = `Aperio Image Library Tessera test\r\n${width}x${height} [0,0 ${width}x${height}] (${tile}x${tile}) J2K/KDU Q=70|AppMag = 20|MPP = 0.2500|ScanScope ID = TEST`;
  return writeTiff([
    { width, height, tileWidth: tile, tileHeight: tile, tiles, compression, photometric: 2, description },
  ]);
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

interface J2kEncoderModule {
  J2KEncoder: new () => {
    getDecodedBuffer(info: object): Uint8Array;
    encode(): void;
    getEncodedBuffer(): Uint8Array;
  };
}

let encoderModule: J2kEncoderModule | undefined;

// The encoder is only in the full (encode + decode) build; tests use it, the app does not.
/** Loads the OpenJPEG encoder once (call `await loadJp2kEncoder()` before building fixtures). */
export async function loadJp2kEncoder(): Promise<void> {
  const require = createRequire(import.meta.url);
  const factory = require('@cornerstonejs/codec-openjpeg/wasmjs') as (o: object) => Promise<J2kEncoderModule>;
  encoderModule ??= await factory({ print: () => {}, printErr: () => {} });
}

export function jp2kEncoderSync(): (samples: Uint8Array, w: number, h: number) => Uint8Array {
  if (!encoderModule) throw new Error('call loadJp2kEncoder() first');
  const mod = encoderModule;
  return (samples, w, h) => {
    const enc = new mod.J2KEncoder();
    enc
      .getDecodedBuffer({ width: w, height: h, bitsPerSample: 8, componentCount: 3, isSigned: false })
      .set(samples);
    enc.encode();
    return new Uint8Array(enc.getEncodedBuffer());
  };
}

/**
 * Small JPEG files of every kind slide tiles come in, written by vips (and Pillow for 4:2:2, where
 * /usr/bin/python3 has it): 4:2:0 and 4:4:4 chroma, odd sizes, restart markers, grey, and the Adobe
 * transform-0 marker Aperio RGB tiles get. Named by what they exercise.
 */
export function makeJpegSamples(dir: string): Map<string, Uint8Array> {
  const jpegs = new Map<string, Uint8Array>();
  const raw = (name: string, width: number, height: number, bands: number) => {
    const file = path.join(dir, `${name}.raw`);
    const rgb = sourcePixels(width, height);
    fs.writeFileSync(file, bands === 1 ? rgb.filter((_, i) => i % 3 === 1) : rgb);
    return file;
  };
  const make = (name: string, width: number, height: number, options: string[], bands = 3) => {
    const v = path.join(dir, `${name}.v`);
    execFileSync('vips', [
      'rawload',
      raw(name, width, height, bands),
      v,
      String(width),
      String(height),
      String(bands),
    ]);
    if (bands === 1) execFileSync('vips', ['copy', v, `${v}.bw.v`, '--interpretation', 'b-w']);
    const file = path.join(dir, `${name}.jpg`);
    execFileSync('vips', ['jpegsave', bands === 1 ? `${v}.bw.v` : v, file, ...options]);
    jpegs.set(name, new Uint8Array(fs.readFileSync(file)));
  };
  make('4:2:0 q75', 256, 256, ['--Q', '75']);
  make('4:4:4 q92', 256, 256, ['--Q', '92', '--subsample-mode', 'off']);
  make('4:2:0 odd 250x131', 250, 131, ['--Q', '80']);
  make('4:2:0 restart markers', 240, 240, ['--Q', '85', '--restart-interval', '3']);
  make('grey', 200, 120, ['--Q', '70'], 1);
  if (pillowAvailable()) {
    const file = path.join(dir, '422.jpg');
    const script =
      'import sys; from PIL import Image; ' +
      'Image.frombytes("RGB", (237, 119), open(sys.argv[1], "rb").read()).save(sys.argv[2], quality=80, subsampling=1)';
    execFileSync('/usr/bin/python3', ['-c', script, raw('422', 237, 119, 3), file]);
    jpegs.set('4:2:2 odd 237x119 (Pillow)', new Uint8Array(fs.readFileSync(file)));
  }
  // An Adobe transform-0 marker makes libjpeg skip the colour conversion (as for Aperio RGB tiles).
  jpegs.set('Adobe RGB', completeJpeg(jpegs.get('4:2:0 q75')!, undefined, true));
  return jpegs;
}

function pillowAvailable(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import PIL'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
