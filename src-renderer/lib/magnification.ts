/**
 * What the viewer tells the user about scale. `imageZoom` is screen (CSS) pixels per level-0 pixel:
 * 1 means one screen pixel per scanned pixel, the scanner's own objective magnification.
 */

/** "20.0x", "5.2x"; "—" when the scanner did not record its objective power. */
export function formatMagnification(objectivePower: number | null, imageZoom: number): string {
  if (objectivePower === null || !(objectivePower > 0) || !(imageZoom > 0)) return '—';
  const x = objectivePower * imageZoom;
  return `${x >= 100 ? x.toFixed(0) : x.toFixed(1)}x`;
}

export interface ScaleBar {
  /** Bar length on screen in CSS pixels. */
  widthPx: number;
  /** The length it stands for, e.g. "200 µm" or "1 mm". */
  label: string;
}

/**
 * The longest round length (1, 2 or 5 times a power of ten) whose bar fits in `maxWidthPx` at this
 * zoom, or null when the slide has no resolution.
 */
export function scaleBarFor(mppX: number | null, imageZoom: number, maxWidthPx = 140): ScaleBar | null {
  if (mppX === null || !(mppX > 0) || !(imageZoom > 0) || !(maxWidthPx > 0)) return null;
  const micronsPerScreenPx = mppX / imageZoom;
  const maxMicrons = maxWidthPx * micronsPerScreenPx;
  const power = 10 ** Math.floor(Math.log10(maxMicrons));
  const step = [5, 2, 1].find((m) => m * power <= maxMicrons * (1 + 1e-9)) ?? 1;
  const microns = step * power;
  return { widthPx: microns / micronsPerScreenPx, label: formatLength(microns) };
}

function formatLength(microns: number): string {
  const round = (v: number) => String(Number(v.toPrecision(3)));
  if (microns >= 1000) return `${round(microns / 1000)} mm`;
  if (microns >= 1) return `${round(microns)} µm`;
  return `${round(microns * 1000)} nm`;
}
