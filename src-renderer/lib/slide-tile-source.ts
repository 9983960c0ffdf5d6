/**
 * The project's one OpenSeadragon tile source: the Deep Zoom pyramid the main process cuts from a
 * slide (JPEG tiles, size and overlap from slides.get), addressed by slide id through the transport's
 * image URLs. Nothing is fetched to configure it, so the first tiles are requested at once.
 */
import OpenSeadragon from 'openseadragon';
import type { SlideDetail } from '../../src-main/contract/contract.js';
import { deepZoomLowestUsefulLevel, deepZoomTopLevel } from './deep-zoom.js';
import type { SlideImageUrls } from '../../src-main/contract/slide-image-urls.js';

export class SlideTileSource extends OpenSeadragon.TileSource {
  private readonly slideId: number;
  private readonly urls: SlideImageUrls;

  constructor(slide: SlideDetail, urls: SlideImageUrls) {
    const { width, height, tileSize, overlap } = slide.deepZoom;
    super({
      width,
      height,
      tileSize,
      tileOverlap: overlap,
      minLevel: deepZoomLowestUsefulLevel(width, height, tileSize),
      maxLevel: deepZoomTopLevel(width, height),
    });
    this.slideId = slide.id;
    this.urls = urls;
  }

  override getTileUrl(level: number, col: number, row: number): string {
    return this.urls.tile(this.slideId, level, col, row);
  }
}
