/**
 * Holds a child process to AVX2 on an AVX-512 machine by what CPUID answers (cpuid-avx2-only.c, built here
 * with the system C compiler), for references that pick their kernels by CPUID with no switch, such as
 * onnxruntime's MLAS. The AVX2-only rows of a benchmark then compare AVX2 with AVX2, as on an AVX2-only CPU.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildWithCc } from './build-with-cc.js';

const SOURCE = path.join(import.meta.dirname, 'cpuid-avx2-only.c');
/** glibc chooses its string functions in ld.so, before any preloaded code runs: this masks them there. */
export const GLIBC_AVX2_ONLY = 'glibc.cpu.hwcaps=-AVX512F,-AVX512BW,-AVX512CD,-AVX512DQ,-AVX512VL';

/** The CPU's feature flags as Linux lists them in /proc/cpuinfo (none where it cannot be read). */
export function cpuFlags(): Set<string> {
  try {
    const line = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    return new Set(line.trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

/** The environment that holds a child to AVX2, or why it cannot be made on this machine. */
export function avx2OnlyEnv(workDir: string): NodeJS.ProcessEnv | string {
  if (!cpuFlags().has('cpuid_fault'))
    return 'this CPU (or its hypervisor) offers no CPUID faulting (no cpuid_fault in /proc/cpuinfo)';
  const library = path.resolve(workDir, 'cpuid-avx2-only.so');
  const whyNot = buildWithCc(SOURCE, library, ['-O2', '-shared', '-fPIC'], ['-ldl']);
  if (whyNot) return whyNot;
  const tunables = [process.env.GLIBC_TUNABLES, GLIBC_AVX2_ONLY].filter(Boolean).join(':');
  return { ...process.env, LD_PRELOAD: library, GLIBC_TUNABLES: tunables };
}
