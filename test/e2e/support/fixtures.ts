/**
 * Slide fixtures the e2e specs make at run time with Debian's `vips`: a small pyramidal JPEG TIFF that
 * looks like stained cells (so screenshots show something slide-like), and files that are not slides.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Writes `<dir>/synthetic-cells.tif`: 3000 x 2200 px, 256 px JPEG tiles, 0.5 µm/px, no objective. */
export function writeSyntheticSlide(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const work = fs.mkdtempSync(path.join(dir, '.vips-'));
  const file = path.join(dir, 'synthetic-cells.tif');
  const vips = (...args: string[]) => execFileSync('vips', args, { stdio: 'pipe' });
  try {
    // Distance to the nearest random cell centre → dark nuclei on a pink background. The leading space
    // keeps vips from reading a negative number as an option.
    vips('worley', path.join(work, 'd.v'), '3000', '2200', '--cell-size', '90', '--seed', '7');
    vips('linear', path.join(work, 'd.v'), path.join(work, 'n.v'), ' -1', '14', '--uchar');
    vips(
      'linear',
      path.join(work, 'n.v'),
      path.join(work, 'c.v'),
      ' -10.5 -8.5 -5',
      '238 178 214',
      '--uchar',
    );
    vips(
      'tiffsave',
      path.join(work, 'c.v'),
      file,
      '--tile',
      '--pyramid',
      '--compression',
      'jpeg',
      '--Q',
      '85',
      '--tile-width',
      '256',
      '--tile-height',
      '256',
      // 2000 pixels per mm = 0.5 µm per pixel.
      '--xres',
      '2000',
      '--yres',
      '2000',
      '--resunit',
      'cm',
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return file;
}

/** Writes a folder with one file that claims to be a slide but is not, and returns the folder. */
export function writeBrokenSlideFolder(dir: string): { folder: string; file: string } {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'not-really-a-slide.svs');
  fs.writeFileSync(file, 'This is a text file with a slide extension, not a TIFF.\n');
  return { folder: dir, file };
}
