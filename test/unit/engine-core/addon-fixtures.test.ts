/**
 * The native addon (native/build/Release/tessera_engine.node) through its TypeScript face, against the
 * PyTorch fixtures: embeddings, per-patch attention and probabilities, and three end-to-end AdamW training
 * steps (losses, gradient norms, every parameter afterwards), all within relative L2 error 1e-4.
 * Gradients themselves are checked tensor by tensor by the C++ driver (core-driver.test.ts). Runs on every CPU
 * path this machine has (setEngineCpuPath), and once with bf16 encoder matrix products (within the bf16 tolerance).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SlideModel,
  engineCpuInfo,
  setEngineCpuPath,
  type EngineCpuInfo,
  type SlidePatches,
} from '../../../src-main/engine/index.js';
import {
  aggregatorFromFixture,
  f32,
  fixtureDir,
  readFixture,
  relL2,
  specFromFixture,
  tensor,
  trainOptionsFromFixture,
  type Fixture,
} from './tsfx.js';

/** bf16 operands with fp32 accumulation against PyTorch fp32 (see kBf16Tol in engine_core_test.cpp). */
const BF16_TOL = 2e-2;
const variants = ['vit_plain', 'vit_reg_ls', 'vit_swiglu', 'vit_swiglu_split'];
const ALL_PATHS: EngineCpuInfo['path'][] = ['avx512', 'avx2', 'portable'];
const startInfo = engineCpuInfo();
const available = ALL_PATHS.slice(ALL_PATHS.indexOf(startInfo.widestPath));

function fixtureModel(fx: Fixture): SlideModel {
  const model = SlideModel.create(specFromFixture(fx), aggregatorFromFixture(fx), 0);
  const names = model.parameterInfo().map((p) => p.name);
  const inFixture = [...fx.keys()].filter((k) => k.startsWith('param.')).map((k) => k.slice('param.'.length));
  expect(names.slice().sort()).toEqual(inFixture.sort());
  for (const name of names) model.setParameter(name, f32(fx, 'param.' + name));
  return model;
}

function slidesFromFixture(fx: Fixture): SlidePatches[] {
  const slides: SlidePatches[] = [];
  for (let i = 0; fx.has(`input.slide${i}.pixels`); i++) {
    const px = tensor(fx, `input.slide${i}.pixels`);
    slides.push({
      pixels: px.data as Uint8Array,
      numPatches: px.shape[0] ?? 0,
      labels: Array.from(tensor(fx, `input.slide${i}.labels`).data),
    });
  }
  return slides;
}

describe('CPU paths', () => {
  it('starts on the widest path (or TESSERA_CPU_PATH) and switches paths and kernels on request', () => {
    const env = process.env.TESSERA_CPU_PATH;
    expect(startInfo.path).toBe(env && available.includes(env as never) ? env : startInfo.widestPath);
    try {
      for (const p of available) {
        expect(setEngineCpuPath(p)).toBe(p);
        const info = engineCpuInfo();
        expect(info.path).toBe(p);
        expect(info.gemmKernel).toBe({ avx512: 'avx512-12x32', avx2: 'avx2-fma', portable: 'portable' }[p]);
        expect(info.gemmKernelBf16).toBe(
          p === 'avx512' && info.avx512Bf16 ? 'avx512-bf16-12x32' : `${info.gemmKernel}+bf16-rounding`,
        );
      }
      // A path wider than the CPU has falls back to the widest.
      if (startInfo.widestPath !== 'avx512') expect(setEngineCpuPath('avx512')).toBe(startInfo.widestPath);
    } finally {
      setEngineCpuPath(startInfo.path);
    }
  });
});

const cases = ALL_PATHS.flatMap((p) => variants.map((v) => ({ cpuPath: p, variant: v, bf16: false }))).concat(
  variants.map((v) => ({ cpuPath: startInfo.widestPath, variant: v, bf16: true })),
);
for (const { cpuPath, variant, bf16 } of cases)
  describe.skipIf(!available.includes(cpuPath))(
    `addon vs PyTorch: ${variant} on the ${cpuPath} path${bf16 ? ', bf16 matmuls' : ''}`,
    () => fixtureSuite(cpuPath, variant, bf16),
  );

function fixtureSuite(cpuPath: EngineCpuInfo['path'], variant: string, bf16: boolean): void {
  const fx = readFixture(path.join(fixtureDir, `${variant}.bin`));
  const slides = slidesFromFixture(fx);
  const TOL = bf16 ? BF16_TOL : 1e-4; // fp32: relative L2 error 1e-4
  const modelFromFixture = (f: Fixture): SlideModel => {
    const m = fixtureModel(f);
    if (bf16) m.setMatmulPrecision('bf16');
    return m;
  };

  beforeAll(() => {
    setEngineCpuPath(cpuPath);
  });
  afterAll(() => {
    setEngineCpuPath(startInfo.path);
  });

  it('embeds and predicts like PyTorch', async () => {
    const model = modelFromFixture(fx);
    try {
      for (const [i, s] of slides.entries()) {
        const emb = await model.embed(s.pixels, s.numPatches, { chunkSize: 2 });
        expect(relL2(emb, f32(fx, `out.slide${i}.embeddings`))).toBeLessThan(TOL);
        // bf16 really ran: the embeddings carry its rounding.
        if (bf16) expect(relL2(emb, f32(fx, `out.slide${i}.embeddings`))).toBeGreaterThan(1e-5);
        const pred = await model.predictSlide(s.pixels, s.numPatches, { chunkSize: 3 });
        expect(relL2(pred.attention, f32(fx, `out.slide${i}.attention`))).toBeLessThan(TOL);
        expect(relL2(pred.probabilities.msi ?? [], f32(fx, `out.slide${i}.prob.msi`))).toBeLessThan(TOL);
        expect(relL2(pred.probabilities.subtype ?? [], f32(fx, `out.slide${i}.prob.subtype`))).toBeLessThan(
          TOL,
        );
        const fromEmb = await model.predictFromEmbeddings(emb, s.numPatches);
        expect(relL2(fromEmb.attention, pred.attention)).toBeLessThan(1e-6);
      }
    } finally {
      model.dispose();
    }
  });

  it('takes three end-to-end AdamW steps like torch.optim.AdamW', async () => {
    const model = modelFromFixture(fx);
    try {
      const losses: number[] = [];
      const norms: number[] = [];
      for (let s = 0; s < 3; s++) {
        const r = await model.trainStepEndToEnd(slides, trainOptionsFromFixture(fx, 2));
        expect(r.optimizerStepped).toBe(true);
        expect(r.tasks.map((t) => t.labelled)).toEqual([2, 1]);
        losses.push(r.loss);
        norms.push(r.gradNorm);
      }
      expect(model.step).toBe(3);
      expect(relL2(losses, f32(fx, 'step3.losses'))).toBeLessThan(TOL);
      expect(relL2(norms, f32(fx, 'step3.grad_norms'))).toBeLessThan(TOL);
      for (const { name } of model.parameterInfo()) {
        const got = model.getParameter(name);
        const want = f32(fx, 'step3.' + name).slice();
        if (name.endsWith('attn.qkv.bias')) {
          // The key bias has an identically zero gradient (softmax over keys is shift-invariant), so AdamW
          // moves it by amplified rounding noise in both implementations: compare the q and v parts only.
          const d = got.length / 3;
          const init = f32(fx, 'param.' + name);
          for (let i = d; i < 2 * d; i++) got[i] = want[i] = init[i] ?? 0;
        }
        expect(relL2(got, want), name).toBeLessThan(TOL);
      }
    } finally {
      model.dispose();
    }
  });
}
