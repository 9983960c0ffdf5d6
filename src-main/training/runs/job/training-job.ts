/**
 * A training run, as the job process runs it (the job runner loads this module and calls runJob):
 *
 *   prepare   every slide's patch grid (tissue from the project's cache); unreadable slides left out
 *   model     the last checkpoint if there is one, else the built-in size (seeded init) or the imported
 *             encoder with a new seeded aggregator
 *   frozen    (two-stage baseline, and an end-to-end run's linear probe) every slide's embeddings, once,
 *             from the project's cache or made now
 *   epochs    up to K seeded patches per slide, slides in a seeded order, `batchSlides` per optimizer step
 *             (end to end: recompute-and-offload through the encoder; frozen, and the probe epochs an
 *             end-to-end run may start with: the aggregator alone, on the embeddings);
 *             validation on every patch of every validation slide; the best epoch's model kept
 *   test      once, with the kept model, on every patch of every test slide
 *
 * Everything that decides a number is keyed by the seed, the epoch and the slide, and the checkpoint
 * holds the model, its AdamW state and the loop's position, so a run stopped anywhere (pause, kill -9,
 * the app quitting) and resumed ends with the same metrics as one never stopped.
 */
import type {
  EpochRecord,
  PredictionRow,
  RunConfig,
  RunProgress,
  TaskMetrics,
} from '../../../contract/contract.js';
import { SlideModel, type SlideEmbeddings, type SlidePatches } from '../../../engine/index.js';
import { openProject, type Project } from '../../../project/project.js';
import { SlideService } from '../../../slides/index.js';
import { taskMetrics } from '../../metrics/task-metrics.js';
import type { OnnxEncoder } from '../../../onnx/index.js';
import { builtinSpec } from '../../models/builtin.js';
import { onnxModelAbout, onnxPlaceholderSpec, openOnnxModel } from '../../models/onnx-model-import.js';
import { PatchLoader, type PatchBatch } from '../../patches/patch-loader.js';
import { PatchWorkers } from '../../patches/patch-workers.js';
import { evaluationPlan, trainingPlan } from '../../patches/plans.js';
import { samplePatchIndices } from '../../patches/sampling.js';
import type { PartName, PlanSlide, RunPlan } from '../run-plan.js';
import { bestDir, loadCheckpoint, saveBest, saveCheckpoint, type LoopState } from './checkpoints.js';
import {
  concat,
  engineTaskName,
  evaluateFromEmbeddings,
  evaluateSlides,
  meanLoss,
  type SlideOutput,
} from './evaluate.js';
import { embeddingKey, EmbeddingCache, encoderWeightsHash } from './frozen-embeddings.js';
import { prepareSlide, type RunSlide } from './slide-data.js';
import { isProbeEpoch, stageRates } from './stage-schedule.js';
import { totalEpochs } from '../run-config.js';
import path from 'node:path';

/** What the job process gives a job (structurally the job runner's JobContext). */
export interface TrainingJobContext {
  params: unknown;
  projectDir: string;
  workDir: string;
  attempt: number;
  signal: AbortSignal;
  pauseRequested(): boolean;
  progress(progress: unknown): void;
  record(record: unknown): void;
  log(line: string): void;
}

/** Records the supervisor persists (training/runs/run-records.ts). */
export type TrainingRecord =
  { type: 'warning'; message: string } | { type: 'epoch'; epoch: EpochRecord; best: number | null };

export interface TrainingResult {
  bestEpoch: number | null;
  testMetrics: Record<string, TaskMetrics>;
  predictions: PredictionRow[];
  /** Slides actually evaluated in the test part. */
  testSlides: number;
  peakRssBytes: number;
  /** Share of the end-to-end training time the engine waited for patches. */
  waitFraction: number;
}

/** Mid-epoch checkpoints at most this often (seconds), so a crash loses little. */
const CHECKPOINT_EVERY_S = 120;
const PROGRESS_EVERY_MS = 250;

export interface TrainingParams {
  plan: RunPlan;
}

export async function runJob(ctx: TrainingJobContext): Promise<{ result: TrainingResult } | 'paused'> {
  const { plan } = ctx.params as TrainingParams;
  const project = await openProject(ctx.projectDir, { readOnly: true });
  const slides = new SlideService({ maxOpen: 8 });
  const workers = new PatchWorkers();
  try {
    return await new TrainingRun(ctx, plan, project, slides, workers).run();
  } finally {
    project.close();
    await workers.close();
    await slides.closeAll();
  }
}

class TrainingRun {
  private readonly config: RunPlan['config'];
  private model!: SlideModel;
  /** An imported ONNX encoder (frozen mode only): it embeds, and `model` is the aggregator on a placeholder encoder. */
  private onnxEncoder: OnnxEncoder | null = null;
  private state!: LoopState;
  private readonly parts = {} as Record<PartName, RunSlide[]>;
  private readonly loader: PatchLoader;
  private readonly embeddings = new Map<number, Float32Array>();
  private lastProgress = 0;
  private progress: RunProgress;
  private totalWait = 0;
  private totalBusy = 0;
  private ahead: {
    epoch: number;
    batches: AsyncGenerator<PatchBatch>;
    first: Promise<IteratorResult<PatchBatch>>;
  } | null = null;

  constructor(
    private readonly ctx: TrainingJobContext,
    private readonly plan: RunPlan,
    private readonly project: Project,
    private readonly slides: SlideService,
    workers: PatchWorkers,
  ) {
    this.config = plan.config;
    const c = this.config;
    this.loader = new PatchLoader({
      slides,
      workers,
      prefetch: prefetchFor(c.patchesPerSlide, plan.model),
      augment: {
        flips: c.augment.flips,
        rotations: c.augment.rotations,
        hed: c.augment.hed > 0 ? { scale: c.augment.hed, shift: c.augment.hed * 0.4 } : null,
        hedSlide: c.augment.hedSlide ? { scale: c.augment.hedSlide, shift: c.augment.hedSlide * 0.4 } : null,
      },
      onWarning: (w) => this.warn(w.message),
    });
    this.progress = {
      runId: plan.runId,
      phase: 'preparing',
      epoch: 0,
      epochs: totalEpochs(c),
      done: 0,
      total: 0,
      slide: null,
      trainLoss: {},
      lrEncoder: 0,
      lrAggregator: 0,
      patchesPerSecond: 0,
      epochSeconds: 0,
      etaSeconds: null,
      rssBytes: 0,
      waitFraction: 0,
      message: null,
    };
  }

  async run(): Promise<{ result: TrainingResult } | 'paused'> {
    const c = this.config;
    this.ctx.log(
      `run ${this.plan.runId} "${c.name}" attempt ${this.ctx.attempt}: ${c.mode}, model ${JSON.stringify(c.model)}, ` +
        `tasks ${this.plan.tasks.map((t) => t.name).join(', ')}, split ${c.split}${c.fold ? ` fold ${c.fold}` : ''}, seed ${c.seed}`,
    );
    for (const w of this.plan.warnings) this.ctx.log(`warning: ${w}`);
    await this.openModel();
    this.applyPrecision();
    await this.prepareSlides();
    if (this.onEmbeddings(this.state.epoch)) await this.embedAll();

    const stepsPerEpoch = Math.ceil(this.parts.train.length / c.batchSlides);
    while (this.state.epoch < totalEpochs(c)) {
      const outcome = await this.trainEpoch(stepsPerEpoch);
      if (outcome === 'paused') return 'paused';
      await this.endEpoch();
      if (this.ctx.pauseRequested()) {
        await this.dropReadAhead();
        return 'paused';
      }
    }
    await this.dropReadAhead();
    return { result: await this.test() };
  }

  /** The run's matrix-product precision, on a model just made, resumed or loaded (it is not stored with one). */
  private applyPrecision(): void {
    if ((this.config.matmulPrecision ?? 'fp32') === 'fp32') return;
    this.model.setMatmulPrecision(this.config.matmulPrecision!);
    this.ctx.log(`encoder matrix products in ${this.config.matmulPrecision} (fp32 accumulation and weights)`);
  }

  /** Whether `epoch` trains and validates on embeddings: frozen runs, and an end-to-end run's probe. */
  private onEmbeddings(epoch: number): boolean {
    return this.config.mode === 'frozen' || isProbeEpoch(this.config, epoch);
  }

  // ---- setup ----

  private async openModel(): Promise<void> {
    const c = this.config;
    const m = this.plan.model;
    if (m.kind === 'imported' && onnxModelAbout(m.dir)) {
      this.onnxEncoder = await openOnnxModel(m.dir);
      this.ctx.log(
        `ONNX encoder ${m.name}: ${this.onnxEncoder.inputSize} px patches, ${this.onnxEncoder.outputDim}-wide features (onnxruntime)`,
      );
    }
    const resumed = await loadCheckpoint(this.ctx.workDir);
    if (resumed) {
      this.model = resumed.model;
      this.state = resumed.state;
      this.ctx.log(
        `resuming at epoch ${this.state.epoch + 1}, slide ${this.state.position} (model step ${this.model.step})`,
      );
      return;
    }
    const aggregator = {
      dropout: c.dropout,
      tasks: this.plan.tasks.map((t, i) => ({
        name: engineTaskName(i),
        kind: t.kind,
        ...(t.kind === 'categorical' ? { numClasses: t.values.length } : {}),
      })),
    };
    if (this.onnxEncoder)
      this.model = SlideModel.create(onnxPlaceholderSpec(this.onnxEncoder.outputDim), aggregator, c.seed);
    else if (m.kind === 'builtin') this.model = SlideModel.create(builtinSpec(m.size), aggregator, c.seed);
    else
      this.model = await SlideModel.fromPretrainedEncoder(
        path.join(m.dir, 'config.json'),
        path.join(m.dir, 'model.safetensors'),
        aggregator,
        c.seed,
        { signal: this.ctx.signal },
      );
    this.state = {
      epoch: 0,
      position: 0,
      lossSums: this.plan.tasks.map(() => 0),
      lossCounts: this.plan.tasks.map(() => 0),
      epochSeconds: 0,
      epochPatches: 0,
      waitSeconds: 0,
      busySeconds: 0,
      history: [],
      best: null,
      warnings: [],
    };
  }

  private async prepareSlides(): Promise<void> {
    const all: [PartName, PlanSlide][] = (['train', 'val', 'test'] as PartName[]).flatMap((p) =>
      this.plan.parts[p].map((s) => [p, s] as [PartName, PlanSlide]),
    );
    for (const p of ['train', 'val', 'test'] as PartName[]) this.parts[p] = [];
    const options = {
      mpp: this.config.mpp,
      patchSize: this.onnxEncoder?.inputSize ?? this.model.spec.inputSize,
      tissueThreshold: this.config.tissueThreshold,
      // Runs stored before annotations had no regions.
      regions: this.config.regions as RunConfig['regions'] | undefined,
    };
    let done = 0;
    for (const [part, s] of all) {
      this.ctx.signal.throwIfAborted();
      this.report({ phase: 'preparing', done, total: all.length, slide: s.name });
      const prepared = await prepareSlide(this.project, this.slides, s, options);
      if ('warning' in prepared) this.warn(prepared.warning);
      else {
        this.parts[part].push(prepared.slide);
        if (this.ctx.attempt === 1 && done < 3) this.ctx.log(prepared.slide.grid.summary);
      }
      done++;
    }
    const counts = (['train', 'val', 'test'] as PartName[])
      .map((p) => `${this.parts[p].length} ${p}`)
      .join(', ');
    this.ctx.log(`slides ready: ${counts}`);
    if (!this.parts.train.length) throw new Error('No training slide could be read; the run cannot train.');
    if (!this.parts.test.length) throw new Error('No test slide could be read; the run cannot be evaluated.');
  }

  /** Frozen mode: every slide's embeddings, from the cache or computed once now. */
  private async embedAll(): Promise<void> {
    const cache = new EmbeddingCache(this.ctx.projectDir);
    const onnx = this.onnxEncoder;
    const encoder =
      onnx && this.plan.model.kind === 'imported'
        ? `onnx:${this.plan.model.sha256}`
        : // bf16 products give other embeddings from the same weights: kept apart (fp32 keys as before).
          encoderWeightsHash(this.model) +
          (this.model.matmulPrecision === 'fp32' ? '' : `:${this.model.matmulPrecision}`);
    const dim = onnx?.outputDim ?? this.model.outputDim;
    const all = [...this.parts.train, ...this.parts.val, ...this.parts.test];
    let done = 0;
    let made = 0;
    const missing: RunSlide[] = [];
    for (const s of all) {
      const kept = cache.read(embeddingKey(s, encoder), s.grid.x.length, dim);
      if (kept) this.embeddings.set(s.id, kept);
      else missing.push(s);
    }
    done = all.length - missing.length;
    let pieces: Float32Array[] = [];
    let skipped = false;
    for await (const batch of this.loader.batches(evaluationPlan(missing, 512), this.ctx.signal)) {
      const slide = batch.request.slide as RunSlide;
      const piece = batch.request.piece!;
      if (piece.index === 0) {
        pieces = [];
        skipped = false;
        this.report({ phase: 'embedding', done, total: all.length, slide: slide.plan.name });
      }
      if (batch.kind === 'skipped') skipped = true;
      else if (!skipped)
        pieces.push(
          onnx
            ? await onnx.embed(batch.pixels, batch.numPatches, { signal: this.ctx.signal })
            : await this.model.embed(batch.pixels, batch.numPatches, {
                chunkSize: this.config.chunkSize,
                signal: this.ctx.signal,
              }),
        );
      if (piece.index === piece.count - 1) {
        if (!skipped) {
          const h = concat(pieces);
          cache.write(embeddingKey(slide, encoder), h, slide.grid.x.length, dim);
          this.embeddings.set(slide.id, h);
          made++;
        }
        done++;
      }
    }
    for (const part of ['train', 'val', 'test'] as PartName[])
      this.parts[part] = this.parts[part].filter((s) => this.embeddings.has(s.id));
    this.ctx.log(`frozen embeddings: ${all.length - made} from the cache, ${made} computed`);
  }

  // ---- training ----

  private async trainEpoch(stepsPerEpoch: number): Promise<'done' | 'paused'> {
    const c = this.config;
    const st = this.state;
    const order = this.epochOrder(st.epoch);
    const onEmbeddings = this.onEmbeddings(st.epoch);
    // The encoder's embeddings are only needed while it is frozen.
    if (!onEmbeddings && this.embeddings.size) this.embeddings.clear();
    const options = () => ({
      chunkSize: c.chunkSize,
      ...stageRates(c, st.epoch, stepsPerEpoch, this.model.step),
      weightDecay: c.weightDecay,
      minLrRatio: c.minLrRatio,
      clipNorm: c.clipNorm,
      seed: c.seed,
      signal: this.ctx.signal,
    });
    const epochStart = performance.now() - st.epochSeconds * 1000;
    let lastCheckpoint = performance.now();
    const remaining = order.slice(st.position);

    const step = async (group: RunSlide[], batches: PatchBatch[]): Promise<void> => {
      const t0 = performance.now();
      let result;
      if (!onEmbeddings) {
        const input: SlidePatches[] = batches.map((b) => {
          if (b.kind !== 'patches') throw new Error('unreachable');
          return {
            pixels: b.pixels,
            numPatches: b.numPatches,
            labels: (b.request.slide as RunSlide).plan.labels,
          };
        });
        result = input.length ? await this.model.trainStepEndToEnd(input, options()) : null;
        st.epochPatches += input.reduce((a, s) => a + s.numPatches, 0);
      } else {
        const input: SlideEmbeddings[] = group.map((s) => this.sampledEmbeddings(s, st.epoch));
        result = await this.model.trainStepFrozen(input, options());
        st.epochPatches += input.reduce((a, s) => a + s.numPatches, 0);
      }
      const busy = (performance.now() - t0) / 1000;
      st.busySeconds += busy;
      this.totalBusy += busy;
      if (result) {
        result.tasks.forEach((t, i) => {
          if (t.labelled > 0) {
            st.lossSums[i]! += t.loss;
            st.lossCounts[i]!++;
          }
        });
        if (result.optimizerStepped) {
          this.progress.lrEncoder = result.lrEncoder;
          this.progress.lrAggregator = result.lrAggregator;
        }
      }
      st.position += group.length;
    };

    if (onEmbeddings) {
      for (let i = 0; i < remaining.length; i += c.batchSlides) {
        const group = remaining.slice(i, i + c.batchSlides).map((r) => r.slide as RunSlide);
        await step(group, []);
        this.reportTraining(epochStart, st.position, order.length, group.at(-1)!.plan.name);
        if (await this.maybeStop(epochStart, () => (lastCheckpoint = performance.now()), lastCheckpoint))
          return 'paused';
      }
    } else {
      let group: RunSlide[] = [];
      let batches: PatchBatch[] = [];
      // The batches read ahead during the last validation, if they are this epoch's from its start.
      const ahead = this.ahead?.epoch === st.epoch && st.position === 0 ? this.ahead : null;
      if (!ahead) await this.dropReadAhead();
      this.ahead = null;
      const it = ahead?.batches ?? this.loader.batches(remaining, this.ctx.signal);
      let first = ahead?.first ?? null;
      try {
        let waitStart = performance.now();
        for (;;) {
          const next = await (first ?? it.next());
          first = null;
          if (next.done) break;
          const batch = next.value;
          const waited = (performance.now() - waitStart) / 1000;
          st.waitSeconds += waited;
          this.totalWait += waited;
          const slide = batch.request.slide as RunSlide;
          group.push(slide);
          if (batch.kind === 'patches') batches.push(batch);
          if (group.length === c.batchSlides || st.position + group.length === order.length) {
            await step(group, batches);
            group = [];
            batches = [];
            this.reportTraining(epochStart, st.position, order.length, slide.plan.name);
            if (await this.maybeStop(epochStart, () => (lastCheckpoint = performance.now()), lastCheckpoint))
              return 'paused';
          }
          waitStart = performance.now();
        }
      } finally {
        await it.return(undefined);
      }
    }
    st.epochSeconds = (performance.now() - epochStart) / 1000;
    return 'done';
  }

  /** The epoch's training order: up to K seeded patches of every slide, slides in a seeded order. */
  private epochOrder(epoch: number) {
    const c = this.config;
    return trainingPlan(this.parts.train, {
      patchesPerSlide: c.patchesPerSlide,
      seed: c.seed,
      epoch,
      order: c.batchSlides > 1 ? 'balanced' : 'shuffled',
      labelOf: (s) => Math.max(0, (s as RunSlide).plan.labels[0]!),
    });
  }

  /** Starts reading `epoch`'s first batches now (they are what its training will ask for first). */
  private readAhead(epoch: number): void {
    const batches = this.loader.batches(this.epochOrder(epoch), this.ctx.signal);
    const first = batches.next();
    first.catch(() => {}); // raised when training reaches it
    this.ahead = { epoch, batches, first };
  }

  private async dropReadAhead(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = null;
    if (ahead) {
      await ahead.first.catch(() => undefined);
      await ahead.batches.return(undefined);
    }
  }

  /** At a step boundary: checkpoint and stop on a pause; checkpoint now and then anyway. */
  private async maybeStop(
    epochStart: number,
    checkpointed: () => void,
    lastCheckpoint: number,
  ): Promise<boolean> {
    const pause = this.ctx.pauseRequested();
    if (pause || performance.now() - lastCheckpoint > CHECKPOINT_EVERY_S * 1000) {
      this.state.epochSeconds = (performance.now() - epochStart) / 1000;
      await saveCheckpoint(this.ctx.workDir, this.model, this.state);
      checkpointed();
      if (pause) this.ctx.log(`paused at epoch ${this.state.epoch + 1}, slide ${this.state.position}`);
    }
    return pause;
  }

  private sampledEmbeddings(s: RunSlide, epoch: number): SlideEmbeddings {
    const all = this.embeddings.get(s.id)!;
    const dim = this.model.outputDim;
    const idx = samplePatchIndices(
      s.grid.x.length,
      this.config.patchesPerSlide,
      this.config.seed,
      epoch,
      s.id,
    );
    const rows = new Float32Array(idx.length * dim);
    idx.forEach((r, k) => rows.set(all.subarray(r * dim, (r + 1) * dim), k * dim));
    return { embeddings: rows, numPatches: idx.length, labels: s.plan.labels };
  }

  private trainLossNow(): Record<string, number> {
    return Object.fromEntries(
      this.plan.tasks.map((t, i) => [
        t.name,
        this.state.lossCounts[i] ? this.state.lossSums[i]! / this.state.lossCounts[i]! : NaN,
      ]),
    );
  }

  private reportTraining(epochStart: number, done: number, total: number, slide: string): void {
    const st = this.state;
    const seconds = (performance.now() - epochStart) / 1000;
    const perEpoch = done > 0 ? (seconds / done) * total : null;
    const epochsLeft = totalEpochs(this.config) - st.epoch - 1;
    this.report({
      phase: 'training',
      done,
      total,
      slide,
      trainLoss: this.trainLossNow(),
      patchesPerSecond: st.busySeconds + st.waitSeconds > 0 ? st.epochPatches / seconds : 0,
      epochSeconds: seconds,
      etaSeconds: perEpoch === null ? null : perEpoch - seconds + epochsLeft * perEpoch * 1.15,
      waitFraction: st.waitSeconds / Math.max(1e-9, st.waitSeconds + st.busySeconds),
    });
  }

  // ---- after each epoch ----

  private async endEpoch(): Promise<void> {
    const c = this.config;
    const st = this.state;
    const validation: EpochRecord['validation'] = {};
    let score: number | null = null;
    let valLoss = Infinity;
    // Reading the next epoch's first slides overlaps validation, so the engine does not wait for them.
    const total = totalEpochs(c);
    if (st.epoch + 1 < total && !this.onEmbeddings(st.epoch + 1)) this.readAhead(st.epoch + 1);
    if (this.parts.val.length) {
      const outputs = await this.evaluate(this.parts.val, 'validating', this.onEmbeddings(st.epoch));
      const aurocs: number[] = [];
      const losses: number[] = [];
      this.plan.tasks.forEach((t, i) => {
        const m = this.metricsOf(outputs, i, 0);
        const loss = meanLoss(outputs, i);
        validation[t.name] = { loss, auroc: m.auroc, balancedAccuracy: m.balancedAccuracy };
        if (m.auroc !== null) aurocs.push(m.auroc);
        losses.push(loss);
      });
      score =
        c.selectBy === 'auroc'
          ? aurocs.length
            ? aurocs.reduce((a, b) => a + b, 0) / aurocs.length
            : null
          : -losses.reduce((a, b) => a + b, 0) / losses.length;
      valLoss = losses.reduce((a, b) => a + b, 0) / losses.length;
    }
    const record: EpochRecord = {
      epoch: st.epoch + 1,
      trainLoss: this.trainLossNow(),
      validation,
      lrEncoder: this.progress.lrEncoder,
      lrAggregator: this.progress.lrAggregator,
      ...(isProbeEpoch(c, st.epoch) ? { probe: true } : {}),
      seconds: st.epochSeconds,
      patchesPerSecond: st.epochSeconds > 0 ? st.epochPatches / st.epochSeconds : 0,
      waitFraction: st.waitSeconds / Math.max(1e-9, st.waitSeconds + st.busySeconds),
      peakRssBytes: peakRss(),
    };
    // The first epoch, or a better score, becomes the kept model; an equal score (AUROC on a small
    // validation part often saturates) goes to the lower validation loss.
    const better =
      st.best === null ||
      (score !== null &&
        (score > st.best.score || (score === st.best.score && valLoss < (st.best.loss ?? Infinity))));
    if (score !== null && better) {
      st.best = { epoch: st.epoch + 1, score, loss: valLoss };
      await saveBest(this.ctx.workDir, this.model);
    }
    st.history.push(record);
    this.ctx.record({ type: 'epoch', epoch: record, best: st.best?.epoch ?? null } satisfies TrainingRecord);
    const val = Object.entries(validation)
      .map(([t, v]) => `${t} val loss ${v.loss.toFixed(4)} AUROC ${v.auroc?.toFixed(3) ?? '-'}`)
      .join('; ');
    this.ctx.log(
      `epoch ${record.epoch}/${total}${record.probe ? ' (probe)' : ''}: train loss ${Object.values(
        record.trainLoss,
      )
        .map((l) => l.toFixed(4))
        .join(', ')}` +
        `${val ? `; ${val}` : ''}; ${record.seconds.toFixed(1)} s, ${record.patchesPerSecond.toFixed(0)} patches/s, waited ${(100 * record.waitFraction).toFixed(1)}%`,
    );
    st.epoch++;
    st.position = 0;
    st.lossSums = st.lossSums.map(() => 0);
    st.lossCounts = st.lossCounts.map(() => 0);
    st.epochSeconds = 0;
    st.epochPatches = 0;
    st.waitSeconds = 0;
    st.busySeconds = 0;
    await saveCheckpoint(this.ctx.workDir, this.model, st);
  }

  private async evaluate(
    slides: RunSlide[],
    phase: 'validating' | 'testing',
    onEmbeddings: boolean,
  ): Promise<SlideOutput[]> {
    if (onEmbeddings)
      return evaluateFromEmbeddings(
        this.model,
        slides.map((slide) => ({ slide, embeddings: this.embeddings.get(slide.id)! })),
        this.plan.tasks,
        this.ctx.signal,
      );
    return evaluateSlides(this.model, slides, this.loader, this.plan.tasks, {
      chunkSize: this.config.chunkSize,
      signal: this.ctx.signal,
      onSlide: (s, done, total) => this.report({ phase, done, total, slide: s.plan.name }),
    });
  }

  private metricsOf(outputs: SlideOutput[], i: number, resamples?: number): TaskMetrics {
    const task = this.plan.tasks[i]!;
    const labelled = outputs.filter((o) => o.slide.plan.labels[i]! >= 0);
    return taskMetrics(
      {
        labels: labelled.map((o) => o.slide.plan.labels[i]!),
        probabilities: labelled.map((o) => o.probabilities[i]!),
      },
      { values: task.values, seed: this.config.seed, resamples },
    );
  }

  // ---- the end ----

  private async test(): Promise<TrainingResult> {
    const best = bestDir(this.ctx.workDir);
    if (best && this.parts.val.length) {
      this.ctx.log(`testing the kept model of epoch ${this.state.best?.epoch}`);
      const kept = await SlideModel.loadCheckpoint(best);
      this.model.dispose();
      this.model = kept;
      this.applyPrecision();
    } else this.ctx.log("testing the last epoch's model (no validation part)");
    // An end-to-end run's test reads the patches, whichever stage its kept epoch came from.
    const outputs = await this.evaluate(this.parts.test, 'testing', this.config.mode === 'frozen');
    this.report({ phase: 'finishing', done: 0, total: 0, slide: null });
    const testMetrics: Record<string, TaskMetrics> = {};
    this.plan.tasks.forEach((t, i) => (testMetrics[t.name] = this.metricsOf(outputs, i)));
    const predictions: PredictionRow[] = [];
    for (const o of outputs) {
      this.plan.tasks.forEach((t, i) => {
        const label = o.slide.plan.labels[i]!;
        predictions.push({
          part: 'test',
          slideId: o.slide.id,
          slideName: o.slide.plan.name,
          patient: o.slide.plan.patient,
          task: t.name,
          label: label >= 0 ? t.values[label]! : null,
          probabilities: Object.fromEntries(t.values.map((v, c) => [v, o.probabilities[i]![c]!])),
        });
      });
    }
    const summary = Object.entries(testMetrics)
      .map(
        ([t, m]) =>
          `${t} AUROC ${m.auroc?.toFixed(3) ?? '-'} [${m.aurocCi.map((v) => v?.toFixed(3) ?? '-').join(', ')}]`,
      )
      .join('; ');
    this.ctx.log(`test (${outputs.length} slides): ${summary}`);
    await this.onnxEncoder?.dispose();
    this.ctx.log(
      `peak RSS ${peakRss()} bytes; the engine waited for patches ${(100 * (this.totalWait / Math.max(1e-9, this.totalWait + this.totalBusy))).toFixed(1)}% of the training time`,
    );
    return {
      bestEpoch: this.state.best?.epoch ?? null,
      testMetrics,
      predictions,
      testSlides: outputs.length,
      peakRssBytes: peakRss(),
      waitFraction: this.totalWait / Math.max(1e-9, this.totalWait + this.totalBusy),
    };
  }

  // ---- reporting ----

  private warn(message: string): void {
    this.ctx.log(`warning: ${message}`);
    this.state?.warnings.push(message);
    this.ctx.record({ type: 'warning', message } satisfies TrainingRecord);
  }

  private report(p: Partial<RunProgress>): void {
    const samePhase = p.phase === undefined || p.phase === this.progress.phase;
    Object.assign(this.progress, p, {
      epoch: this.state ? Math.min(this.state.epoch + 1, totalEpochs(this.config)) : 0,
    });
    const now = performance.now();
    if (samePhase && now - this.lastProgress < PROGRESS_EVERY_MS && p.done !== p.total) return;
    this.lastProgress = now;
    this.progress.rssBytes = process.memoryUsage.rss();
    this.ctx.progress({ ...this.progress });
  }
}

/**
 * Slides read ahead of the engine: enough to ride out slow reads (2 to 8), within about 256 MiB of patch
 * pixels in flight, so memory stays bounded whatever K is.
 */
export function prefetchFor(patchesPerSlide: number, model: RunPlan['model']): number {
  const side = model.kind === 'builtin' && model.size === 'micro' ? 32 : 224;
  const bytes = patchesPerSlide * side * side * 3;
  return Math.max(2, Math.min(8, Math.floor((256 * 1048576) / bytes)));
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}
