/**
 * A run's config and plan pieces without a training run: defaults filled in and stored whole, a config
 * file's mistakes in one sentence, which parts of a k-fold split train, validate and test, and checkpoints
 * that survive a swap cut short.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SplitDetail } from '../../../src-main/contract/contract.js';
import { SlideModel } from '../../../src-main/engine/index.js';
import { builtinSpec } from '../../../src-main/training/models/builtin.js';
import { configToInput } from '../../../src-main/jobs/training-runs.js';
import {
  loadCheckpoint,
  saveCheckpoint,
  type LoopState,
} from '../../../src-main/training/runs/job/checkpoints.js';
import { resolveRunConfig, RUN_DEFAULTS } from '../../../src-main/training/runs/run-config.js';
import { partsOfSplit } from '../../../src-main/training/runs/run-plan.js';
import { tempDir } from '../../helpers/temp.js';

const resolved = { split: 'demo', splitTask: 'atypia', name: 'r' };

describe('run config', () => {
  it('fills every default in, and a stored config resolves to itself (re-run repeats it)', () => {
    const c = resolveRunConfig({}, resolved);
    expect(c).toMatchObject({
      name: 'r',
      tasks: ['atypia'],
      split: 'demo',
      fold: null,
      mode: RUN_DEFAULTS.mode,
      model: RUN_DEFAULTS.model,
      seed: RUN_DEFAULTS.seed,
      epochs: RUN_DEFAULTS.epochs,
      patchesPerSlide: RUN_DEFAULTS.patchesPerSlide,
      chunkSize: 128,
    });
    expect(resolveRunConfig(configToInput(c), resolved)).toEqual(c);
    const custom = resolveRunConfig(
      { mode: 'frozen', model: { kind: 'builtin', size: 'base' }, augment: { hed: 0 } },
      resolved,
    );
    expect(custom.chunkSize).toBe(8);
    expect(custom.augment).toEqual({ ...RUN_DEFAULTS.augment, hed: 0 });
  });

  it('says what is wrong with a config in one sentence', () => {
    expect(() => resolveRunConfig({ epochs: 0 }, resolved)).toThrow(
      'The run config is invalid: epochs: the number of epochs must be at least 1.',
    );
    expect(() => resolveRunConfig({ mode: 'sideways' } as never, resolved)).toThrow(
      /^The run config is invalid: mode: /,
    );
    expect(() => resolveRunConfig({ learningRate: 1 } as never, resolved)).toThrow(/learningRate/);
  });
});

describe('parts of a split', () => {
  const member = (id: number) => ({ slideId: id, slideName: `s${id}`, patient: `p${id}`, value: 'a' });
  const folds: SplitDetail = {
    id: 1,
    name: 'f',
    taskId: 1,
    taskName: 't',
    cohortId: null,
    cohortName: null,
    seed: 1,
    scheme: { kind: 'folds', folds: 4 },
    classes: ['a'],
    parts: [],
    left: { excluded: 0, unlabeled: 0 },
    warnings: [],
    createdAt: '',
    members: { 'fold-1': [member(1)], 'fold-2': [member(2)], 'fold-3': [member(3)], 'fold-4': [member(4)] },
  };

  it('fold K tests, the next fold validates, the rest trains', () => {
    const ids = (p: ReturnType<typeof partsOfSplit>) =>
      Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.map((m) => m.slideId)]));
    expect(ids(partsOfSplit(folds, 2))).toEqual({ train: [1, 4], val: [3], test: [2] });
    expect(ids(partsOfSplit(folds, 4))).toEqual({ train: [2, 3], val: [1], test: [4] });
    expect(ids(partsOfSplit(folds, null))).toEqual({ train: [3, 4], val: [2], test: [1] });
    expect(() => partsOfSplit(folds, 5)).toThrow('Split f has 4 folds; --fold must be 1 to 4, not 5.');
    const fractions = { ...folds, scheme: { kind: 'fractions' as const, fractions: [0.6, 0.2, 0.2] } };
    expect(() => partsOfSplit({ ...fractions, members: {} }, 1)).toThrow(
      'Split f has no folds; leave out the fold.',
    );
  });
});

describe('checkpoints', () => {
  it('a checkpoint whose swap was cut short is read from the old folder', async () => {
    const work = tempDir();
    const model = SlideModel.create(builtinSpec('micro'), { tasks: [{ name: 'task0', kind: 'binary' }] }, 3);
    const state = { epoch: 2, position: 6, history: [], best: null } as unknown as LoopState;
    await saveCheckpoint(work, model, state);
    // As if killed between the two renames: only checkpoint.old/ is complete.
    fs.renameSync(path.join(work, 'checkpoint'), path.join(work, 'checkpoint.old'));
    const back = await loadCheckpoint(work);
    expect(back?.state).toMatchObject({ epoch: 2, position: 6 });
    expect(back!.model.getParameter('heads.task0.weight')).toEqual(model.getParameter('heads.task0.weight'));
    back!.model.dispose();
    // A half-written new one (no state.json) is never taken.
    fs.mkdirSync(path.join(work, 'checkpoint'));
    fs.writeFileSync(path.join(work, 'checkpoint', 'config.json'), '{}');
    expect((await loadCheckpoint(work))?.state.epoch).toBe(2);
    model.dispose();
  });
});
