// Run-time CPU dispatch shared by the SIMD kernels (GEMM, elementwise, LayerNorm, AdamW). The path is the widest
// the CPU and OS support: AVX-512 (F, BW, DQ, VL), AVX2+FMA, or the portable C++ code. TESSERA_CPU_PATH=portable,
// avx2 or avx512 picks a narrower one (a wider one than the CPU has falls back to the widest it has), so one machine
// can run and test every path it has; TESSERA_PORTABLE=1 is the older spelling of TESSERA_CPU_PATH=portable.
// setCpuPath changes it at run time (tests, benchmarks): each GEMM reads the path once, so a change never mixes
// one kernel's packing with another's; an operation already running may finish its other ops on the old path.
#pragma once

namespace tessera {

enum class CpuPath { Portable = 0, Avx2 = 1, Avx512 = 2 };

// What this CPU (and its OS, which must save the wide registers) supports, whatever TESSERA_CPU_PATH says.
bool cpuHasAvx2Fma();
bool cpuHasAvx512();      // F, BW, DQ, VL
bool cpuHasAvx512Bf16();  // AVX512-BF16 (vdpbf16ps), on top of cpuHasAvx512()
CpuPath widestCpuPath();

// The path in use (see above).
CpuPath cpuPath();
// Sets the path in use, capped at widestCpuPath(); returns the path now in use.
CpuPath setCpuPath(CpuPath p);
const char* cpuPathName(CpuPath p);  // "portable", "avx2", "avx512"

inline bool useAvx2Fma() { return cpuPath() >= CpuPath::Avx2; }
inline bool useAvx512() { return cpuPath() == CpuPath::Avx512; }
// bf16 matrix products run on vdpbf16ps (otherwise they are emulated: operands rounded to bf16, fp32 FMA).
inline bool useAvx512Bf16() { return useAvx512() && cpuHasAvx512Bf16(); }

// Plain loops compiled a second time for AVX-512: onAvx512(f) runs f (a lambda marked TESSERA_VECTORIZE, so that its
// body is compiled inside the AVX-512 function, where the compiler vectorizes its loops 16 wide) on the AVX-512
// path and as the baseline build elsewhere. For elementwise loops: the compiler does not reassociate, so each element
// gets the same operations; it may fuse a multiply and an add into one FMA, so results equal the baseline's up to
// rounding (and are the same for any thread count on a path).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TESSERA_VECTORIZE __attribute__((always_inline))
template <class F>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,prefer-vector-width=512"))) void runCompiledForAvx512(
    const F& f) {
  f();
}
template <class F>
inline void onAvx512(const F& f) {
  if (useAvx512()) return runCompiledForAvx512(f);
  f();
}
#else
#define TESSERA_VECTORIZE
template <class F>
inline void onAvx512(const F& f) {
  f();
}
#endif

}  // namespace tessera
