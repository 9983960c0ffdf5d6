import { execFileSync } from 'node:child_process';

/**
 * Saves `input` (any image vips reads) as a pyramidal (or, with singleLevel, a one-level) TIFF of 256 px
 * JPEG tiles: the layout generated test and benchmark slides share. No vitest imports, so benchmarks can
 * use it too.
 */
export function saveJpegPyramid(
  input: string,
  output: string,
  options: { quality: number; bigtiff?: boolean; singleLevel?: boolean; pixelsPerMm?: number },
): void {
  const args = ['tiffsave', input, output, '--tile', '--tile-width', '256', '--tile-height', '256'];
  if (!options.singleLevel) args.push('--pyramid');
  args.push('--compression', 'jpeg', '--Q', String(options.quality));
  if (options.bigtiff) args.push('--bigtiff');
  if (options.pixelsPerMm)
    args.push('--xres', String(options.pixelsPerMm), '--yres', String(options.pixelsPerMm));
  execFileSync('vips', args);
}
