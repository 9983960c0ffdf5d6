/**
 * Corrupt, truncated and non-slide files: thousands of seeded mutations of small fixture files of
 * every layout and codec. Each case must either read or fail with a SlideError naming the file;
 * nothing may crash the process, hang, or throw anything else.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlideError, SlideRegistry, deepZoomFor, type SlideReader } from '../../../src-main/slides/index.js';
import { tiffBackend } from '../../../src-main/slides/tiff/tiff-backend.js';
import { openSlideBackend } from '../../../src-main/slides/openslide/openslide-reader.js';
import { sharedWsiDir } from '../../helpers/slides.js';
import { repoRoot } from '../../helpers/temp.js';
import { hasTool, loadJp2kEncoder, sourcePixels } from './fixtures.js';
import { writeTiff } from './tiff-writer.js';

const CASES = Number(process.env.TESSERA_FUZZ_CASES ?? 2500);
const OPENSLIDE_CASES = Math.ceil(CASES / 5);
/** OpenSlide where libopenslide is installed; its library logs nothing here. */
const openSlide = openSlideBackend(() => {});
const SEED = 20261129;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Small seed files: vips pyramids in each codec, stripped, BigTIFF, and an Aperio-style file. */
function seeds(dir: string): Buffer[] {
  const rgb = sourcePixels(200, 150);
  const raw = path.join(dir, 's.raw');
  fs.writeFileSync(raw, rgb);
  const v = path.join(dir, 's.v');
  execFileSync('vips', ['rawload', raw, v, '200', '150', '3']);
  const out: Buffer[] = [];
  const variants: string[][] = [
    ['--tile', '--tile-width', '64', '--tile-height', '64', '--pyramid', '--compression', 'jpeg'],
    [
      '--tile',
      '--tile-width',
      '64',
      '--tile-height',
      '32',
      '--pyramid',
      '--compression',
      'lzw',
      '--predictor',
      'horizontal',
    ],
    [
      '--tile',
      '--tile-width',
      '64',
      '--tile-height',
      '64',
      '--pyramid',
      '--compression',
      'deflate',
      '--bigtiff',
    ],
    ['--tile', '--tile-width', '64', '--tile-height', '64', '--compression', 'jp2k'],
    ['--compression', 'none'],
    ['--compression', 'jpeg', '--subifd', '--pyramid', '--tile', '--tile-width', '64', '--tile-height', '64'],
  ];
  variants.forEach((args, i) => {
    const f = path.join(dir, `seed${i}.tif`);
    execFileSync('vips', ['tiffsave', v, f, ...args]);
    out.push(fs.readFileSync(f));
  });
  // An Aperio-like file with a thumbnail and a label (directory naming rules).
  const strip = (w: number, h: number) => Uint8Array.from(rgb.subarray(0, w * h * 3));
  out.push(
    Buffer.from(
      writeTiff(
        [
          {
            width: 64,
            height: 48,
            tileWidth: 64,
            tileHeight: 48,
            tiles: [strip(64, 48)],
            compression: 1,
            photometric: 2,
            description: 'Aperio Image Library test\r\n64x48|AppMag = 20|MPP = 0.5',
          },
          {
            width: 32,
            height: 24,
            rowsPerStrip: 24,
            tiles: [strip(32, 24)],
            compression: 1,
            photometric: 2,
            description: 'Aperio Image Library test\r\nthumbnail',
          },
          {
            width: 16,
            height: 8,
            rowsPerStrip: 8,
            tiles: [strip(16, 8)],
            compression: 1,
            photometric: 2,
            description: 'Aperio Image Library test\r\nlabel 16x8',
          },
        ],
        { littleEndian: false },
      ),
    ),
  );
  const wsi = sharedWsiDir();
  if (wsi) out.push(fs.readFileSync(path.join(wsi, 'openslide-python-small.svs')));
  return out;
}

function mutate(input: Buffer, rand: () => number): Buffer {
  const b = Buffer.from(input);
  const kind = Math.floor(rand() * 6);
  const pos = () => Math.floor(rand() * b.length);
  switch (kind) {
    case 0: // truncate
      return b.subarray(0, Math.floor(rand() * b.length));
    case 1: // flip a few random bytes anywhere
      for (let i = 0, n = 1 + Math.floor(rand() * 8); i < n; i++) b[pos()] = Math.floor(rand() * 256);
      return b;
    case 2: {
      // hit the header and directories hardest: small files keep their IFDs near the start or end
      const region = rand() < 0.5 ? Math.min(b.length, 512) : b.length;
      const base = rand() < 0.5 ? 0 : Math.max(0, b.length - region);
      for (let i = 0, n = 1 + Math.floor(rand() * 4); i < n; i++)
        b[base + Math.floor(rand() * region)] = Math.floor(rand() * 256);
      return b;
    }
    case 3: {
      // write a random 32-bit value (offsets, counts, sizes)
      const p = Math.max(0, pos() - 4);
      b.writeUInt32LE(Math.floor(rand() * 4294967296), p);
      return b;
    }
    case 4: {
      // zero a range (tile data loss)
      const p = pos();
      b.fill(0, p, Math.min(b.length, p + 1 + Math.floor(rand() * 256)));
      return b;
    }
    default: {
      // delete a range (shifts everything after it)
      const p = pos();
      return Buffer.concat([
        b.subarray(0, p),
        b.subarray(Math.min(b.length, p + 1 + Math.floor(rand() * 64))),
      ]);
    }
  }
}

async function exercise(reader: SlideReader): Promise<void> {
  const levels = reader.metadata.levels;
  const l0 = levels[0]!;
  await reader.readRegion(0, 0, 0, Math.min(l0.width, 256), Math.min(l0.height, 256));
  const last = levels.length - 1;
  const lv = levels[last]!;
  await reader.readRegion(last, 0, 0, Math.min(lv.width, 256), Math.min(lv.height, 256));
  for (const name of reader.metadata.associatedImages) await reader.readAssociatedImage(name);
  const dz = deepZoomFor(reader);
  await dz.tile(dz.levelCount - 1, 0, 0);
  // The coarsest tile: the whole of the last level, reduced (OpenSlide: read in pieces).
  await dz.tile(0, 0, 0);
}

/** Runs `cases` seeded mutations through `registry`; returns how they ended, by backend. */
async function fuzz(
  registry: SlideRegistry,
  inputs: Buffer[],
  file: string,
  cases: number,
  seed: number,
): Promise<{ opened: number; refused: number; failedLater: number; byBackend: Record<string, number> }> {
  const rand = rng(seed);
  const outcomes = { opened: 0, refused: 0, failedLater: 0, byBackend: {} as Record<string, number> };
  for (let i = 0; i < cases; i++) {
    const seedIndex = Math.floor(rand() * inputs.length);
    let data = mutate(inputs[seedIndex]!, rand);
    if (rand() < 0.3) data = mutate(data, rand);
    fs.writeFileSync(file, data);
    let reader: SlideReader | undefined;
    try {
      reader = await registry.open(file);
      outcomes.opened++;
      const backend = reader.metadata.backend;
      outcomes.byBackend[backend] = (outcomes.byBackend[backend] ?? 0) + 1;
      await exercise(reader);
    } catch (err) {
      if (!(err instanceof SlideError)) {
        throw new Error(`case ${i} (seed ${seedIndex}) threw ${String(err)} instead of a SlideError`, {
          cause: err,
        });
      }
      expect(err.message).toMatch(
        new RegExp(`^Cannot read slide ${path.basename(file).replace('.', '\\.')}: .+\\.$`),
      );
      if (reader) outcomes.failedLater++;
      else outcomes.refused++;
    } finally {
      await reader?.close();
    }
  }
  return outcomes;
}

describe.skipIf(!hasTool('vips'))('fuzz: corrupt and truncated slide files', () => {
  let dir: string;
  let inputs: Buffer[];
  // Built-in reader only here; the OpenSlide path has its own cases below.
  const registry = new SlideRegistry([tiffBackend()]);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-fuzz-'));
    await loadJp2kEncoder();
    inputs = seeds(dir);
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('unmutated seeds open and read', async () => {
    for (const [i, input] of inputs.entries()) {
      const f = path.join(dir, `ok-${i}.tif`);
      fs.writeFileSync(f, input);
      const reader = await registry.open(f);
      await exercise(reader);
      await reader.close();
    }
  });

  it('non-slide and empty files give one clear sentence naming the file', async () => {
    const cases: [string, Buffer | null][] = [
      ['empty.svs', Buffer.alloc(0)],
      ['notes.txt', Buffer.from('patient 12, HER2 positive\n')],
      ['photo.tif', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16])],
      ['header-only.tif', Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0])],
      ['missing.svs', null],
    ];
    for (const [name, content] of cases) {
      const f = path.join(dir, name);
      if (content) fs.writeFileSync(f, content);
      const err = await registry.open(f).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(SlideError);
      expect((err as Error).message).toMatch(
        new RegExp(`^Cannot read slide ${name.replace('.', '\\.')}: [^\\n]+\\.$`),
      );
    }
    await expect(registry.open(dir)).rejects.toThrow(/it is a folder/);
  });

  it(`${CASES} seeded mutations: a SlideError naming the file, or a readable slide; never a crash`, async () => {
    const outcomes = await fuzz(registry, inputs, path.join(dir, 'case-slide.tif'), CASES, SEED);
    // The mix must exercise both paths: files refused at open and files failing while decoding.
    expect(outcomes.refused).toBeGreaterThan(CASES / 20);
    expect(outcomes.opened).toBeGreaterThan(CASES / 20);
    expect(outcomes.failedLater).toBeGreaterThan(0);
  }, 120_000);

  // The app's registry: what the built-in reader refuses goes to OpenSlide, whose levels are checked
  // against the file before anything is read (a corrupt 65535 x 65535 directory used to reach it).
  it.skipIf(!openSlide)(
    `${OPENSLIDE_CASES} seeded mutations through OpenSlide too`,
    async () => {
      const both = new SlideRegistry([tiffBackend(), openSlide!]);
      const outcomes = await fuzz(both, inputs, path.join(dir, 'case-os.tif'), OPENSLIDE_CASES, SEED + 1);
      expect(outcomes.opened).toBeGreaterThan(OPENSLIDE_CASES / 20);
      // OpenSlide alone, also for the files the built-in reader would have taken.
      const alone = await fuzz(
        new SlideRegistry([openSlide!]),
        inputs,
        path.join(dir, 'case-os-only.tif'),
        OPENSLIDE_CASES,
        SEED + 2,
      );
      expect(alone.byBackend.openslide ?? 0).toBeGreaterThan(OPENSLIDE_CASES / 20);
      expect(alone.refused).toBeGreaterThan(OPENSLIDE_CASES / 20);
    },
    180_000,
  );
});

describe.skipIf(!hasTool('vips') || !fs.existsSync('/usr/bin/tiffset') || !openSlideBackend(() => {}))(
  'a TIFF directory that claims 65535 x 65535 in a small file',
  () => {
    it('is refused by both backends with one sentence, and libtiff’s warnings stay off stderr', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-huge-'));
      try {
        const file = path.join(dir, 'huge.tif');
        execFileSync('vips', ['black', `${file}.v`, '600', '400', '--bands', '3']);
        execFileSync('vips', ['tiffsave', `${file}.v`, file, '--tile', '--compression', 'jpeg']);
        execFileSync('tiffset', ['-s', '256', '65535', file], { stdio: 'ignore' });
        execFileSync('tiffset', ['-s', '257', '65535', file], { stdio: 'ignore' });
        // A child process: libtiff writes its warnings to file descriptor 2 itself.
        const run = (...args: string[]) =>
          spawnSync(
            process.execPath,
            [
              '--import',
              'tsx',
              '-e',
              `import('${path.join(repoRoot, 'src-main', 'cli', 'index.ts')}').then(async (m) => {
                const io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
                process.exitCode = await m.runCli(${JSON.stringify(args)}, io);
              })`,
            ],
            { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TESSERA_LOG: 'info' } },
          );
        const sentence =
          /^tessera: Cannot read slide huge\.tif: [^\n]*fewer tile offsets than tiles[^\n]*\.\n$/;
        const info = run('slide', 'info', file);
        expect(info.status).toBe(1);
        expect(info.stderr).toMatch(sentence);
        const tile = run('slide', 'tile', file, '0', '0', '0', '-o', path.join(dir, 't.jpg'));
        expect(tile.status).toBe(1);
        expect(tile.stderr).toMatch(sentence);
        // OpenSlide alone: its level is checked against the file before anything is read.
        await expect(new SlideRegistry([openSlideBackend(() => {})!]).open(file)).rejects.toThrow(
          /^Cannot read slide huge\.tif: level 0 \(65535 x 65535\) does not fit the file: the image has fewer tile offsets than tiles/,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  },
);
