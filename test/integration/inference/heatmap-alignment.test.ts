/**
 * The heatmap sits on the slide to the pixel. A generated slide (0.25 µm/px, so patches of the 0.5 µm/px
 * grid are read from its second level and span 64 level-0 pixels) holds pink tissue with one distinct
 * striped patch planted at level-0 (512, 384). The model is constructed, not trained: a seeded micro encoder,
 * and an aggregator whose attention is a steep function of the projection of a patch's embedding onto
 * (embedding of the stripes − embedding of the tissue), both embedded from synthetic patches made here, not
 * read from the slide. `tessera predict` then runs the real pipeline (tissue, grid, reader, engine,
 * raster): the hottest cell must be the planted one in level-0 coordinates, and the tiles painted from the
 * raster must put its colour exactly over [512, 576) x [384, 448) at full resolution and at a coarser level.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageSize } from 'image-size';
import { createAppServices } from '../../../src-main/api/services.js';
import { dispatch } from '../../../src-main/api/dispatch.js';
import { colorAt } from '../../../src-main/contract/heatmap-colors.js';
import { createSlideImageUrls, parseSlideImagePath } from '../../../src-main/contract/slide-image-urls.js';
import { SlideModel } from '../../../src-main/engine/index.js';
import { heatmapPath, readHeatmap } from '../../../src-main/inference/heatmap-raster.js';
import {
  CellIndex,
  deepZoomMaxLevel,
  layerValues,
  paintHeatmap,
  tileArea,
} from '../../../src-main/inference/heatmap-render.js';
import { createProject, openProject } from '../../../src-main/project/project.js';
import { createTask } from '../../../src-main/project/tasks.js';
import { builtinSpec } from '../../../src-main/training/models/builtin.js';
import { cli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';

const W = 1024;
const H = 768;
const PLANT = { x: 512, y: 384, size: 64 };
const PINK = [214, 140, 190];
const DARK = [70, 20, 100];
const LIGHT = [246, 200, 230];

function stripes(x: number): number[] {
  return x % 16 < 8 ? DARK : LIGHT;
}

/** The slide as a PPM: white glass, a pink tissue block, the planted striped patch. */
function paintSlide(file: string): void {
  const header = Buffer.from(`P6\n${W} ${H}\n255\n`);
  const px = Buffer.alloc(W * H * 3, 245);
  for (let y = 128; y < 640; y++)
    for (let x = 128; x < 896; x++) {
      const inPlant = x >= PLANT.x && x < PLANT.x + PLANT.size && y >= PLANT.y && y < PLANT.y + PLANT.size;
      px.set(inPlant ? stripes(x) : PINK, (y * W + x) * 3);
    }
  fs.writeFileSync(file, Buffer.concat([header, px]));
}

/** A 32 x 32 patch as the encoder sees it (the planted stripes halve in period at the 0.5 µm/px level). */
function patch(fill: (x: number) => number[]): Uint8Array {
  const out = new Uint8Array(32 * 32 * 3);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out.set(fill(x), (y * 32 + x) * 3);
  return out;
}

async function plantedModel(dir: string): Promise<void> {
  const model = SlideModel.create(builtinSpec('micro'), { tasks: [{ name: 'task0', kind: 'binary' }] }, 7);
  try {
    const d = model.outputDim;
    const planted = await model.embed(
      patch((x) => (x % 8 < 4 ? DARK : LIGHT)),
      1,
    );
    const tissue = await model.embed(
      patch(() => PINK),
      1,
    );
    const dir1 = new Float32Array(d);
    let norm = 0;
    let mid = 0;
    for (let k = 0; k < d; k++) {
      dir1[k] = planted[k]! - tissue[k]!;
      norm += dir1[k]! ** 2;
    }
    for (let k = 0; k < d; k++) mid += (dir1[k]! * (planted[k]! + tissue[k]!)) / 2;
    const hidden = model.getParameter('aggregator.attention_a.bias').length;
    // attention score = 8 tanh(4 t), t = d·(h - mid) / |d|²: about +1/2 on the stripes, -1/2 on tissue.
    const a = new Float32Array(hidden * d);
    for (let k = 0; k < d; k++) a[k] = (4 * dir1[k]!) / norm;
    const ab = new Float32Array(hidden);
    ab[0] = (-4 * mid) / norm;
    model.setParameter('aggregator.attention_a.weight', a);
    model.setParameter('aggregator.attention_a.bias', ab);
    model.setParameter('aggregator.attention_b.weight', new Float32Array(hidden * d));
    model.setParameter('aggregator.attention_b.bias', new Float32Array(hidden).fill(20));
    const c = new Float32Array(hidden);
    c[0] = 8;
    model.setParameter('aggregator.attention_c.weight', c);
    await model.saveCheckpoint(dir);
  } finally {
    model.dispose();
  }
  fs.writeFileSync(
    path.join(dir, 'tasks.json'),
    JSON.stringify([{ name: 'planted', kind: 'binary', values: ['no', 'yes'] }]),
  );
}

describe('heatmap alignment', () => {
  it('the hottest cell and its painted tiles land on the planted patch in level-0 pixels', async () => {
    const root = tempDir();
    const slides = path.join(root, 'slides');
    fs.mkdirSync(slides);
    const ppm = path.join(root, 'planted.ppm');
    paintSlide(ppm);
    execFileSync('vips', [
      'tiffsave',
      ppm,
      path.join(slides, 'planted.tif'),
      '--tile',
      '--tile-width',
      '256',
      '--tile-height',
      '256',
      '--pyramid',
      '--compression',
      'jpeg',
      '--Q',
      '95',
      '--xres',
      '4000',
      '--yres',
      '4000',
    ]);
    const dir = path.join(root, 'project');
    (await createProject(dir, 'alignment')).close();
    expect((await cli('import', dir, slides)).code).toBe(0);
    const p = await openProject(dir);
    createTask(p.db, { name: 'planted', kind: 'binary', values: [{ name: 'no' }, { name: 'yes' }] });
    const slide = p.db.prepare('SELECT id, fingerprint, mpp_x AS mpp FROM slides').get() as {
      id: number;
      fingerprint: string;
      mpp: number;
    };
    p.close();
    expect(slide.mpp).toBeCloseTo(0.25, 3);

    const model = path.join(root, 'model');
    await plantedModel(model);
    const res = await cli('predict', dir, '--model', model, '--slides', String(slide.id), '--json');
    expect(res.err.split('\n').filter((l) => l && !/^(preparing|predicting) /.test(l))).toEqual([]);
    expect(res.code).toBe(0);

    const key = fs.readdirSync(path.join(dir, 'cache', 'heatmaps'))[0]!;
    const raster = readHeatmap(heatmapPath(dir, key, slide.fingerprint))!;
    expect(raster.extent).toBe(64);
    let hottest = 0;
    for (let i = 1; i < raster.x.length; i++)
      if (raster.attention[i]! > raster.attention[hottest]!) hottest = i;
    expect([raster.x[hottest], raster.y[hottest]]).toEqual([PLANT.x, PLANT.y]);
    expect(raster.attention[hottest]).toBeGreaterThan(0.5);

    // The painted tiles: the top colour covers exactly the planted square, at full resolution and coarser.
    const index = new CellIndex(raster);
    const values = layerValues(raster, 'attention')!;
    const top = colorAt('viridis', 1);
    const max = deepZoomMaxLevel(W, H);
    for (const level of [max, max - 2]) {
      const scale = 2 ** (max - level);
      let box = [Infinity, Infinity, -Infinity, -Infinity];
      for (let row = 0; ; row++) {
        const first = tileArea(W, H, 256, level, 0, row);
        if (!first) break;
        for (let col = 0; ; col++) {
          const area = tileArea(W, H, 256, level, col, row);
          if (!area) break;
          const rgba = paintHeatmap(index, values, 'viridis', area);
          for (let j = 0; j < area.height; j++)
            for (let i = 0; i < area.width; i++) {
              const o = (j * area.width + i) * 4;
              if (rgba[o] !== top[0] || rgba[o + 1] !== top[1] || rgba[o + 2] !== top[2]) continue;
              const x = area.left + i;
              const y = area.top + j;
              box = [
                Math.min(box[0]!, x),
                Math.min(box[1]!, y),
                Math.max(box[2]!, x + 1),
                Math.max(box[3]!, y + 1),
              ];
            }
        }
      }
      expect(box.map((v) => v * scale)).toEqual([
        PLANT.x,
        PLANT.y,
        PLANT.x + PLANT.size,
        PLANT.y + PLANT.size,
      ]);
    }

    // Through the slide-image route as the viewer asks for it: a PNG tile, and the GeoJSON region.
    const services = createAppServices(tempDir(), 'browser');
    try {
      await services.session.open(dir);
      const urls = createSlideImageUrls('/tiles/', 'x');
      const url = urls.heatmapTile(
        slide.id,
        { modelKey: key, layer: 'attention', colorMap: 'viridis' },
        max,
        2,
        1,
      );
      const request = parseSlideImagePath(url.slice('/tiles/'.length).split('?')[0]!)!;
      const tile = await services.slideImages.serve(request);
      expect(tile).toMatchObject({ status: 200, contentType: 'image/png' });
      const listed = await dispatch(services.handlers, 'heatmaps.list', { slideId: slide.id });
      expect(listed).toMatchObject({
        ok: true,
        value: {
          heatmaps: [{ modelKey: key, source: 'model:model', label: 'model', patches: raster.x.length }],
        },
      });
      const overlay = (await dispatch(services.handlers, 'heatmaps.overlayPng', {
        slideId: slide.id,
        modelKey: key,
        layer: 'attention',
        colorMap: 'inferno',
      })) as { ok: true; value: { pngBase64: string } };
      expect(imageSize(Buffer.from(overlay.value.pngBase64, 'base64'))).toMatchObject({
        type: 'png',
        width: W,
        height: H,
      });
      const regions = services.slideImages.heatmaps.geojson(slide.id, key, 'attention', 1);
      expect(regions.regions).toBe(1);
      expect(regions.geojson.features[0]).toMatchObject({
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            expect.arrayContaining([
              [512, 384],
              [576, 384],
              [576, 448],
              [512, 448],
            ]),
          ],
        },
        properties: { objectType: 'annotation', classification: { name: 'Attention' } },
      });
    } finally {
      await services.close();
    }
  }, 120_000);
});
