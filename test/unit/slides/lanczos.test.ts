/**
 * The native Lanczos resampler (native/pixels) computes what Pillow computes: the same pixels as
 * Image.resize(LANCZOS, box=...) and as thumbnail() after its box reduction, which is how OpenSlide's
 * DeepZoomGenerator scales tiles. Needs Debian's python3-pil (it comes with python3-openslide).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxReduce, reductionFactors } from '../../../src-main/slides/codecs/box-reduce.js';
import { lanczosResampler } from '../../../src-main/slides/codecs/native-pixels.js';
import { pythonModule } from '../../helpers/prerequisites.js';
import { makeFixtureDir, sourcePixels } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const lanczos = lanczosResampler();

const hasPillow = () => pythonModule('PIL.Image', 'python3-pil');

/** RGBA (opaque) from the deterministic fixture source. */
function image(width: number, height: number): Uint8Array {
  const rgb = sourcePixels(width, height);
  const rgba = new Uint8Array(width * height * 4).fill(255);
  for (let i = 0; i < width * height; i++) rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
  return rgba;
}

describe.skipIf(!lanczos || !hasPillow())('Lanczos resampling against Pillow', () => {
  let dir: string;
  beforeAll(() => {
    dir = makeFixtureDir();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Pillow's answer: resize(LANCZOS, box) or thumbnail (reducing_gap 2) of the raw RGBA file. */
  function pillow(file: string, w: number, h: number, op: string): Uint8Array {
    const out = `${file}.${op.replace(/\W+/g, '_')}.raw`;
    const script = [
      'import sys',
      'from PIL import Image',
      `im = Image.frombytes('RGBA', (${w}, ${h}), open(sys.argv[1], 'rb').read()).convert('RGB')`,
      `im = im.${op}`,
      "open(sys.argv[2], 'wb').write(im.convert('RGBA').tobytes())",
    ].join('\n');
    execFileSync(PYTHON, ['-c', script, file, out]);
    return new Uint8Array(fs.readFileSync(out));
  }

  it('equals Image.resize(LANCZOS) with whole and fractional boxes, down and up', () => {
    const [w, h] = [301, 217];
    const src = image(w, h);
    const file = path.join(dir, 'src.raw');
    fs.writeFileSync(file, src);
    const cases: [number, number, number, number][] = [
      [150, 108, w, h], // by 2
      [100, 33, w, h], // different factors per axis
      [301, 100, w, h], // one axis only
      [97, 61, 250.5, 180.25], // a fractional box, as after a box reduction
      [640, 480, w, h], // up
    ];
    for (const [ow, oh, bw, bh] of cases) {
      const box = bw === w && bh === h ? '' : `, box=(0, 0, ${bw}, ${bh})`;
      const theirs = Buffer.from(pillow(file, w, h, `resize((${ow}, ${oh}), Image.LANCZOS${box})`));
      // The vectorised passes (where this CPU has SSE4.1 / AVX2) and the plain loops alike.
      for (const portable of [false, true]) {
        const ours = Buffer.from(lanczos!(src, w, h, bw, bh, ow, oh, portable));
        expect(Buffer.compare(ours, theirs), `${ow}x${oh} box ${bw}x${bh} portable ${portable}`).toBe(0);
      }
    }
  });

  it("equals thumbnail() (box reduction, then Lanczos on the fractional box), as Deep Zoom's tiles", () => {
    const [w, h] = [1017, 763];
    const src = image(w, h);
    const file = path.join(dir, 'big.raw');
    fs.writeFileSync(file, src);
    for (const [ow, oh] of [
      [254, 191],
      [127, 96],
      [31, 24],
    ] as const) {
      const [fx, fy] = reductionFactors(w, h, ow, oh);
      const reduced = boxReduce({ rgba: src, width: w, height: h }, fx, fy);
      const ours = lanczos!(reduced.rgba, reduced.width, reduced.height, w / fx, h / fy, ow, oh);
      // thumbnail() keeps the aspect ratio; these sizes are the ones it picks for 1017x763.
      const theirs = pillow(file, w, h, `resize((${ow}, ${oh}), Image.LANCZOS, reducing_gap=2.0)`);
      expect(Buffer.compare(Buffer.from(ours), Buffer.from(theirs)), `${ow}x${oh} after /${fx}x${fy}`).toBe(
        0,
      );
    }
  });

  it('refuses boxes outside the image and short buffers', () => {
    const src = image(10, 10);
    expect(() => lanczos!(src, 10, 10, 11, 10, 5, 5)).toThrow(/box must lie inside/);
    expect(() => lanczos!(src.subarray(0, 100), 10, 10, 10, 10, 5, 5)).toThrow(/smaller than its size/);
  });
});
