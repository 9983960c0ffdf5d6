// Linear layer (x W^T + b), the op that carries almost all of the FLOPs; the arithmetic is in gemm.cpp. The *_bf16
// versions (the bf16 backend table) run the same products with bf16 operands and fp32 accumulation.
#include <algorithm>
#include <vector>

#include "cpu_features.h"
#include "gemm.h"
#include "ops_cpu.h"

namespace tessera {
namespace cpu {

namespace {
void linearForward(Precision pr, float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                   const float* bias, int64_t M, int64_t K, int64_t N) {
  gemm(M, N, K, MatView{inp, ldi, 1}, MatView{weight, 1, K}, out, ldo, false, bias, pr);
}

void linearBackward(Precision pr, float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                    const float* weight, int64_t M, int64_t K, int64_t N) {
  if (dinp) gemm(M, K, N, MatView{dout, N, 1}, MatView{weight, K, 1}, dinp, K, true, nullptr, pr);
  if (dweight) gemm(N, K, M, MatView{dout, 1, N}, MatView{inp, K, 1}, dweight, K, true, nullptr, pr);
  if (dbias) {
    // Column sums over fixed blocks of kRows rows (each task reads whole rows, in order), then the block sums are
    // added in block order: deterministic for any thread count.
    constexpr int64_t kRows = 64;
    const int64_t blocks = (M + kRows - 1) / kRows;
    std::vector<float> partial(static_cast<size_t>(blocks * N), 0.0f);
    parallelFor(blocks, [&](int64_t b) {
      onAvx512([&]() TESSERA_VECTORIZE {
        float* p = partial.data() + b * N;
        for (int64_t m = b * kRows; m < std::min(M, (b + 1) * kRows); m++) {
          const float* d = dout + m * N;
          for (int64_t n = 0; n < N; n++) p[n] += d[n];
        }
      });
    });
    for (int64_t b = 0; b < blocks; b++) {
      const float* p = partial.data() + b * N;
      for (int64_t n = 0; n < N; n++) dbias[n] += p[n];
    }
  }
}
}  // namespace

// out (M,N) = inp (M,K) . weight (N,K)^T + bias (N)
void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t M, int64_t K,
                    int64_t N) {
  linearForward(Precision::Fp32, out, N, inp, K, weight, bias, M, K, N);
}

// out rows (stride ldo) = inp rows (stride ldi) . weight (N,K)^T + bias (N)
void linear_forward_rows(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                         const float* bias, int64_t M, int64_t K, int64_t N) {
  linearForward(Precision::Fp32, out, ldo, inp, ldi, weight, bias, M, K, N);
}

// dinp (M,K) += dout . weight; dweight (N,K) += dout^T . inp; dbias (N) += column sums of dout (always fp32)
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t M, int64_t K, int64_t N) {
  linearBackward(Precision::Fp32, dinp, dweight, dbias, dout, inp, weight, M, K, N);
}

void linear_forward_bf16(float* out, const float* inp, const float* weight, const float* bias, int64_t M, int64_t K,
                         int64_t N) {
  linearForward(Precision::Bf16, out, N, inp, K, weight, bias, M, K, N);
}

void linear_forward_rows_bf16(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                              const float* bias, int64_t M, int64_t K, int64_t N) {
  linearForward(Precision::Bf16, out, ldo, inp, ldi, weight, bias, M, K, N);
}

void linear_backward_bf16(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, int64_t M, int64_t K, int64_t N) {
  linearBackward(Precision::Bf16, dinp, dweight, dbias, dout, inp, weight, M, K, N);
}

}  // namespace cpu
}  // namespace tessera
