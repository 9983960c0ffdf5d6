/** Display adjustments: the SVG filter's numbers for brightness, contrast, gamma and channel ranges. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_DISPLAY, displayFilter, isNeutral } from '../../../src-renderer/lib/display-adjust.js';

/** What the filter does to one channel value v in 0–1 (tone, then gamma), as the browser applies it. */
const tone = (f: ReturnType<typeof displayFilter>, v: number) =>
  Math.min(1, Math.max(0, f.tone.slope * v + f.tone.intercept)) ** f.exponent;

describe('display adjustments', () => {
  it('leaves the image alone by default', () => {
    expect(isNeutral(DEFAULT_DISPLAY)).toBe(true);
    const f = displayFilter(DEFAULT_DISPLAY);
    for (const v of [0, 0.25, 0.5, 1]) expect(tone(f, v)).toBeCloseTo(v, 6);
  });

  it('adds brightness, scales contrast about mid-grey, and applies gamma as v^(1/gamma)', () => {
    const bright = displayFilter({ ...DEFAULT_DISPLAY, brightness: 0.1 });
    expect(tone(bright, 0.5)).toBeCloseTo(0.6, 6);
    const contrast = displayFilter({ ...DEFAULT_DISPLAY, contrast: 2 });
    expect(tone(contrast, 0.5)).toBeCloseTo(0.5, 6);
    expect(tone(contrast, 0.6)).toBeCloseTo(0.7, 6);
    expect(tone(contrast, 0.9)).toBe(1);
    const gamma = displayFilter({ ...DEFAULT_DISPLAY, gamma: 2 });
    expect(tone(gamma, 0.25)).toBeCloseTo(0.5, 6);
    expect(isNeutral({ ...DEFAULT_DISPLAY, gamma: 2 })).toBe(false);
  });

  it('stretches each channel over its range and shows it in its colour', () => {
    const channels = [
      { name: 'DAPI', color: '#0000ff', min: 10, max: 60, visible: true },
      { name: 'FITC', color: '#00ff00', min: 0, max: 255, visible: false },
      { name: 'Cy5', color: '#ff00ff', min: 0, max: 100, visible: true },
    ];
    const f = displayFilter({ ...DEFAULT_DISPLAY, channelsOn: true, channels });
    // Channel 1: 10 → 0, 60 → 1 (in 0–1 units: 10/255 and 60/255).
    const [r] = f.ranges!;
    expect(r.slope * (10 / 255) + r.intercept).toBeCloseTo(0, 6);
    expect(r.slope * (60 / 255) + r.intercept).toBeCloseTo(1, 6);
    // Output red = channel 3 (magenta has red); green = nothing (FITC hidden); blue = channels 1 and 3.
    expect(f.mix).toBe('0 0 1 0 0 0 0 0 0 0 1 0 1 0 0 0 0 0 1 0');
  });
});
