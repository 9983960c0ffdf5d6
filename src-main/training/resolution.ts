/**
 * The resolution a slide is cut at: its level-0 µm per pixel from the file, else from its objective power
 * (10 / power: 20x ≈ 0.5 µm/px, 40x ≈ 0.25, the usual scanner optics), else a project default. Which one
 * was used is said in one sentence the run shows in its log, since a guessed resolution changes what a
 * patch holds.
 */
import type { SlideMetadata } from '../slides/index.js';

export type MppSource = 'file' | 'objective' | 'default';

export interface SlideResolution {
  /** Level-0 µm per pixel used for this slide (mean of x and y where the file gives both). */
  mpp: number;
  source: MppSource;
  /** For the run's log where the resolution is not the file's own; null where it is. */
  note: string | null;
}

/** A slide with neither mpp nor objective power is taken to be 20x (0.5 µm/px) unless the project says. */
export const DEFAULT_SLIDE_MPP = 0.5;

export function slideResolution(
  metadata: Pick<SlideMetadata, 'mppX' | 'mppY' | 'objectivePower'>,
  slideName: string,
  defaultMpp = DEFAULT_SLIDE_MPP,
): SlideResolution {
  const { mppX, mppY, objectivePower } = metadata;
  const known = [mppX, mppY].filter((v): v is number => v !== undefined && Number.isFinite(v) && v > 0);
  if (known.length > 0) {
    return { mpp: known.reduce((a, b) => a + b, 0) / known.length, source: 'file', note: null };
  }
  if (objectivePower !== undefined && Number.isFinite(objectivePower) && objectivePower > 0) {
    const mpp = 10 / objectivePower;
    return {
      mpp,
      source: 'objective',
      note: `${slideName} gives no resolution: assuming ${fmt(mpp)} µm/px from its ${fmt(objectivePower)}x objective.`,
    };
  }
  if (!(defaultMpp > 0)) throw new RangeError(`the default resolution must be positive, not ${defaultMpp}`);
  return {
    mpp: defaultMpp,
    source: 'default',
    note: `${slideName} gives neither a resolution nor an objective power: assuming the project default of ${fmt(defaultMpp)} µm/px.`,
  };
}

function fmt(v: number): string {
  return String(Number(v.toPrecision(4)));
}
