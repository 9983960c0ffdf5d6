/** `tessera slide info|region|tile`, run in-process through the CLI entry like the other CLI tests. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Transformer } from '@napi-rs/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers/cli.js';
import { makePyramidalTiff, sharedWsiDir } from '../../helpers/slides.js';
import { tempDir } from '../../helpers/temp.js';
import { openSlide } from '../../../src-main/slides/index.js';
import { hasTool, makeFixtureDir } from './fixtures.js';
import { hasOpenSlideTools, openSlideRegion } from './compare.js';

describe.skipIf(!hasTool('vips'))('tessera slide', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = makeFixtureDir();
    file = makePyramidalTiff(path.join(dir, 'gradient.tif'), 1200, 900);
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('info prints format, backend and levels; --json gives the metadata', async () => {
    const text = await cli('slide', 'info', file);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/Format\s+generic-tiff/);
    expect(text.out).toMatch(/Backend\s+tiff/);
    expect(text.out).toMatch(/Size\s+1200 x 900/);
    expect(text.out).toMatch(/ {2}1 {2}600 x 450 {2}downsample 2 {2}tiles 256 x 256/);
    const json = await cli('slide', 'info', file, '--json');
    expect(json.code).toBe(0);
    const meta = JSON.parse(json.out) as { levels: { width: number; height: number }[] };
    expect(meta).toMatchObject({ file, vendor: 'generic-tiff', backend: 'tiff' });
    expect(meta.levels.map((l) => l.width)).toEqual([1200, 600, 300, 150]);
    expect(meta.levels[0]).toMatchObject({ height: 900, downsample: 1, tileWidth: 256 });
  });

  it.skipIf(!hasOpenSlideTools())('region writes the PNG OpenSlide renders of that region', async () => {
    const out = path.join(tempDir(), 'r.png');
    const res = await cli(
      ...['slide', 'region', file, '--level', '1', '--x', '100', '--y', '60', '--w', '300', '--h', '200'],
      ...['-o', out],
    );
    expect(res).toMatchObject({ code: 0, out: `Wrote 300 x 200 px of level 1 to ${out}\n` });
    const png = new Transformer(fs.readFileSync(out));
    expect(png.metadataSync()).toMatchObject({ width: 300, height: 200 });
    // openslide-write-png: the same region of the same level (both decode with libjpeg-turbo).
    const reference = openSlideRegion(file, 1, 100, 60, 300, 200);
    expect(Buffer.compare(Buffer.from(png.rawPixelsSync()), Buffer.from(reference))).toBe(0);
  });

  it('region refuses a region over the limit before reading, with the API’s own sentence', async () => {
    const out = path.join(tempDir(), 'big.png');
    const sentence =
      'A region of 16384 x 16384 pixels is too large: one read returns at most 67108864 pixels ' +
      '(8192 x 8192, 256 MiB of RGBA); read larger areas in pieces.';
    const res = await cli(
      ...['slide', 'region', file, '--level', '0', '--x', '0', '--y', '0', '--w', '16384', '--h', '16384'],
      ...['-o', out],
    );
    expect(res.code).toBe(2);
    expect(res.err.split('\n')[0]).toBe(`tessera: ${sentence}`);
    expect(fs.existsSync(out)).toBe(false);
    const reader = await openSlide(file);
    try {
      await expect(reader.readRegion(0, 0, 0, 16384, 16384)).rejects.toThrow(sentence);
      // Up to the limit, in any shape.
      expect((await reader.readRegion(0, 0, 0, 65536, 1)).length).toBe(65536 * 4);
    } finally {
      await reader.close();
    }
    const wide = await cli(
      ...['slide', 'region', file, '--level', '0', '--x', '0', '--y', '0', '--w', '65536', '--h', '1025'],
      ...['-o', out],
    );
    expect(wide.err).toMatch(/^tessera: A region of 65536 x 1025 pixels is too large: /);
  });

  it.skipIf(process.platform === 'win32')(
    'refuses a FIFO or device named like a slide at once',
    async () => {
      const fifo = path.join(tempDir(), 'x.svs');
      execFileSync('mkfifo', [fifo]);
      // Nothing ever writes to the FIFO: an open that waited for a writer would hang here.
      const res = await cli('slide', 'info', fifo);
      expect(res).toMatchObject({
        code: 1,
        err: 'tessera: Cannot read slide x.svs: it is not a regular file (a pipe, socket or device).\n',
      });
      expect((await cli('slide', 'info', '/dev/zero')).err).toMatch(
        /Cannot read slide zero: it is not a regular/,
      );
    },
    10_000,
  );

  it('tile writes a Deep Zoom JPEG of the per-slide grid, or of the grid asked for', async () => {
    const dir = tempDir();
    const res = await cli('slide', 'tile', file, '11', '1', '1', '-o', path.join(dir, 't.jpg'));
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/tile 11\/1_1 \(tile size 256, overlap 0\)/);
    expect(new Transformer(fs.readFileSync(path.join(dir, 't.jpg'))).metadataSync()).toMatchObject({
      width: 256,
      height: 256,
    });
    const osd = await cli(
      'slide',
      'tile',
      file,
      '11',
      '4',
      '3',
      '--tile-size',
      '254',
      '--overlap',
      '1',
      '-o',
      path.join(dir, 'e.jpg'),
    );
    expect(osd.code).toBe(0);
    // last column and row: 1200 - 4*254 = 184 (+1 overlap left), 900 - 3*254 = 138 (+1 overlap top)
    expect(new Transformer(fs.readFileSync(path.join(dir, 'e.jpg'))).metadataSync()).toMatchObject({
      width: 185,
      height: 139,
    });
  });

  it('usage mistakes exit 2', async () => {
    const out = path.join(tempDir(), 'x.png');
    const region = (level: string, ...rest: string[]) => [
      ...['slide', 'region', file, '--level', level, '--x', '0', '--y', '0', '--w', '10'],
      ...rest,
      ...['-o', out],
    ];
    const levelTooHigh = region('7', '--h', '10');
    const cases = [
      region('0'), // no --h
      region('one', '--h', '10'),
      levelTooHigh,
      ['slide', 'tile', file, '99', '0', '0', '-o', out],
      ['slide', 'tile', file, '11', '40', '0', '-o', out],
      ['slide', 'info'],
    ];
    for (const args of cases) expect((await cli(...args)).code, args.join(' ')).toBe(2);
    const res = await cli(...levelTooHigh);
    expect(res.err).toMatch(/--level must be below 4 for this slide, got 7/);
  });

  it('unreadable files exit 1 with one sentence naming the file', async () => {
    const dir = tempDir();
    const bad = path.join(dir, 'scan.svs');
    fs.writeFileSync(bad, 'not a slide at all');
    const res = await cli('slide', 'info', bad);
    expect(res).toMatchObject({
      code: 1,
      err: 'tessera: Cannot read slide scan.svs: it is not a slide format Tessera can read.\n',
    });
    const missing = await cli('slide', 'info', path.join(dir, 'gone.svs'));
    expect(missing).toMatchObject({
      code: 1,
      err: 'tessera: Cannot read slide gone.svs: the file does not exist.\n',
    });
    const truncated = path.join(dir, 'cut.tif');
    fs.writeFileSync(truncated, fs.readFileSync(file).subarray(0, 5000));
    const cut = await cli('slide', 'info', truncated);
    expect(cut.code).toBe(1);
    expect(cut.err).toMatch(/^tessera: Cannot read slide cut\.tif: .+\.\n$/);
  });

  it.skipIf(!sharedWsiDir())(
    'says which images a truncated slide lacks, in slide info and the import result',
    async () => {
      const dir = tempDir();
      const slides = path.join(dir, 'slides');
      fs.mkdirSync(slides);
      const whole = fs.readFileSync(path.join(sharedWsiDir()!, 'CMU-1-Small-Region.svs'));
      const cut = path.join(slides, 'cut.svs');
      fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.8)));
      const sentence =
        'The file ends before its last image directory (truncated?), so images stored after it are missing ' +
        '(it has no label or macro image).';
      const info = await cli('slide', 'info', cut);
      expect(info.code).toBe(0);
      expect(info.out).toMatch(/Associated {2}thumbnail\n/);
      expect(info.out).toContain(`Problems\n  ${sentence}\n`);
      const json = JSON.parse((await cli('slide', 'info', cut, '--json')).out) as { problems: string[] };
      expect(json.problems).toEqual([sentence]);
      // The whole file has none.
      const sound = JSON.parse(
        (await cli('slide', 'info', path.join(sharedWsiDir()!, 'CMU-1-Small-Region.svs'), '--json')).out,
      ) as {
        problems: string[];
      };
      expect(sound.problems).toEqual([]);
      const project = path.join(dir, 'project');
      expect((await cli('project', 'init', project)).code).toBe(0);
      const imported = await cli('import', project, slides, '--json');
      expect(imported.code).toBe(0);
      const summary = JSON.parse(imported.out) as {
        imported: number;
        warnings: { file: string; reason: string }[];
      };
      expect(summary.imported).toBe(1);
      expect(summary.warnings).toEqual([{ file: cut, reason: sentence }]);
      // The plain summary says it too, not only --json.
      const again = await cli('import', project, slides);
      expect(again.out).toContain(`Imported with problems:\n  ${sentence}\n`);
    },
  );
});
