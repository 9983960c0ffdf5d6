/**
 * The heatmap as OpenSeadragon sees it: a Deep Zoom pyramid over the slide's level-0 extent (256 px PNG
 * tiles, no overlap) whose tiles the main process paints from the raster, so it lines up with the slide's
 * own pyramid at every zoom.
 */
import OpenSeadragon from 'openseadragon';
import {
  HEATMAP_TILE_SIZE,
  type HeatmapLayerRef,
  type SlideImageUrls,
} from '../../src-main/contract/slide-image-urls.js';
import { deepZoomLowestUsefulLevel, deepZoomTopLevel } from './deep-zoom.js';

export class HeatmapTileSource extends OpenSeadragon.TileSource {
  constructor(
    private readonly slideId: number,
    width: number,
    height: number,
    private readonly layer: HeatmapLayerRef,
    private readonly urls: SlideImageUrls,
  ) {
    super({
      width,
      height,
      tileSize: HEATMAP_TILE_SIZE,
      tileOverlap: 0,
      minLevel: deepZoomLowestUsefulLevel(width, height, HEATMAP_TILE_SIZE),
      maxLevel: deepZoomTopLevel(width, height),
    });
  }

  override getTileUrl(level: number, col: number, row: number): string {
    return this.urls.heatmapTile(this.slideId, this.layer, level, col, row);
  }
}
