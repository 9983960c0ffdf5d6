/**
 * A run's checkpoints in its job folder: `checkpoint/` (the model, its AdamW state and step, and the loop's
 * state: epoch, position in the epoch, loss sums, history, best so far) and `best/` (the model of the best
 * validation epoch). Each is written whole into `<name>.next/`, then swapped in by renames, so a kill at
 * any moment leaves either the old or the new one readable (`<name>.old/` is read if the swap was cut).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EpochRecord } from '../../../contract/contract.js';
import { SlideModel } from '../../../engine/index.js';

export interface LoopState {
  /** The epoch in progress (0-based). */
  epoch: number;
  /** Slides of this epoch's training order already stepped on. */
  position: number;
  /** This epoch's per-task loss sums and counts so far. */
  lossSums: number[];
  lossCounts: number[];
  /** Wall seconds of this epoch before the checkpoint (for the epoch's time and patches/s). */
  epochSeconds: number;
  epochPatches: number;
  waitSeconds: number;
  busySeconds: number;
  history: EpochRecord[];
  /** The kept epoch: its selection score and mean validation loss (the tie-breaker). */
  best: { epoch: number; score: number; loss?: number } | null;
  warnings: string[];
}

const STATE = 'state.json';

function swapIn(dir: string, next: string): void {
  const old = `${dir}.old`;
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(next, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes the model and the loop state as `workDir/checkpoint`. */
export async function saveCheckpoint(workDir: string, model: SlideModel, state: LoopState): Promise<void> {
  const dir = path.join(workDir, 'checkpoint');
  const next = `${dir}.next`;
  fs.rmSync(next, { recursive: true, force: true });
  await model.saveCheckpoint(next);
  const file = path.join(next, STATE);
  fs.writeFileSync(file, JSON.stringify(state));
  fsyncFile(file);
  swapIn(dir, next);
}

/** The last checkpoint, or null when the run has none yet. */
export async function loadCheckpoint(
  workDir: string,
): Promise<{ model: SlideModel; state: LoopState } | null> {
  const dir = path.join(workDir, 'checkpoint');
  for (const candidate of [dir, `${dir}.old`]) {
    const file = path.join(candidate, STATE);
    if (!fs.existsSync(file) || !fs.existsSync(path.join(candidate, 'config.json'))) continue;
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as LoopState;
    const model = await SlideModel.loadCheckpoint(candidate);
    return { model, state };
  }
  return null;
}

/** Keeps the current model as the run's best. */
export async function saveBest(workDir: string, model: SlideModel): Promise<void> {
  const dir = path.join(workDir, 'best');
  const next = `${dir}.next`;
  fs.rmSync(next, { recursive: true, force: true });
  await model.saveCheckpoint(next);
  swapIn(dir, next);
}

export function bestDir(workDir: string): string | null {
  const dir = path.join(workDir, 'best');
  for (const candidate of [dir, `${dir}.old`])
    if (fs.existsSync(path.join(candidate, 'config.json'))) return candidate;
  return null;
}
