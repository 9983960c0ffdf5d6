import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tool } from './prerequisites.js';
import { saveJpegPyramid } from './vips.js';

export { sharedWsiDir } from './prerequisites.js';

/** vips (libvips-tools), which makes the generated test slides. */
export function hasVips(): boolean {
  return tool('vips');
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
