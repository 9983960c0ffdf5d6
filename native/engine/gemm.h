// Single-precision matrix multiply used by every layer: C (M,N) = / += A (M,K) . B (K,N), with A and B
// given by arbitrary row/column strides (so transposed operands need no copy). Cache-blocked with packed
// panels and a 6x16 register micro-kernel: AVX2+FMA when the CPU has it (chosen at run time), a portable
// C++ kernel otherwise. Each C element is summed over k in the same order whatever the threading, so
// results are deterministic and independent of the thread count.
#pragma once

#include <cstdint>

namespace tessera {

struct MatView {
  const float* p;
  int64_t rs;  // stride between rows
  int64_t cs;  // stride between columns
};

// Serial. accumulate=false overwrites C. colBias (N values, or null) is added to every row after the product.
void gemmSerial(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate,
                const float* colBias = nullptr);
// Splits M or N over the thread pool when the product is big enough.
void gemm(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate,
          const float* colBias = nullptr);

// Which micro-kernel runs ("avx2-fma" or "portable"); TESSERA_PORTABLE=1 forces the portable one.
const char* gemmKernelName();

}  // namespace tessera
