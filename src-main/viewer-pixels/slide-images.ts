/**
 * Pixels of the open project's slides for the viewer, independent of transport: Deep Zoom tiles,
 * thumbnails, associated images and the tissue overlay by slide id. Both the browser-mode `/tiles/` route and Electron's `slide://` protocol call
 * `serve`. A slide id that is not in the open project, a tile outside the pyramid or a file that is no
 * longer readable is refused with a status and a sentence, never a crash.
 */
import fs from 'node:fs';
import type { PatchGridPreview, SlideDetail } from '../contract/contract.js';
import type { SlideImageRequest } from '../contract/slide-image-urls.js';
import { ApiError } from '../contract/errors.js';
import type { SlideService } from '../slides/slide-service.js';
import { encodePng } from '../slides/thumbnail.js';
import { log } from '../log.js';
import { thumbnailPath } from '../project/import.js';
import { loadReducedCopy } from '../project/reduced-copies.js';
import type { AppSession } from '../app-state/session.js';
import { getSlide } from '../project/slides-repo.js';
import { patchGridPreview } from '../training/patch-preview.js';
import { projectTissueMask } from '../training/tissue/cache.js';
import { tissueOverlay } from '../training/tissue/mask.js';
import { Heatmaps } from './heatmaps.js';
import { patchImage } from './patch-image.js';

export type SlideImageResult =
  | { status: 200; contentType: string; bytes: Uint8Array }
  | { status: 400 | 404 | 409 | 422; message: string };

/** Encoded associated images kept in memory, by slide fingerprint and name, at most this many bytes. */
const ASSOCIATED_CACHE_BYTES = 32 * 1024 * 1024;

export class SlideImages {
  /** PNGs of associated images already served (a label or macro costs tens of ms to decode and encode). */
  private associated = new Map<string, Uint8Array>();
  private associatedBytes = 0;
  /** Tissue overlays being made, by project dir and fingerprint: concurrent requests share one detection. */
  private tissue = new Map<string, Promise<Uint8Array>>();
  /** Model heatmaps: their values, tiles, overlays and regions. */
  readonly heatmaps: Heatmaps;

  constructor(
    private readonly session: AppSession,
    private readonly slides: SlideService,
  ) {
    session.on('onProjectChanged', () => void slides.closeAll());
    this.heatmaps = new Heatmaps(session);
  }

  async detail(slideId: number): Promise<SlideDetail> {
    const project = this.session.requireProject();
    const row = getSlide(project.db, slideId);
    if (!row) throw new ApiError('not-found', `There is no slide ${slideId} in this project.`);
    const { reader, deepZoom } = await this.open(row.path);
    // The viewer asks for tiles next: have the coarse levels' source ready (kept since import, or started).
    // Not awaited: the copy loads (inflating a few MB) while the viewer opens, and tiles wait for it.
    if (deepZoom.wantsReducedCopy()) {
      deepZoom.seedReducedCopy(loadReducedCopy(project, row.id, row.fingerprint));
      deepZoom.prepare(); // from the kept copy, only the small coarser copies are left to make
    }
    const { metadata } = reader;
    const dz = deepZoom.descriptor();
    return {
      id: row.id,
      name: row.name,
      path: row.path,
      patient: row.patient,
      width: row.width,
      height: row.height,
      mppX: metadata.mppX ?? null,
      mppY: metadata.mppY ?? null,
      vendor: metadata.vendor,
      backend: metadata.backend,
      objectivePower: metadata.objectivePower ?? null,
      fileSize: row.fileSize,
      levels: metadata.levels.map((l) => ({ width: l.width, height: l.height, downsample: l.downsample })),
      properties: metadata.properties,
      associatedImages: metadata.associatedImages,
      deepZoom: { width: dz.width, height: dz.height, tileSize: dz.tileSize, overlap: dz.overlap },
    };
  }

  /** The patches a run would train on for this slide, to draw over it (see training/patch-preview.ts). */
  patchGrid(slideId: number, runId: number | null): Promise<PatchGridPreview> {
    return patchGridPreview(this.session.requireProject(), this.slides, slideId, runId);
  }

  async serve(request: SlideImageRequest): Promise<SlideImageResult> {
    const project = this.session.current;
    if (!project) return { status: 409, message: 'No project is open.' };
    const row = getSlide(project.db, request.slideId);
    if (!row) return { status: 404, message: 'No such slide in this project.' };
    if (request.kind === 'thumbnail') {
      try {
        return {
          status: 200,
          contentType: 'image/jpeg',
          bytes: fs.readFileSync(thumbnailPath(project, request.slideId)),
        };
      } catch {
        return { status: 404, message: 'This slide has no thumbnail yet.' };
      }
    }
    if (request.kind === 'patch') {
      try {
        return await this.slides.withReader(row.path, (reader) => patchImage(reader, request));
      } catch (err) {
        return { status: 422, message: err instanceof Error ? err.message : String(err) };
      }
    }
    if (request.kind === 'heatmap') {
      try {
        return await this.heatmaps.serve(request.slideId, request.heatmap, request.tile);
      } catch (err) {
        log.warn(`heatmap ${JSON.stringify(request)} failed`, err);
        return { status: 422, message: err instanceof Error ? err.message : String(err) };
      }
    }
    if (request.kind === 'tissue') {
      const key = `${project.dir}\n${row.fingerprint}`;
      let pending = this.tissue.get(key);
      if (!pending) {
        pending = projectTissueMask(project, row.fingerprint, () => this.slides.reader(row.path))
          .then((d) => encodePng(tissueOverlay(d.mask)))
          .finally(() => this.tissue.delete(key));
        this.tissue.set(key, pending);
      }
      try {
        return { status: 200, contentType: 'image/png', bytes: await pending };
      } catch (err) {
        log.warn(`tissue overlay ${JSON.stringify(request)} failed`, err);
        return { status: 422, message: err instanceof Error ? err.message : String(err) };
      }
    }
    if (request.kind === 'associated') {
      const key = `${row.fingerprint}/${request.name}`;
      const kept = this.associated.get(key);
      if (kept) return { status: 200, contentType: 'image/png', bytes: kept };
      try {
        return await this.slides.withReader(row.path, async (reader): Promise<SlideImageResult> => {
          if (!reader.metadata.associatedImages.includes(request.name)) {
            return { status: 404, message: `This slide has no ${request.name} image.` };
          }
          const bytes = await encodePng(await reader.readAssociatedImage(request.name));
          this.keepAssociated(key, bytes);
          return { status: 200, contentType: 'image/png', bytes };
        });
      } catch (err) {
        log.warn(`associated image ${JSON.stringify(request)} failed`, err);
        return { status: 422, message: err instanceof Error ? err.message : String(err) };
      }
    }
    try {
      const bytes = await this.slides.withDeepZoom(row.path, (deepZoom) =>
        deepZoom.tile(request.level, request.col, request.row),
      );
      return { status: 200, contentType: 'image/jpeg', bytes };
    } catch (err) {
      if (err instanceof RangeError) return { status: 404, message: err.message };
      log.warn(`tile ${JSON.stringify(request)} failed`, err);
      return { status: 422, message: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Remembers an encoded associated image, forgetting the oldest past ASSOCIATED_CACHE_BYTES. */
  private keepAssociated(key: string, bytes: Uint8Array): void {
    if (bytes.length > ASSOCIATED_CACHE_BYTES / 4 || this.associated.has(key)) return;
    this.associated.set(key, bytes);
    this.associatedBytes += bytes.length;
    for (const [k, v] of this.associated) {
      if (this.associatedBytes <= ASSOCIATED_CACHE_BYTES) break;
      this.associated.delete(k);
      this.associatedBytes -= v.length;
    }
  }

  private async open(file: string) {
    try {
      return { reader: await this.slides.reader(file), deepZoom: await this.slides.deepZoom(file) };
    } catch (err) {
      throw new ApiError('unreadable', err instanceof Error ? err.message : String(err));
    }
  }
}
