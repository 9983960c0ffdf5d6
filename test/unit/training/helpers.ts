/** Generated slides and OpenSlide references for the training data tests. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  paintSlide,
  type DemoSlidePlan,
  type PaintedSlide,
} from '../../../src-main/training/demo/paint-slide.js';
import { encodeSvs } from '../../../src-main/training/demo/svs-writer.js';
import { jpegCodec } from '../../../src-main/training/pixel-helpers.js';

export const PYTHON = '/usr/bin/python3';

export function hasOpenSlidePython(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import openslide, PIL.Image'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A painted demo slide written as SVS (claiming `mpp`); returns the file and the painting (ground truth). */
export function writePaintedSlide(
  dir: string,
  name: string,
  plan: Partial<DemoSlidePlan> = {},
  mpp = 0.5,
): { file: string; painted: PaintedSlide } {
  const painted = paintSlide({
    seed: 11,
    width: 1800,
    height: 1500,
    positive: true,
    sheetArea: 0.07,
    pen: false,
    fold: false,
    ...plan,
  });
  const file = path.join(dir, name);
  fs.writeFileSync(file, encodeSvs(painted, { mpp, name }));
  return { file, painted };
}

/** OpenSlide read_region + Pillow LANCZOS resize of each (x, y): the patches as CLAM and Trident make them. */
export function referencePatches(
  dir: string,
  slide: string,
  level: number,
  readSize: number,
  patchSize: number,
  coords: [number, number][],
): Uint8Array {
  const coordsFile = path.join(dir, `coords-${process.pid}.bin`);
  const out = path.join(dir, `patches-${process.pid}.rgb`);
  fs.writeFileSync(coordsFile, new Uint8Array(Int32Array.from(coords.flat()).buffer));
  execFileSync(PYTHON, [
    path.join(import.meta.dirname, 'patches_reference.py'),
    slide,
    String(level),
    String(readSize),
    String(patchSize),
    coordsFile,
    out,
  ]);
  return new Uint8Array(fs.readFileSync(out));
}

/** Largest absolute difference between two byte arrays of the same length. */
export function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Mean absolute difference per byte. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/**
 * Whether every JPEG decode in the reader goes through libjpeg-turbo, so that a tile decoded in part (native
 * addon) and one decoded whole are the same pixels. Without TurboJPEG (libturbojpeg0) whole tiles go
 * through @napi-rs/image, which rounds by a level or so differently, and pixels depend on cache state.
 */
export function decodersAgree(): boolean {
  return jpegCodec().name === 'turbojpeg';
}

/** Equal pixels where decoders agree; within decoder rounding otherwise. */
export function sameish(a: Uint8Array, b: Uint8Array): boolean {
  if (decodersAgree()) return Buffer.from(a).equals(Buffer.from(b));
  return meanAbsDiff(a, b) < 0.5;
}
