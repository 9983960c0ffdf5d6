import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveJpegPyramid } from './vips.js';

// No vitest imports here: the end-to-end specs and the benchmarks use these helpers too.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The real scanner slides beside the checkout (../shared/data/wsi), or null when absent. The one place
 * that knows where they are: tests and benchmarks ask here, and skip (saying why) without them.
 */
export function sharedWsiDir(): string | null {
  const dir = path.resolve(repoRoot, '..', 'shared', 'data', 'wsi');
  return fs.existsSync(path.join(dir, 'CMU-1-Small-Region.svs')) ? dir : null;
}

export function hasVips(): boolean {
  try {
    execFileSync('vips', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A small pyramidal (or single-level) JPEG-tiled TIFF made by vips from a generated gradient image. */
export function makePyramidalTiff(file: string, width = 1200, height = 900, singleLevel = false): string {
  const v = path.join(path.dirname(file), `${path.basename(file)}.v`);
  execFileSync('vips', ['xyz', v, String(width), String(height)]);
  const png = `${v}.png`;
  // Scale the coordinates into 8-bit RGB so the image is not flat.
  execFileSync('vips', ['linear', v, `${v}.lin.v`, '0.2', '0', '--uchar']);
  execFileSync('vips', ['bandjoin_const', `${v}.lin.v`, png, '128']);
  saveJpegPyramid(png, file, { quality: 90, singleLevel });
  for (const f of [v, `${v}.lin.v`, png]) fs.rmSync(f, { force: true });
  return file;
}
