/**
 * Heatmaps of the open project's slides for the viewer: which models left a raster for a slide, a raster's
 * values (hover, top-k), its tiles and whole overlay painted with a colour map, and its regions above a
 * threshold as GeoJSON. Rasters are read from the project's cache and kept parsed for the last few slides.
 */
import fs from 'node:fs';
import type { HeatmapData, HeatmapInfo } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import { isColorMapId } from '../contract/heatmap-colors.js';
import { HEATMAP_TILE_SIZE, type HeatmapLayerRef } from '../contract/slide-image-urls.js';
import type { AppSession } from '../app-state/session.js';
import { heatmapPath, readHeatmap, type HeatmapRaster } from '../inference/heatmap-raster.js';
import { heatmapRegions } from '../inference/heatmap-regions.js';
import { CellIndex, layerValues, overlayArea, paintHeatmap, tileArea } from '../inference/heatmap-render.js';
import { selectPredictionsOfSlides } from '../project/predictions-repo.js';
import { getSlide } from '../project/slides-repo.js';
import { encodePng } from '../slides/thumbnail.js';
import type { SlideImageResult } from './slide-images.js';

interface Kept {
  file: string;
  mtimeMs: number;
  raster: HeatmapRaster;
  index: CellIndex;
  values: Map<string, Float32Array | null>;
}

const KEPT = 6;

export class Heatmaps {
  private kept: Kept[] = [];

  constructor(private readonly session: AppSession) {}

  /** The models with a raster for this slide (each model's latest prediction points at it). */
  list(slideId: number): { heatmaps: HeatmapInfo[] } {
    const { project, row } = this.slide(slideId);
    const seen = new Map<string, HeatmapInfo>();
    for (const p of selectPredictionsOfSlides(project.db, [slideId])) {
      if (seen.has(p.modelKey)) continue;
      const kept = this.load(heatmapPath(project.dir, p.modelKey, row.fingerprint));
      if (!kept) continue;
      const r = kept.raster;
      seen.set(p.modelKey, {
        modelKey: p.modelKey,
        source: p.source,
        label: p.runId !== null ? `Run ${p.runId}` : p.source.slice('model:'.length),
        tasks: r.tasks,
        probabilities: r.probabilities,
        patches: r.x.length,
      });
    }
    return { heatmaps: [...seen.values()] };
  }

  get(slideId: number, modelKey: string): HeatmapData {
    const info = this.list(slideId).heatmaps.find((h) => h.modelKey === modelKey);
    if (!info) throw new ApiError('not-found', `Slide ${slideId} has no heatmap of ${modelKey}.`);
    const r = this.raster(slideId, modelKey).raster;
    return {
      ...info,
      extent: r.extent,
      width: r.width,
      height: r.height,
      x: Array.from(r.x),
      y: Array.from(r.y),
      attention: Array.from(r.attention),
      scores: r.scores.map((s) => Array.from(s)),
    };
  }

  geojson(slideId: number, modelKey: string, layer: string, threshold: number) {
    const kept = this.raster(slideId, modelKey);
    const values = this.values(kept, layer);
    if (!values) throw new ApiError('bad-input', `Heatmap ${modelKey} has no layer ${layer}.`);
    const m = /^task-(\d+)-(\d+)$/.exec(layer);
    const name = m
      ? `${kept.raster.tasks[+m[1]!]!.name}: ${kept.raster.tasks[+m[1]!]!.values[+m[2]!]}`
      : 'Attention';
    const geojson = heatmapRegions(kept.raster, values, threshold, { name, color: [230, 60, 40] });
    return { geojson, regions: geojson.features.length };
  }

  /** A heatmap tile or the whole overlay, as the slide-image routes answer. */
  async serve(
    slideId: number,
    ref: HeatmapLayerRef,
    tile: { level: number; col: number; row: number } | null,
  ) {
    const done = (r: SlideImageResult) => r;
    if (!isColorMapId(ref.colorMap)) return done({ status: 404, message: `No colour map ${ref.colorMap}.` });
    let kept: Kept;
    try {
      kept = this.raster(slideId, ref.modelKey);
    } catch (err) {
      return done({ status: 404, message: (err as Error).message });
    }
    const values = this.values(kept, ref.layer);
    if (!values) return done({ status: 404, message: `No heatmap layer ${ref.layer}.` });
    const { width, height } = kept.raster;
    const area = tile
      ? tileArea(width, height, HEATMAP_TILE_SIZE, tile.level, tile.col, tile.row)
      : overlayArea(width, height);
    if (!area) return done({ status: 404, message: 'The tile is outside the heatmap.' });
    const rgba = paintHeatmap(kept.index, values, ref.colorMap, area);
    const bytes = await encodePng({ width: area.width, height: area.height, rgba }, { givePixels: true });
    return done({ status: 200, contentType: 'image/png', bytes });
  }

  private slide(slideId: number) {
    const project = this.session.requireProject();
    const row = getSlide(project.db, slideId);
    if (!row) throw new ApiError('not-found', `There is no slide ${slideId} in this project.`);
    return { project, row };
  }

  private raster(slideId: number, modelKey: string): Kept {
    const { project, row } = this.slide(slideId);
    const kept = this.load(heatmapPath(project.dir, modelKey, row.fingerprint));
    if (!kept) throw new ApiError('not-found', `Slide ${row.name} has no heatmap of ${modelKey}.`);
    return kept;
  }

  private values(kept: Kept, layer: string): Float32Array | null {
    if (!kept.values.has(layer)) kept.values.set(layer, layerValues(kept.raster, layer));
    return kept.values.get(layer)!;
  }

  private load(file: string): Kept | null {
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      return null;
    }
    const i = this.kept.findIndex((k) => k.file === file && k.mtimeMs === mtimeMs);
    if (i >= 0) {
      const [k] = this.kept.splice(i, 1);
      this.kept.unshift(k!);
      return k!;
    }
    const raster = readHeatmap(file);
    if (!raster) return null;
    const k: Kept = { file, mtimeMs, raster, index: new CellIndex(raster), values: new Map() };
    this.kept = [k, ...this.kept.filter((x) => x.file !== file)].slice(0, KEPT);
    return k;
  }
}
