/**
 * The CUDA backend as the app sees it, on the addon this machine built: what engineCudaInfo() and `tessera doctor`
 * report, and that a machine without a GPU (or without the NVIDIA driver, or with an addon built without nvcc) loads
 * the addon, refuses device 'cuda' with one sentence saying why, and trains on the CPU.
 */
import { describe, expect, it } from 'vitest';
import { doctorReport } from '../../../src-main/cli/commands/doctor.js';
import { EngineError } from '../../../src-main/engine/errors.js';
import {
  SlideModel,
  engineCpuInfo,
  engineCudaInfo,
  selectCudaDevice,
} from '../../../src-main/engine/model.js';
import type { EngineCudaInfo } from '../../../src-main/engine/types.js';
import { cli } from '../../helpers/cli.js';
import { patches, smallSpec } from './helpers.js';

const TASKS = { hiddenDim: 8, tasks: [{ name: 'msi', kind: 'binary' as const }] };

describe('CUDA backend in the addon', () => {
  it('reports whether it was built in, and a device only when one is usable', () => {
    const info = engineCudaInfo();
    expect(info.available).toBe(info.device !== null);
    expect(info.message).not.toMatch(/\n/);
    if (info.compiled) {
      expect(info.archs).toBe('sm_80 sm_86 sm_89 sm_90');
      expect(info.runtimeVersion).toBeGreaterThanOrEqual(12000);
    } else {
      expect(info.message).toBe(
        'This build has no CUDA backend (nvcc was not found when the engine was built, or TESSERA_CUDA=0 was set).',
      );
      expect(info.available).toBe(false);
      expect(info.cublasLt).toBe(false);
    }
    if (!info.available) expect(info.message).toMatch(/the engine runs on the CPU\.$|no CUDA backend/);
  });

  it('without a usable device: refuses "cuda" with the reason, stays on the CPU and trains there', async () => {
    const info = engineCudaInfo();
    if (info.available) return; // a GPU machine: test/gpu/run.sh checks the device path
    const model = SlideModel.create(smallSpec(), TASKS, 1);
    try {
      expect(model.device).toBe('cpu');
      let err: unknown;
      try {
        model.setDevice('cuda');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).code).toBe('ERR_NO_DEVICE');
      expect((err as EngineError).message).toBe(info.message);
      expect(() => model.setDevice('tpu' as 'cpu')).toThrow(/device must be "cpu" or "cuda"/);
      expect(model.device).toBe('cpu');
      // chunkSize 0: chosen from free memory on a device; the CPU cannot say, so 32.
      const r = await model.trainStepEndToEnd([{ pixels: patches(3, 16), numPatches: 3, labels: [1] }], {
        chunkSize: 0,
      });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.step).toBe(1);
      model.setDevice('cpu');
      expect(model.device).toBe('cpu');
    } finally {
      model.dispose();
    }
    expect(() => selectCudaDevice(0)).toThrow(EngineError);
  });
});

describe('tessera doctor', () => {
  it('prints the backends, the CUDA state and the run-time libraries, and exits 0 without a GPU', async () => {
    const info = engineCudaInfo();
    const r = await cli('doctor');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^Engine: .*tessera_engine\.node\n/);
    expect(r.out).toContain(`CPU backend: ${engineCpuInfo().path} path`);
    expect(r.out).toMatch(
      info.compiled ? /CUDA backend: built for sm_80 sm_86 sm_89 sm_90/ : /CUDA backend: not built\./,
    );
    expect(r.out).toMatch(/ {2}libcuda \(NVIDIA driver\): (found|not found)\n {2}cuBLASLt: /);
    expect(r.out.trimEnd().split('\n').at(-1)).toBe(
      info.available ? 'Models can run on the GPU (device "cuda").' : 'Models run on the CPU (device "cpu").',
    );
    const json = await cli('doctor', '--json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out) as { cuda: EngineCudaInfo; threads: number };
    expect(parsed.cuda.compiled).toBe(info.compiled);
    expect(parsed.cuda.available).toBe(info.available);
    expect(parsed.threads).toBeGreaterThan(0);
  });

  it('describes a GPU machine: device, memory, driver, cuBLASLt', () => {
    const cpu = engineCpuInfo();
    const gpu: EngineCudaInfo = {
      compiled: true,
      available: true,
      message: 'NVIDIA H100 80GB HBM3 (device 0)',
      archs: 'sm_80 sm_86 sm_89 sm_90',
      deviceCount: 2,
      device: {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        computeCapability: '9.0',
        multiprocessors: 132,
        totalBytes: 80 * 2 ** 30,
        freeBytes: 79.5 * 2 ** 30,
      },
      driverVersion: 13000,
      runtimeVersion: 13000,
      cublasLt: true,
      cublasLtInfo: 'libcublasLt.so.13 (version 130000)',
    };
    const lines = doctorReport(cpu, gpu, 4, '/x/tessera_engine.node');
    expect(lines).toContain('CUDA backend: built for sm_80 sm_86 sm_89 sm_90 (CUDA runtime 13.0, linked in)');
    expect(lines).toContain('  GPU 0: NVIDIA H100 80GB HBM3, compute capability 9.0, 132 multiprocessors');
    expect(lines).toContain('  Memory: 79.5 GiB free of 80.0 GiB');
    expect(lines).toContain('  2 GPUs found (TESSERA_CUDA_DEVICE picks another)');
    expect(lines).toContain('  NVIDIA driver: CUDA 13.0');
    expect(lines).toContain('  libcuda (NVIDIA driver): found');
    expect(lines).toContain('  cuBLASLt: found, libcublasLt.so.13 (version 130000)');
    expect(lines.at(-1)).toBe('Models can run on the GPU (device "cuda").');

    const noDriver = doctorReport(
      cpu,
      {
        ...gpu,
        available: false,
        device: null,
        deviceCount: 0,
        driverVersion: 0,
        cublasLt: false,
        cublasLtInfo: '',
        message: 'No NVIDIA driver was found (libcuda is not installed): the engine runs on the CPU.',
      },
      4,
      '/x/tessera_engine.node',
    );
    expect(noDriver).toContain(
      '  GPU: none usable. No NVIDIA driver was found (libcuda is not installed): the engine runs on the CPU.',
    );
    expect(noDriver).toContain('  NVIDIA driver: not found');
    expect(noDriver).toContain('  cuBLASLt: not used (no GPU)');
    expect(noDriver.at(-1)).toBe('Models run on the CPU (device "cpu").');
  });
});
