// Linear layer (x W^T + b), the op that carries almost all of the FLOPs; the arithmetic is in gemm.cpp.
#include "gemm.h"
#include "ops_cpu.h"

namespace tessera {
namespace cpu {

// out (M,N) = inp (M,K) . weight (N,K)^T + bias (N)
void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t M, int64_t K,
                    int64_t N) {
  gemm(M, N, K, MatView{inp, K, 1}, MatView{weight, 1, K}, out, N, false, bias);
}

// out rows (stride ldo) = inp rows (stride ldi) . weight (N,K)^T + bias (N)
void linear_forward_rows(float* out, int64_t ldo, const float* inp, int64_t ldi, const float* weight,
                         const float* bias, int64_t M, int64_t K, int64_t N) {
  gemm(M, N, K, MatView{inp, ldi, 1}, MatView{weight, 1, K}, out, ldo, false, bias);
}

// dinp (M,K) += dout . weight; dweight (N,K) += dout^T . inp; dbias (N) += column sums of dout
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t M, int64_t K, int64_t N) {
  if (dinp) gemm(M, K, N, MatView{dout, N, 1}, MatView{weight, K, 1}, dinp, K, true);
  if (dweight) gemm(N, K, M, MatView{dout, 1, N}, MatView{inp, K, 1}, dweight, K, true);
  if (dbias) {
    // Each task owns a column range and sums the rows in order: deterministic.
    parallelRange(N, 64, [&](int64_t n0, int64_t n1) {
      for (int64_t m = 0; m < M; m++) {
        const float* d = dout + m * N;
        for (int64_t n = n0; n < n1; n++) dbias[n] += d[n];
      }
    });
  }
}

}  // namespace cpu
}  // namespace tessera
