/**
 * The training job's rows of `npm run bench -- training`: real end-to-end runs (job process, native
 * engine, patch pipeline) on a demo cohort of large slides, one epoch each, with K = 256, 1,024 and 4,096
 * patches per slide at the same chunk size (128), and once more at K = 4,096 with the chunk as large as K
 * (every patch's activations kept at once: what recompute-and-offload avoids). Each row gives the peak RSS
 * of the job process, the share of the training time the engine waited for patches, and patches/s.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RunConfigInput } from '../../src-main/contract/contract.js';
import { TrainingRuns } from '../../src-main/jobs/training-runs.js';
import { createDemoCohort } from '../../src-main/training/demo/cohort.js';
import { prefetchFor } from '../../src-main/training/runs/job/training-job.js';

export interface JobRow {
  k: number;
  chunk: number;
  patches: number;
  peakRssMiB: number;
  waitPercent: number;
  patchesPerSecond: number;
  seconds: number;
}

async function runOnce(dir: string, config: RunConfigInput): Promise<JobRow> {
  const runs = await TrainingRuns.open(dir, {}, { supervise: false });
  try {
    const run = runs.start(config);
    const final = await runs.runner.runOne(runs.jobOf(run.id));
    if (final.state !== 'completed') throw new Error(`bench run ${run.id} ${final.state}: ${final.error}`);
    const d = runs.get(run.id);
    const e = d.history[0]!;
    const log = fs.readFileSync(d.logFile, 'utf8');
    // The job's own peak (getrusage maxrss), over the whole run: training, validation and test.
    const peak = Number(/peak RSS (\d+) bytes/.exec(log)?.[1] ?? e.peakRssBytes);
    return {
      k: config.patchesPerSlide!,
      chunk: config.chunkSize!,
      patches: Math.round(e.patchesPerSecond * e.seconds),
      peakRssMiB: peak / 1048576,
      waitPercent: 100 * e.waitFraction,
      patchesPerSecond: e.patchesPerSecond,
      seconds: e.seconds,
    };
  } finally {
    await runs.close();
  }
}

export async function trainingJobRows(work: string): Promise<string> {
  const dir = path.join(work, 'training-job-cohort');
  if (!fs.existsSync(path.join(dir, 'project.sqlite'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(
      'training job rows: painting a demo cohort of 20 large slides (once; kept in test/bench/work)',
    );
    await createDemoCohort(dir, { slides: 20, seed: 5, scale: 1.6 });
  }
  // The cohort's project keeps its runs; a fresh copy of its database per bench keeps them apart.
  const project = path.join(work, 'training-job-project');
  fs.rmSync(project, { recursive: true, force: true });
  fs.mkdirSync(project);
  fs.copyFileSync(path.join(dir, 'project.sqlite'), path.join(project, 'project.sqlite'));
  if (fs.existsSync(path.join(dir, 'cache')))
    fs.cpSync(path.join(dir, 'cache'), path.join(project, 'cache'), { recursive: true });
  // No linear probe: these rows are about the end-to-end epoch (history[0]).
  const base: RunConfigInput = {
    split: 'demo',
    probeEpochs: 0,
    epochs: 1,
    seed: 1,
    mpp: 0.5,
    chunkSize: 128,
  };
  const rows: JobRow[] = [];
  for (const [k, chunk] of [
    [256, 128],
    [1024, 128],
    [4096, 128],
    [4096, 4096],
  ] as const) {
    const row = await runOnce(project, { ...base, patchesPerSlide: k, chunkSize: chunk });
    rows.push(row);
    console.log(
      `K ${k}, chunk ${chunk}: peak RSS ${row.peakRssMiB.toFixed(0)} MiB, waited ${row.waitPercent.toFixed(1)}%, ` +
        `${row.patchesPerSecond.toFixed(0)} patches/s`,
    );
  }
  const flat = rows.slice(0, 3);
  const growth = flat[2]!.peakRssMiB - flat[0]!.peakRssMiB;
  // Slides whose pixels can be held at once: the step's two, the loader's read-ahead and the one being read.
  const micro = { kind: 'builtin', size: 'micro' } as const;
  const inFlight = (k: number) => (2 + prefetchFor(k, micro) + 1) * k * 32 * 32 * 3;
  const pixels = (inFlight(4096) - inFlight(256)) / 1048576;
  return [
    '### training job: memory and waiting in end-to-end runs',
    '',
    'Command: `npm run bench -- training` (these rows: real end-to-end runs through the job runner, one epoch each, ' +
      'builtin:micro (32 px patches at 0.5 µm/px), 2 slides per step, on 20 demo slides painted at 1.6x size ' +
      "(thousands of tissue patches each); the peak RSS is the job process's getrusage maxrss over the whole run, " +
      'validation and test included; "waited" is the share of the training steps\' time the engine spent waiting for the patch loader).',
    '',
    '| patches per slide K | chunk | patches trained | peak RSS of the job process | engine waited for patches | patches/s |',
    '| --: | --: | --: | --: | --: | --: |',
    ...rows.map(
      (r) =>
        `| ${r.k.toLocaleString('en-US')} | ${r.chunk.toLocaleString('en-US')} | ${r.patches.toLocaleString('en-US')} | ` +
        `${r.peakRssMiB.toFixed(0)} MiB | ${r.waitPercent.toFixed(1)}% | ${r.patchesPerSecond.toFixed(0)} |`,
    ),
    '',
    `From K = 256 to 4,096 at chunk 128 the peak grows by ${growth.toFixed(0)} MiB: the slides' input pixels in ` +
      `flight (K x 32 x 32 x 3 bytes per slide: the step's two slides, ${prefetchFor(4096, micro)} read ahead at K = 4,096 (the job reads ahead up to 8 slides within 256 MiB) and one being read: about ${pixels.toFixed(0)} MiB ` +
      "more at K = 4,096) and the N x D embedding matrix and its gradient; the encoder's activations stay one chunk's. " +
      `The last row keeps every patch's activations at once (chunk = K): ${(rows[3]!.peakRssMiB - flat[2]!.peakRssMiB).toFixed(0)} MiB more.`,
  ].join('\n');
}
