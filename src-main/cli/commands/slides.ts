import fs from 'node:fs/promises';
import type { Command } from 'commander';
import {
  MAX_REGION_PIXELS,
  deepZoomFor,
  encodePng,
  openSlide,
  regionSizeProblem,
  type SlideReader,
} from '../../slides/index.js';
import { parseIntegerOption, UsageError } from '../errors.js';
import type { CliIo } from '../index.js';

/** `tessera slide info|region|tile`: the slide reader from the command line. */
export function register(program: Command, io: CliIo): void {
  const slide = program.command('slide').description('read whole-slide image files');

  slide
    .command('info')
    .description('print the slide format, backend, levels, resolution and properties')
    .argument('<file>', 'slide file')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      await withSlide(file, async (reader) => {
        const m = reader.metadata;
        if (opts.json) {
          io.out(JSON.stringify({ file, ...m }, null, 2) + '\n');
          return;
        }
        const lines = [
          `File        ${file}`,
          `Format      ${m.vendor}`,
          `Backend     ${m.backend}`,
          `Size        ${m.levels[0]!.width} x ${m.levels[0]!.height}`,
          `Resolution  ${m.mppX !== undefined ? `${m.mppX} x ${m.mppY} µm/px` : 'unknown'}`,
          `Objective   ${m.objectivePower !== undefined ? `${m.objectivePower}x` : 'unknown'}`,
          `Associated  ${m.associatedImages.join(', ') || 'none'}`,
          `Levels      ${m.levels.length}`,
          ...m.levels.map(
            (l, i) =>
              `  ${i}  ${l.width} x ${l.height}  downsample ${+l.downsample.toFixed(4)}  tiles ${l.tileWidth} x ${l.tileHeight}`,
          ),
          ...(m.problems.length > 0 ? ['Problems', ...m.problems.map((p) => `  ${p}`)] : []),
        ];
        io.out(lines.join('\n') + '\n');
      });
    });

  slide
    .command('region')
    .description(
      'write a region of one level as PNG (x, y in level-0 pixels; at most 8192 x 8192 pixels, as readRegion)',
    )
    .argument('<file>', 'slide file')
    .requiredOption('--level <n>', 'pyramid level')
    .requiredOption('--x <n>', 'left edge, level-0 pixels')
    .requiredOption('--y <n>', 'top edge, level-0 pixels')
    .requiredOption('--w <n>', 'width in pixels of the level')
    .requiredOption('--h <n>', 'height in pixels of the level')
    .requiredOption('-o, --output <file.png>', 'PNG file to write')
    .action(async (file: string, opts: Record<string, string>) => {
      const level = parseIntegerOption('--level', opts.level!, 0, 64);
      const x = parseIntegerOption('--x', opts.x!, -(2 ** 40), 2 ** 40);
      const y = parseIntegerOption('--y', opts.y!, -(2 ** 40), 2 ** 40);
      const w = parseIntegerOption('--w', opts.w!, 1, MAX_REGION_PIXELS);
      const h = parseIntegerOption('--h', opts.h!, 1, MAX_REGION_PIXELS);
      // The reader's own limit and sentence, checked before the slide is even opened.
      const tooLarge = regionSizeProblem(w, h);
      if (tooLarge) throw new UsageError(tooLarge);
      await withSlide(file, async (reader) => {
        if (level >= reader.metadata.levels.length) {
          throw new UsageError(
            `--level must be below ${reader.metadata.levels.length} for this slide, got ${level}.`,
          );
        }
        const rgba = await reader.readRegion(level, x, y, w, h);
        // The pixels go to the encoder as they are (a copy of an 8192 x 8192 region is 256 MiB).
        await fs.writeFile(
          opts.output!,
          await encodePng({ rgba, width: w, height: h }, { givePixels: true }),
        );
        io.out(`Wrote ${w} x ${h} px of level ${level} to ${opts.output}\n`);
      });
    });

  slide
    .command('tile')
    .description('write one Deep Zoom tile as JPEG (the tile grid the viewer uses for this slide)')
    .argument('<file>', 'slide file')
    .argument('<dzLevel>', 'Deep Zoom level (0 = 1x1 pixel)')
    .argument('<col>', 'tile column')
    .argument('<row>', 'tile row')
    .requiredOption('-o, --output <file.jpg>', 'JPEG file to write')
    .option('--tile-size <n>', 'Deep Zoom tile size (default: per slide)')
    .option('--overlap <n>', 'Deep Zoom overlap (default: per slide)')
    .action(
      async (file: string, lv: string, c: string, r: string, opts: Record<string, string | undefined>) => {
        const level = parseIntegerOption('DZ_LEVEL', lv, 0, 64);
        const col = parseIntegerOption('COL', c, 0);
        const row = parseIntegerOption('ROW', r, 0);
        const tileSize =
          opts.tileSize !== undefined ? parseIntegerOption('--tile-size', opts.tileSize, 1, 4096) : undefined;
        const overlap =
          opts.overlap !== undefined ? parseIntegerOption('--overlap', opts.overlap, 0, 64) : undefined;
        await withSlide(file, async (reader) => {
          const dz = deepZoomFor(reader, {
            ...(tileSize !== undefined ? { tileSize } : {}),
            ...(overlap !== undefined ? { overlap } : {}),
          });
          const tiles = dz.levelTiles[level];
          if (!tiles)
            throw new UsageError(`DZ_LEVEL must be below ${dz.levelCount} for this slide, got ${level}.`);
          if (col >= tiles[0] || row >= tiles[1]) {
            throw new UsageError(
              `Deep Zoom level ${level} has ${tiles[0]} x ${tiles[1]} tiles; ${col},${row} is outside.`,
            );
          }
          await fs.writeFile(opts.output!, await dz.tile(level, col, row));
          const d = dz.descriptor();
          io.out(
            `Wrote tile ${level}/${col}_${row} (tile size ${d.tileSize}, overlap ${d.overlap}) to ${opts.output}\n`,
          );
        });
      },
    );
}

async function withSlide(file: string, use: (reader: SlideReader) => Promise<void>): Promise<void> {
  const reader = await openSlide(file);
  try {
    await use(reader);
  } finally {
    await reader.close();
  }
}
