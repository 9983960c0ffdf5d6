/**
 * The heatmap's one TiledImage in a viewer, over the slide (item 0 spans viewport x 0..1): shown, swapped
 * when the model, layer or colour map changes (a late answer for one no longer wanted is dropped), its
 * opacity set, removed. Keeps SlideViewer's own code to a few lines.
 */
import type OpenSeadragon from 'openseadragon';
import type { HeatmapLayerRef, SlideImageUrls } from '../../src-main/contract/slide-image-urls.js';
import { HeatmapTileSource } from './heatmap-tile-source.js';

export interface HeatmapView {
  ref: HeatmapLayerRef;
  /** 0..1 */
  opacity: number;
}

export class HeatmapLayer {
  state = 'off';
  private item: OpenSeadragon.TiledImage | null = null;
  private key = '';
  private request = 0;

  constructor(private readonly onstate: (state: string) => void) {}

  show(
    viewer: OpenSeadragon.Viewer | null,
    slide: { id: number; width: number | null; height: number | null },
    urls: SlideImageUrls,
    view: HeatmapView | null,
  ): void {
    const key =
      view && viewer ? `${slide.id}/${view.ref.modelKey}/${view.ref.layer}/${view.ref.colorMap}` : '';
    if (key === this.key) {
      if (view && this.item) this.item.setOpacity(view.opacity);
      return;
    }
    this.remove(viewer);
    this.key = key;
    if (!viewer || !view || slide.width === null || slide.height === null) return;
    const request = ++this.request;
    this.set('loading');
    viewer.addTiledImage({
      tileSource: new HeatmapTileSource(slide.id, slide.width, slide.height, view.ref, urls),
      x: 0,
      y: 0,
      width: 1,
      opacity: view.opacity,
      success: (event) => {
        const item = (event as unknown as { item: OpenSeadragon.TiledImage }).item;
        if (request !== this.request) return void viewer.world.removeItem(item);
        this.item = item;
        this.set('shown');
      },
      error: () => {
        if (request === this.request) this.set('failed');
      },
    });
  }

  /** Forgets the item (the viewer opened another slide, which cleared its world). */
  reset(): void {
    this.request++;
    this.item = null;
    this.key = '';
    this.set('off');
  }

  private remove(viewer: OpenSeadragon.Viewer | null): void {
    this.request++;
    if (viewer && this.item) viewer.world.removeItem(this.item);
    this.item = null;
    this.key = '';
    this.set('off');
  }

  private set(state: string): void {
    this.state = state;
    this.onstate(state);
  }
}
