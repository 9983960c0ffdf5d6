// Run-time CPU dispatch shared by the SIMD kernels (GEMM, elementwise, AdamW): AVX2+FMA when the CPU has it,
// unless TESSERA_PORTABLE=1 forces the portable C++ paths (tests run both).
#pragma once

#include <cstdlib>

namespace tessera {

inline bool useAvx2Fma() {
  static const bool yes = [] {
    const char* portable = std::getenv("TESSERA_PORTABLE");
    if (portable && portable[0] == '1') return false;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
  }();
  return yes;
}

}  // namespace tessera
