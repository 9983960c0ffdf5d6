/**
 * A valid single-level 40000 x 40000 JPEG TIFF (as scanners and converters write them): import, its
 * thumbnail and every Deep Zoom level work, tile by tile with bounded memory. The whole level as RGBA
 * would be 6.4 GB; the test runs the work in a child process and states its peak RSS.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Transformer } from '@napi-rs/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/temp.js';
import { hasTool, makeFixtureDir } from './fixtures.js';

const SIZE = 40000;
/** 4 x 4 blocks of 10000 px, one colour each (flat areas compress to about 1 KB per 256 px tile). */
const COLOURS: [number, number, number][] = [
  [200, 60, 60],
  [60, 200, 60],
  [60, 60, 200],
  [230, 230, 230],
  [120, 40, 160],
  [250, 180, 40],
  [30, 30, 30],
  [40, 170, 170],
  [255, 255, 255],
  [90, 90, 90],
  [180, 80, 20],
  [20, 80, 180],
  [160, 200, 40],
  [200, 120, 160],
  [110, 60, 30],
  [10, 140, 60],
];
const BLOCK = SIZE / 4;
/** The level-0 pixel whose tile the runner reads at every level: inside block (1, 2), far from its edges. */
const PROBE: [number, number] = [15000, 25000];
/** Peak RSS the child may reach: a few hundred MiB of tile cache, copies and workers, not the level. */
const RSS_LIMIT_MIB = 1024;

const colourAt = (x: number, y: number) => COLOURS[Math.floor(y / BLOCK) * 4 + Math.floor(x / BLOCK)]!;

function pixel(jpeg: Buffer, x: number, y: number): { rgb: number[]; width: number; height: number } {
  const t = new Transformer(jpeg);
  const { width, height } = t.metadataSync();
  const raw = t.rawPixelsSync();
  const channels = raw.length / (width * height);
  const i = (y * width + x) * channels;
  return { rgb: [raw[i]!, raw[i + 1]!, raw[i + 2]!], width, height };
}

function expectColour(got: number[], want: number[], what: string): void {
  for (let c = 0; c < 3; c++)
    expect(Math.abs(got[c]! - want[c]!), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(8);
}

interface RunnerResult {
  importCode: number;
  summary: { imported: number; errors: { reason: string }[] };
  thumbnail: string | null;
  tileSize: number;
  levelCount: number;
  tiles: { level: number; col: number; row: number; jpeg: string }[];
  importSeconds: number;
  seconds: number;
  peakRssMiB: number;
}

describe.skipIf(!hasTool('vips'))('a single-level 40000 x 40000 JPEG TIFF', () => {
  let dir: string;
  let result: RunnerResult;

  beforeAll(() => {
    dir = makeFixtureDir();
    const slides = path.join(dir, 'slides');
    fs.mkdirSync(slides);
    const raw = path.join(dir, 'pattern.raw');
    fs.writeFileSync(raw, Uint8Array.from(COLOURS.flat()));
    execFileSync('vips', ['rawload', raw, `${raw}.v`, '4', '4', '3']);
    // vips streams: the enlarged image is never held in memory, the TIFF comes out tile by tile.
    const slide = path.join(slides, 'single-level.tif');
    execFileSync('vips', [
      'zoom',
      `${raw}.v`,
      `${slide}[tile,tile-width=256,tile-height=256,compression=jpeg,Q=80]`,
      String(BLOCK),
      String(BLOCK),
    ]);
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(import.meta.dirname, 'large-slide-runner.ts'),
        path.join(dir, 'project'),
        slides,
        slide,
        String(PROBE[0]),
        String(PROBE[1]),
      ],
      { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    if (child.status !== 0) throw new Error(`the runner failed (${child.status}): ${child.stderr}`);
    result = JSON.parse(child.stdout) as RunnerResult;
    console.log(
      `40000 x 40000 single-level slide: import ${result.importSeconds.toFixed(1)} s, all ${result.levelCount} ` +
        `Deep Zoom levels ${(result.seconds - result.importSeconds).toFixed(1)} s more; ` +
        `peak RSS of the process ${result.peakRssMiB} MiB (the level as RGBA: 6104 MiB)`,
    );
  }, 180_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('imports, with a thumbnail that shows the slide', () => {
    expect(result.importCode).toBe(0);
    expect(result.summary.errors).toEqual([]);
    expect(result.summary.imported).toBe(1);
    const thumb = Buffer.from(result.thumbnail!, 'base64');
    const { width, height } = pixel(thumb, 0, 0);
    expect([width, height]).toEqual([256, 256]);
    for (let by = 0; by < 4; by++) {
      for (let bx = 0; bx < 4; bx++) {
        const { rgb } = pixel(thumb, bx * 64 + 32, by * 64 + 32);
        expectColour(rgb, COLOURS[by * 4 + bx]!, `thumbnail block ${bx},${by}`);
      }
    }
  });

  it('serves every Deep Zoom level, with the right pixels', () => {
    expect(result.levelCount).toBe(17); // 40000 halves 16 times down to 1
    const levels = new Set(result.tiles.map((t) => t.level));
    expect(levels.size).toBe(result.levelCount);
    for (const t of result.tiles) {
      const downsample = 2 ** (result.levelCount - 1 - t.level);
      const jpeg = Buffer.from(t.jpeg, 'base64');
      // The tile's centre pixel, in level 0, where it lies well inside one block.
      const { width, height } = pixel(jpeg, 0, 0);
      const cx = Math.floor(width / 2);
      const cy = Math.floor(height / 2);
      const x0 = (t.col * result.tileSize + cx) * downsample;
      const y0 = (t.row * result.tileSize + cy) * downsample;
      const margin = 4 * downsample;
      const inside = [x0 % BLOCK, y0 % BLOCK].every((v) => v > margin && v < BLOCK - margin);
      if (inside)
        expectColour(pixel(jpeg, cx, cy).rgb, colourAt(x0, y0), `level ${t.level} tile ${t.col},${t.row}`);
    }
  });

  it(`stays within ${RSS_LIMIT_MIB} MiB of resident memory`, () => {
    expect(result.peakRssMiB).toBeLessThan(RSS_LIMIT_MIB);
  });
});
