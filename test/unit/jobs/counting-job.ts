// A job module for the runner's tests: counts `steps` steps of `stepMs` each, adding a seeded value per
// step, with a checkpoint after every step (written to a temporary file, then renamed), so a resumed job
// ends with the same total as an uninterrupted one. It can crash, run out of memory or fail on request.
import fs from 'node:fs';
import path from 'node:path';
import type { JobContext } from '../../../src-main/jobs/protocol.js';

export interface CountingParams {
  steps: number;
  stepMs: number;
  seed: number;
  /** At this step: 'abort' (native-style crash), 'oom' (allocate until V8 gives up), 'throw'. */
  failAt?: { step: number; how: 'abort' | 'oom' | 'throw' };
}

interface Checkpoint {
  step: number;
  total: number;
}

function value(seed: number, step: number): number {
  let s = (seed * 2654435761 + step * 40503) >>> 0;
  s = Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) >>> 0;
  return s % 1000;
}

export async function runJob(ctx: JobContext): Promise<{ result: unknown } | 'paused'> {
  const p = ctx.params as CountingParams;
  const file = path.join(ctx.workDir, 'checkpoint.json');
  let state: Checkpoint = { step: 0, total: 0 };
  if (fs.existsSync(file)) state = JSON.parse(fs.readFileSync(file, 'utf8')) as Checkpoint;
  ctx.log(`attempt ${ctx.attempt} starts at step ${state.step}`);
  let ranHere = 0;
  while (state.step < p.steps) {
    if (ctx.pauseRequested()) return 'paused';
    if (ctx.signal.aborted) throw new Error('cancelled');
    if (p.failAt && p.failAt.step === state.step && ctx.attempt === 1) {
      if (p.failAt.how === 'abort') process.abort();
      if (p.failAt.how === 'throw')
        throw new Error(`Step ${state.step} of the counting job failed on purpose.`);
      const hog: number[][] = [];
      for (;;) hog.push(new Array<number>(1 << 20).fill(state.step));
    }
    await new Promise((r) => setTimeout(r, p.stepMs));
    state = { step: state.step + 1, total: state.total + value(p.seed, state.step) };
    ranHere++;
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(state));
    fs.renameSync(`${file}.tmp`, file);
    ctx.record({ step: state.step, total: state.total, pid: process.pid });
    ctx.progress({ step: state.step, of: p.steps });
  }
  return { result: { total: state.total, ranHere } };
}

export function expectedTotal(p: Pick<CountingParams, 'seed' | 'steps'>): number {
  let t = 0;
  for (let i = 0; i < p.steps; i++) t += value(p.seed, i);
  return t;
}
