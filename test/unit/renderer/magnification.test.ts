/** The viewer's magnification text and scale bar, from objective power, mpp and the screen zoom. */
import { describe, expect, it } from 'vitest';
import { formatMagnification, scaleBarFor } from '../../../src-renderer/lib/magnification.js';

describe('magnification', () => {
  it('is the objective power times the screen pixels per level-0 pixel', () => {
    expect(formatMagnification(20, 1)).toBe('20.0x');
    expect(formatMagnification(20, 0.26)).toBe('5.2x');
    expect(formatMagnification(40, 0.0123)).toBe('0.5x');
    expect(formatMagnification(40, 2)).toBe('80.0x');
    expect(formatMagnification(40, 4)).toBe('160x');
  });

  it('says — when the objective power or the zoom is unknown', () => {
    expect(formatMagnification(null, 1)).toBe('—');
    expect(formatMagnification(0, 1)).toBe('—');
    expect(formatMagnification(20, 0)).toBe('—');
    expect(formatMagnification(20, Number.NaN)).toBe('—');
  });
});

describe('scale bar', () => {
  it('shows the longest 1-2-5 length that fits, in µm or mm', () => {
    // 0.5 µm/px at 1:1: 140 px = 70 µm, so 50 µm drawn 100 px wide.
    expect(scaleBarFor(0.5, 1)).toEqual({ widthPx: 100, label: '50 µm' });
    // Zoomed out 10x: 700 µm fit, 500 µm drawn.
    expect(scaleBarFor(0.5, 0.1)).toEqual({ widthPx: 100, label: '500 µm' });
    // Whole slide: 0.25 µm/px at 1/100 → 3.5 mm fit, 2 mm drawn.
    expect(scaleBarFor(0.25, 0.01)).toEqual({ widthPx: 80, label: '2 mm' });
    expect(scaleBarFor(0.25, 0.0025)!.label).toBe('10 mm');
    // Far past 1:1 on a fine scan the bar goes below a micrometre.
    expect(scaleBarFor(0.1, 40)!.label).toBe('200 nm');
  });

  it('never draws a bar wider than asked and never shorter than 40 % of it', () => {
    for (let zoom = 0.001; zoom < 50; zoom *= 1.37) {
      for (const mpp of [0.1, 0.2527, 0.499, 1.0, 4]) {
        const bar = scaleBarFor(mpp, zoom, 140)!;
        expect(bar.widthPx).toBeLessThanOrEqual(140 + 1e-6);
        expect(bar.widthPx).toBeGreaterThanOrEqual(56 - 1e-6);
        expect(bar.label).toMatch(/^(1|2|5)(0|00)? (nm|µm|mm)$/);
      }
    }
  });

  it('has no bar without a resolution', () => {
    expect(scaleBarFor(null, 1)).toBeNull();
    expect(scaleBarFor(0, 1)).toBeNull();
    expect(scaleBarFor(0.5, 0)).toBeNull();
  });
});
