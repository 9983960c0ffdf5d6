import fs from 'node:fs';
import path from 'node:path';
import { createDemoCohort, type DemoCohortOptions } from './cohort.js';

/** Written last, once the demo cohort is whole: a folder without it is a creation cut short. */
const COMPLETE_MARKER = '.demo-complete';

/**
 * The demo cohort in the user-data folder (synthetic slides, patients, a labelled task and a split, ready
 * to train), made on first use and opened from then on; returns its folder. A folder left half-made by an
 * earlier start that was cut short is made again (only this function writes there).
 */
export async function ensureDemoProject(
  userDataDir: string,
  options: Pick<DemoCohortOptions, 'slides' | 'scale' | 'onProgress'> = {},
): Promise<string> {
  const dir = path.join(userDataDir, 'demo-cohort');
  if (fs.existsSync(path.join(dir, COMPLETE_MARKER))) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  await createDemoCohort(dir, { seed: 1, ...options });
  fs.writeFileSync(path.join(dir, COMPLETE_MARKER), new Date().toISOString() + '\n');
  return dir;
}
