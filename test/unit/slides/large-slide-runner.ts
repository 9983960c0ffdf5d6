/**
 * Child process of large-slide.test.ts: creates a project and imports a slide folder through the CLI,
 * then opens the slide afresh and reads tiles of every Deep Zoom level, and prints what it got and its
 * peak resident memory as one line of JSON. A process of its own, so the peak is this work's alone.
 *
 *   node --import tsx large-slide-runner.ts PROJECT_DIR SLIDES_DIR SLIDE_FILE X Y
 *
 * For each level it reads the tile holding level-0 pixel (X, Y) and the bottom-right tile.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../../../src-main/cli/index.js';
import { deepZoomFor, openSlide } from '../../../src-main/slides/index.js';

const [projectDir, slidesDir, slideFile, px, py] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const started = Date.now();
let out = '';
let err = '';
const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) };
if ((await runCli(['project', 'init', projectDir], io)) !== 0) throw new Error(`project init failed: ${err}`);
out = '';
const importCode = await runCli(['import', projectDir, slidesDir, '--json'], io);
const summary = JSON.parse(out) as unknown;
const thumbnails = path.join(projectDir, 'cache', 'thumbnails');
const thumbnail = fs.readdirSync(thumbnails).map((f) => fs.readFileSync(path.join(thumbnails, f)))[0];
const importSeconds = (Date.now() - started) / 1000;

const reader = await openSlide(slideFile);
const dz = deepZoomFor(reader);
const tiles: { level: number; col: number; row: number; jpeg: string }[] = [];
for (let level = 0; level < dz.levelCount; level++) {
  const downsample = 2 ** (dz.levelCount - 1 - level);
  const [cols, rows] = dz.levelTiles[level]!;
  const addresses = new Set([
    `${Math.floor(Number(px) / downsample / dz.tileSize)},${Math.floor(Number(py) / downsample / dz.tileSize)}`,
    `${cols - 1},${rows - 1}`,
  ]);
  for (const address of addresses) {
    const [col, row] = address.split(',').map(Number) as [number, number];
    const jpeg = await dz.tile(level, col, row);
    tiles.push({ level, col, row, jpeg: Buffer.from(jpeg).toString('base64') });
  }
}
await reader.close();
process.stdout.write(
  JSON.stringify({
    importCode,
    summary,
    thumbnail: thumbnail ? thumbnail.toString('base64') : null,
    tileSize: dz.tileSize,
    levelCount: dz.levelCount,
    tiles,
    importSeconds,
    seconds: (Date.now() - started) / 1000,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }) + '\n',
);
process.exit(0);
