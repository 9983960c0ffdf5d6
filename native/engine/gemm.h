// Single-precision matrix multiply used by every layer: C (M,N) = / += A (M,K) . B (K,N), with A and B
// given by arbitrary row/column strides (so transposed operands need no copy). Cache-blocked with packed
// panels and a register micro-kernel per CPU path (cpu_features.h): 12x32 AVX-512, 6x16 AVX2+FMA, 6x16 portable
// C++. Each C element is summed over k in the same order whatever the threading, so results are deterministic
// and independent of the thread count (and equal across paths up to rounding).
//
// Precision::Bf16 rounds both operands to bfloat16 as they are packed and accumulates in fp32 (the mixed precision
// of torch.autocast on CPU): vdpbf16ps on AVX512-BF16 CPUs, the path's fp32 kernel on the rounded values elsewhere.
#pragma once

#include <cstdint>

namespace tessera {

enum class Precision { Fp32, Bf16 };

struct MatView {
  const float* p;
  int64_t rs;  // stride between rows
  int64_t cs;  // stride between columns
};

// Serial. accumulate=false overwrites C. colBias (N values, or null) is added to every row after the product.
void gemmSerial(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate,
                const float* colBias = nullptr, Precision precision = Precision::Fp32);
// Splits M or N over the thread pool when the product is big enough.
void gemm(int64_t M, int64_t N, int64_t K, MatView A, MatView B, float* C, int64_t ldc, bool accumulate,
          const float* colBias = nullptr, Precision precision = Precision::Fp32);

// Which micro-kernel runs: "avx512-12x32", "avx2-fma" or "portable" (fp32), and for bf16 "avx512-bf16-12x32" or
// the fp32 name + "+bf16-rounding" (emulated).
const char* gemmKernelName(Precision precision = Precision::Fp32);

}  // namespace tessera
