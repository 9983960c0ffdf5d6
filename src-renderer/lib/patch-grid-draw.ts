/**
 * Drawing the patches a run would train on over the slide: each kept patch as a square outline, in the
 * level-0 pixels of the grid the main process made (runs.patchGrid). Only the rows and columns in view are
 * visited, through a lookup by grid cell; where a patch is under OUTLINE_ABOVE_PX on screen, outlines would
 * merge into a solid, so kept cells are filled instead, from a one-pixel-per-cell image scaled up without
 * smoothing (one drawImage for 100,000 patches).
 */
import type { PatchGridPreview } from '../../src-main/contract/contract.js';

import type { ViewTransform } from './view-transform.js';

const OUTLINE_ABOVE_PX = 5;
const COLOR = '#3ee0c8';

export class PatchGridPicture {
  /** Index of the kept patch at each grid cell (row-major), or -1. */
  private readonly cellIndex: Int32Array;
  private image: HTMLCanvasElement | null = null;

  constructor(readonly grid: PatchGridPreview) {
    this.cellIndex = new Int32Array(grid.columns * grid.rows).fill(-1);
    for (let i = 0; i < grid.x.length; i++) {
      const c = Math.round(grid.x[i]! / grid.extent);
      const r = Math.round(grid.y[i]! / grid.extent);
      if (c < grid.columns && r < grid.rows) this.cellIndex[r * grid.columns + c] = i;
    }
  }

  /** One pixel per grid cell, kept cells coloured. */
  private cells(): HTMLCanvasElement {
    if (this.image) return this.image;
    const { columns, rows } = this.grid;
    const image = document.createElement('canvas');
    image.width = Math.max(1, columns);
    image.height = Math.max(1, rows);
    const ctx = image.getContext('2d')!;
    const pixels = ctx.createImageData(image.width, image.height);
    for (let k = 0; k < this.cellIndex.length; k++) {
      if (this.cellIndex[k]! < 0) continue;
      pixels.data.set([62, 224, 200, 110], k * 4);
    }
    ctx.putImageData(pixels, 0, 0);
    return (this.image = image);
  }

  /** Draws the kept patches in view; returns how many were outlined (0 when drawn as filled cells). */
  draw(ctx: CanvasRenderingContext2D, view: ViewTransform): number {
    const { scale: s, offsetX, offsetY, dpr } = view;
    const { extent, columns, rows } = this.grid;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, view.width, view.height);
    if (!(s > 0) || !this.grid.x.length) return 0;
    ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * offsetX, dpr * offsetY);
    if (extent * s < OUTLINE_ABOVE_PX) {
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.cells(), 0, 0, columns * extent, rows * extent);
      return 0;
    }
    const px = 1 / s;
    const c0 = Math.max(0, Math.floor((-offsetX * px) / extent));
    const c1 = Math.min(columns - 1, Math.floor(((view.width - offsetX) * px) / extent));
    const r0 = Math.max(0, Math.floor((-offsetY * px) / extent));
    const r1 = Math.min(rows - 1, Math.floor(((view.height - offsetY) * px) / extent));
    ctx.beginPath();
    let drawn = 0;
    // Inset by half a line, so that neighbours' outlines stay apart.
    const inset = 0.75 * px;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const i = this.cellIndex[r * columns + c]!;
        if (i < 0) continue;
        ctx.rect(this.grid.x[i]! + inset, this.grid.y[i]! + inset, extent - 2 * inset, extent - 2 * inset);
        drawn++;
      }
    }
    ctx.fillStyle = 'rgba(62, 224, 200, 0.12)';
    ctx.fill();
    ctx.strokeStyle = COLOR;
    ctx.lineWidth = 1.5 * px;
    ctx.stroke();
    return drawn;
  }
}
