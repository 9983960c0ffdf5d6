/**
 * `tessera doctor`: what the engine can run on here. The CPU backend (its SIMD path and GEMM kernels, threads), the
 * CUDA backend (compiled in or not, the GPU architectures, the device and its memory, the driver and runtime), and
 * the libraries the GPU path loads at run time (the NVIDIA driver's libcuda, cuBLASLt). Exit code 0 whatever it
 * finds: a machine without a GPU is a supported configuration; --json gives the same as one object.
 */
import type { Command } from 'commander';
import { addonPath } from '../../engine/native.js';
import { engineCpuInfo, engineCudaInfo, engineThreads } from '../../engine/model.js';
import type { EngineCpuInfo, EngineCudaInfo } from '../../engine/types.js';
import type { CliIo } from '../index.js';

function version(v: number): string {
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function cpuFeatures(cpu: EngineCpuInfo): string {
  const f = [cpu.avx2Fma && 'AVX2+FMA', cpu.avx512 && 'AVX-512', cpu.avx512Bf16 && 'AVX512-BF16'].filter(
    Boolean,
  );
  return f.length ? f.join(', ') : 'no SIMD extensions used';
}

/** The report as lines of text. */
export function doctorReport(
  cpu: EngineCpuInfo,
  cuda: EngineCudaInfo,
  threads: number,
  addon: string,
): string[] {
  const lines = [
    `Engine: ${addon}`,
    `CPU backend: ${cpu.path} path (${cpuFeatures(cpu)}; widest here: ${cpu.widestPath}), ${threads} threads`,
    `  GEMM kernels: fp32 ${cpu.gemmKernel}, bf16 ${cpu.gemmKernelBf16}`,
  ];
  if (!cuda.compiled) {
    lines.push(`CUDA backend: not built. ${cuda.message}`);
  } else {
    lines.push(
      `CUDA backend: built for ${cuda.archs} (CUDA runtime ${version(cuda.runtimeVersion)}, linked in)`,
    );
    const d = cuda.device;
    if (d) {
      lines.push(
        `  GPU ${d.index}: ${d.name}, compute capability ${d.computeCapability}, ${d.multiprocessors} multiprocessors`,
        `  Memory: ${gib(d.freeBytes)} free of ${gib(d.totalBytes)}`,
      );
      if (cuda.deviceCount > 1)
        lines.push(`  ${cuda.deviceCount} GPUs found (TESSERA_CUDA_DEVICE picks another)`);
    } else {
      lines.push(`  GPU: none usable. ${cuda.message}`);
    }
    lines.push(
      `  NVIDIA driver: ${cuda.driverVersion > 0 ? `CUDA ${version(cuda.driverVersion)}` : 'not found'}`,
    );
  }
  lines.push('Libraries loaded at run time:');
  lines.push(
    `  libcuda (NVIDIA driver): ${cuda.driverVersion > 0 ? 'found' : 'not found'}`,
    `  cuBLASLt: ${cuda.cublasLt ? `found, ${cuda.cublasLtInfo}` : `not used (${cuda.compiled ? cuda.cublasLtInfo || 'no GPU' : 'no CUDA backend'})`}`,
  );
  lines.push(
    cuda.available ? 'Models can run on the GPU (device "cuda").' : 'Models run on the CPU (device "cpu").',
  );
  return lines;
}

export function register(program: Command, io: CliIo): void {
  program
    .command('doctor')
    .description('report the engine backends here: CPU kernels, CUDA device, driver, memory and libraries')
    .option('--json', 'print one JSON object instead of text')
    .action((opts: { json?: boolean }) => {
      const cpu = engineCpuInfo();
      const cuda = engineCudaInfo();
      const threads = engineThreads();
      const addon = addonPath();
      if (opts.json) {
        io.out(`${JSON.stringify({ addon, threads, cpu, cuda }, null, 2)}\n`);
        return;
      }
      io.out(`${doctorReport(cpu, cuda, threads, addon).join('\n')}\n`);
    });
}
