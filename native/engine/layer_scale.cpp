// Residual add with optional LayerScale (timm ls1/ls2: x + gamma * f(x)).
#include "cpu_features.h"
#include "ops_cpu.h"

namespace tessera {
namespace cpu {

// out (M,C) = residual + gamma (C, null = 1) * inp; out may alias residual
void residual_scale_forward(float* out, const float* residual, const float* inp, const float* gamma, int64_t M,
                            int64_t C) {
  parallelRange(M, 64, [&](int64_t m0, int64_t m1) {
    onAvx512([&]() TESSERA_VECTORIZE {
      for (int64_t m = m0; m < m1; m++) {
        const float* r = residual + m * C;
        const float* x = inp + m * C;
        float* o = out + m * C;
        if (gamma)
          for (int64_t c = 0; c < C; c++) o[c] = r[c] + gamma[c] * x[c];
        else
          for (int64_t c = 0; c < C; c++) o[c] = r[c] + x[c];
      }
    });
  });
}

void residual_scale_backward(float* dinp, float* dgamma, const float* dout, const float* inp, const float* gamma,
                             int64_t M, int64_t C) {
  parallelRange(M, 64, [&](int64_t m0, int64_t m1) {
    onAvx512([&]() TESSERA_VECTORIZE {
      for (int64_t m = m0; m < m1; m++) {
        const float* d = dout + m * C;
        float* di = dinp + m * C;
        if (gamma)
          for (int64_t c = 0; c < C; c++) di[c] += gamma[c] * d[c];
        else
          for (int64_t c = 0; c < C; c++) di[c] += d[c];
      }
    });
  });
  if (dgamma) {
    parallelRange(C, 32, [&](int64_t c0, int64_t c1) {
      for (int64_t m = 0; m < M; m++) {
        const float* d = dout + m * C;
        const float* x = inp + m * C;
        for (int64_t c = c0; c < c1; c++) dgamma[c] += d[c] * x[c];
      }
    });
  }
}

}  // namespace cpu
}  // namespace tessera
