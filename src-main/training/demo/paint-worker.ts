/** A demo-cohort worker thread: paints one slide, encodes it as SVS and writes the file. */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { paintSlide, type DemoSlidePlan } from './paint-slide.js';
import { encodeSvs } from './svs-writer.js';

export interface PaintJob {
  id: number;
  plan: DemoSlidePlan;
  file: string;
  mpp: number;
}

export interface PaintResult {
  id: number;
  ok: boolean;
  message?: string;
  /** Shares of the slide's area: tissue, and the cellular sheets within tissue. */
  tissueShare?: number;
  sheetShare?: number;
}

export function paintAndWrite(job: PaintJob): PaintResult {
  const slide = paintSlide(job.plan);
  let tissue = 0;
  let sheets = 0;
  for (let p = 0; p < slide.truth.length; p++) {
    if (slide.truth[p] === 1) {
      tissue++;
      if (slide.sheets[p]) sheets++;
    }
  }
  const bytes = encodeSvs(slide, { mpp: job.mpp, name: job.file.split(/[\\/]/).pop() });
  fs.writeFileSync(`${job.file}.tmp`, bytes);
  fs.renameSync(`${job.file}.tmp`, job.file);
  return {
    id: job.id,
    ok: true,
    tissueShare: tissue / slide.truth.length,
    sheetShare: sheets / Math.max(1, tissue),
  };
}

parentPort?.on('message', (job: PaintJob) => {
  let result: PaintResult;
  try {
    result = paintAndWrite(job);
  } catch (err) {
    result = { id: job.id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(result);
});
