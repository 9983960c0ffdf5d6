// Measures this machine's peak arithmetic throughput (GFLOP/s) on n threads, one vector unit at a time, with
// independent chains of one instruction: fp32 FMA on 256-bit (AVX2) or 512-bit (AVX-512) registers, or the bf16
// dot product vdpbf16ps (AVX512-BF16; 64 FLOP per instruction). The benchmark reports the engine's achieved
// GFLOP/s against the unit of the path in use. Returns 0 when the CPU lacks the unit (or it is not x86-64).
#pragma once

namespace tessera_binding {

enum class PeakUnit { Avx2Fma, Avx512Fma, Avx512Bf16 };

double measurePeakGflops(PeakUnit unit, int threads, double seconds);

}  // namespace tessera_binding
