import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../src-main/engine/errors.js';
import {
  EncoderModel,
  SlideModel,
  engineCpuInfo,
  measurePeakGflops,
} from '../../../src-main/engine/model.js';
import { loadEngine } from '../../../src-main/engine/native.js';
import type { EngineProgress } from '../../../src-main/engine/types.js';
import { patches, relL2, smallSpec } from './helpers.js';

const TASKS = {
  hiddenDim: 8,
  tasks: [
    { name: 'msi', kind: 'binary' as const },
    { name: 'subtype', kind: 'categorical' as const, numClasses: 3 },
  ],
};

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    return e as EngineError;
  }
  throw new Error('expected the call to reject');
}

function rssBytes(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

describe('engine binding: shapes and arguments are validated before any compute', () => {
  it('rejects pixel buffers of the wrong size or type, bad counts and bad options', async () => {
    const model = EncoderModel.create(smallSpec(), 1);
    try {
      const px = patches(3, 16);
      let e = await rejection(model.embed(px, 4));
      expect(e.code).toBe('ERR_INVALID_ARG');
      expect(e.message).toBe('pixels holds 2304 bytes but 4 patches of 16x16 RGB need 3072.');
      e = await rejection(model.embed(new Float32Array(768) as unknown as Uint8Array, 1));
      expect(e.message).toMatch(/pixels must be a Uint8Array/);
      e = await rejection(model.embed(px, 0));
      expect(e.message).toMatch(/patch count must be a positive integer/);
      e = await rejection(model.embed(px, 1.5));
      expect(e.message).toMatch(/positive integer/);
      e = await rejection(model.embed(px, 3, { chunkSize: -1 }));
      expect(e.message).toMatch(/chunkSize must be 0 \(chosen from free memory\) or positive/);
      // 0: chosen from free memory (32 on the CPU, which cannot say): the same embeddings as any chunk size.
      expect(
        relL2(await model.embed(px, 3, { chunkSize: 0 }), await model.embed(px, 3, { chunkSize: 1 })),
      ).toBeLessThan(1e-6);
      // The model is untouched and still works.
      expect((await model.embed(px, 3)).length).toBe(3 * 16);
    } finally {
      model.dispose();
    }
  });

  it('rejects bad labels, slides and embeddings for training and prediction', async () => {
    const model = SlideModel.create(smallSpec(), TASKS, 2);
    try {
      const px = patches(2, 16);
      const slide = (labels: number[]) => [{ pixels: px, numPatches: 2, labels }];
      let e = await rejection(model.trainStepEndToEnd(slide([1])));
      expect(e.message).toBe('slides[0].labels has 1 labels but the model has 2 tasks.');
      e = await rejection(model.trainStepEndToEnd(slide([2, 0])));
      expect(e.message).toMatch(
        /slides\[0\].labels\[0\] for task "msi" must be an integer from 0 to 1, or -1 when missing/,
      );
      e = await rejection(model.trainStepEndToEnd(slide([1, 3])));
      expect(e.message).toMatch(/task "subtype" must be an integer from 0 to 2/);
      e = await rejection(model.trainStepEndToEnd(slide([0.5, 1])));
      expect(e.code).toBe('ERR_INVALID_ARG');
      e = await rejection(model.trainStepEndToEnd([]));
      expect(e.message).toMatch(/non-empty array/);
      e = await rejection(model.trainStepEndToEnd([{ pixels: px, numPatches: 3, labels: [0, 0] }]));
      expect(e.message).toMatch(/slides\[0\].pixels holds 1536 bytes but 3 patches/);
      e = await rejection(
        model.trainStepFrozen([{ embeddings: new Float32Array(10), numPatches: 2, labels: [0, 1] }]),
      );
      expect(e.message).toBe(
        'slides[0].embeddings holds 10 floats but 2 embeddings of dimension 16 need 32.',
      );
      e = await rejection(model.predictFromEmbeddings(new Float32Array(15), 1));
      expect(e.code).toBe('ERR_INVALID_ARG');
      e = await rejection(model.trainStepEndToEnd(slide([1, 1]), { accumulationSteps: 0 }));
      expect(e.message).toMatch(/accumulationSteps must be positive/);
      expect(model.step).toBe(0);
      const r = await model.trainStepEndToEnd(slide([1, -1]));
      expect(r.tasks[1]).toEqual({ loss: 0, labelled: 0 });
      expect(r.step).toBe(1);
    } finally {
      model.dispose();
    }
  });

  it('refuses inconsistent configs at construction with a clear error', () => {
    expect(() => EncoderModel.create(smallSpec({ numHeads: 3 }))).toThrow(
      /embed_dim must be divisible by num_heads/,
    );
    expect(() => SlideModel.create(smallSpec(), { tasks: [{ name: 'a.b', kind: 'binary' }] })).toThrow(
      /Task name "a.b" must be non-empty and contain no '.'/,
    );
    expect(() =>
      SlideModel.create(smallSpec(), { tasks: [{ name: 'x', kind: 'categorical', numClasses: 1 }] }),
    ).toThrow(/needs at least 2 classes/);
  });

  it('an encoder-only model has no slide prediction', async () => {
    const model = EncoderModel.create(smallSpec());
    try {
      const asSlide = model as unknown as SlideModel;
      expect(asSlide.predictSlide).toBeUndefined();
      expect(model.parameterInfo().some((p) => p.group === 'aggregator')).toBe(false);
    } finally {
      model.dispose();
    }
  });
});

describe('engine binding: matrix-product precision, CPU paths and peak probes', () => {
  it('runs fp32 matmuls by default and bf16 ones on request, close to fp32 and not equal to it', async () => {
    const model = EncoderModel.create(smallSpec({ imgSize: 32, embedDim: 64, numHeads: 4, depth: 2 }), 3);
    try {
      expect(model.matmulPrecision).toBe('fp32');
      const px = patches(4, 32);
      const fp32 = await model.embed(px, 4);
      model.setMatmulPrecision('bf16');
      expect(model.matmulPrecision).toBe('bf16');
      const bf16 = await model.embed(px, 4);
      expect(relL2(bf16, fp32)).toBeLessThan(2e-2);
      expect(relL2(bf16, fp32)).toBeGreaterThan(1e-5);
      model.setMatmulPrecision('fp32');
      expect(await model.embed(px, 4)).toEqual(fp32);
      const e = (() => {
        try {
          model.setMatmulPrecision('fp16' as 'fp32');
        } catch (err) {
          return err as EngineError;
        }
        throw new Error('expected a throw');
      })();
      expect(e).toBeInstanceOf(EngineError);
      expect(e.code).toBe('ERR_INVALID_ARG');
      expect(e.message).toBe('matmulPrecision must be "fp32" or "bf16".');
    } finally {
      model.dispose();
    }
  });

  it('measures the peak of each vector unit the CPU has, and 0 for one it lacks', () => {
    const info = engineCpuInfo();
    const fp32 = measurePeakGflops(1, 0.05);
    expect(fp32 > 0).toBe(info.path !== 'portable');
    expect(measurePeakGflops(1, 0.05, 'avx2-fma') > 0).toBe(info.avx2Fma);
    expect(measurePeakGflops(1, 0.05, 'avx512-fma') > 0).toBe(info.avx512);
    expect(measurePeakGflops(1, 0.05, 'avx512-bf16') > 0).toBe(info.avx512Bf16);
    expect(() => measurePeakGflops(1, 0.05, 'sse' as 'avx2-fma')).toThrow(/unit must be/);
    expect(() => measurePeakGflops(0, 0.05)).toThrow(/threads must be from 1/);
  });
});

describe('engine binding: progress, cancellation, busy, dispose', () => {
  it('reports embed progress up to the total and train-step phases', async () => {
    const model = SlideModel.create(smallSpec(), TASKS, 3);
    try {
      const events: EngineProgress[] = [];
      await model.embed(patches(10, 16), 10, { chunkSize: 3, onProgress: (p) => events.push(p) });
      expect(events.length).toBeGreaterThan(0);
      for (const p of events) expect(p).toMatchObject({ phase: 'embed', total: 10 });
      // Every report arrives, in order, before the promise settles.
      expect(events.map((p) => p.done)).toEqual([3, 6, 9, 10]);
      const phases: string[] = [];
      await model.trainStepEndToEnd([{ pixels: patches(4, 16), numPatches: 4, labels: [1, 2] }], {
        chunkSize: 2,
        onProgress: (p) => phases.push(p.phase),
      });
      expect(phases).toContain('aggregate');
      expect(phases).toContain('backward');
      expect(phases.at(-1)).toBe('optimizer');
    } finally {
      model.dispose();
    }
  });

  it('a throwing progress listener does not break the call', async () => {
    const model = EncoderModel.create(smallSpec());
    try {
      const out = await model.embed(patches(4, 16), 4, {
        chunkSize: 1,
        onProgress: () => {
          throw new Error('listener bug');
        },
      });
      expect(out.length).toBe(64);
    } finally {
      model.dispose();
    }
  });

  it('aborting cancels a train step with ERR_CANCELLED and leaves parameters and step unchanged', async () => {
    const spec = smallSpec({ imgSize: 32, embedDim: 64, numHeads: 4, depth: 2 });
    const model = SlideModel.create(spec, TASKS, 4);
    try {
      const before = model.getParameter('blocks.0.attn.qkv.weight');
      const ac = new AbortController();
      const pending = model.trainStepEndToEnd([{ pixels: patches(96, 32), numPatches: 96, labels: [1, 0] }], {
        chunkSize: 1,
        signal: ac.signal,
      });
      ac.abort();
      const e = await rejection(pending);
      expect(e.code).toBe('ERR_CANCELLED');
      expect(e.message).toBe('The operation was cancelled.');
      expect(model.step).toBe(0);
      expect(Array.from(model.getParameter('blocks.0.attn.qkv.weight'))).toEqual(Array.from(before));
      // An already-aborted signal rejects without starting; the model stays usable.
      expect((await rejection(model.embed(patches(1, 32), 1, { signal: ac.signal }))).code).toBe(
        'ERR_CANCELLED',
      );
      const r = await model.trainStepEndToEnd([{ pixels: patches(2, 32), numPatches: 2, labels: [1, 0] }]);
      expect(r.step).toBe(1);
    } finally {
      model.dispose();
    }
  });

  it('a second call while one runs is refused with ERR_BUSY', async () => {
    const model = EncoderModel.create(smallSpec({ imgSize: 32, embedDim: 64, numHeads: 4, depth: 2 }));
    try {
      const first = model.embed(patches(64, 32), 64, { chunkSize: 4 });
      const e = await rejection(model.embed(patches(1, 32), 1));
      expect(e.code).toBe('ERR_BUSY');
      expect(() => model.getParameter('cls_token')).toThrow(/busy/);
      expect(() => model.setMatmulPrecision('bf16')).toThrow(/busy/);
      expect((await first).length).toBe(64 * 64);
      expect(model.matmulPrecision).toBe('fp32');
    } finally {
      model.dispose();
    }
  });

  it('dispose() frees the parameters at once, and calls afterwards fail with ERR_DISPOSED', async () => {
    // ~50M parameters (200 MB): large enough to see in RSS.
    const spec = smallSpec({ imgSize: 16, embedDim: 1024, numHeads: 8, depth: 4, mlpRatio: 4 });
    // The raw addon class: zero-initialised parameters (random init of 50M values would dominate the test time).
    const rss0 = rssBytes();
    const model = new (loadEngine().Model)(spec, null);
    expect(model.numParams).toBeGreaterThan(50e6);
    const rss1 = rssBytes();
    expect(rss1 - rss0).toBeGreaterThan(150e6);
    model.dispose();
    const rss2 = rssBytes();
    expect(rss1 - rss2).toBeGreaterThan(150e6);
    expect(model.disposed).toBe(true);
    expect(() => model.embed(patches(1, 16), 1)).toThrow(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    model.dispose(); // twice is harmless
  });

  it('dispose() during a call cancels it and frees the model when it ends', async () => {
    const model = EncoderModel.create(smallSpec({ imgSize: 32, embedDim: 64, numHeads: 4, depth: 2 }));
    const pending = model.embed(patches(128, 32), 128, { chunkSize: 1 });
    model.dispose();
    expect(model.disposed).toBe(true);
    const e = await rejection(pending);
    expect(e.code).toBe('ERR_CANCELLED');
    expect((await rejection(model.embed(patches(1, 32), 1))).code).toBe('ERR_DISPOSED');
  });
});
