// LayerNorm over the last dimension (biased variance, as torch.nn.LayerNorm).
#include <cmath>

#include "ops_cpu.h"

namespace tessera {
namespace cpu {

// out, inp (M,C); weight, bias (C); mean, rstd (M) saved for backward (may be null)
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int64_t M, int64_t C, float eps) {
  parallelRange(M, 64, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m++) {
      const float* x = inp + m * C;
      double s = 0.0;
      for (int64_t c = 0; c < C; c++) s += x[c];
      const float mu = static_cast<float>(s / C);
      double v = 0.0;
      for (int64_t c = 0; c < C; c++) {
        const double d = x[c] - mu;
        v += d * d;
      }
      const float r = static_cast<float>(1.0 / std::sqrt(v / C + eps));
      float* o = out + m * C;
      for (int64_t c = 0; c < C; c++) o[c] = (x[c] - mu) * r * weight[c] + bias[c];
      if (mean) mean[m] = mu;
      if (rstd) rstd[m] = r;
    }
  });
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int64_t M, int64_t C) {
  if (dinp) {
    parallelRange(M, 64, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; m++) {
        const float* x = inp + m * C;
        const float* d = dout + m * C;
        const float mu = mean[m], r = rstd[m];
        double sumD = 0.0, sumDX = 0.0;
        for (int64_t c = 0; c < C; c++) {
          const float dn = d[c] * weight[c];
          sumD += dn;
          sumDX += static_cast<double>(dn) * ((x[c] - mu) * r);
        }
        const float meanD = static_cast<float>(sumD / C), meanDX = static_cast<float>(sumDX / C);
        float* di = dinp + m * C;
        for (int64_t c = 0; c < C; c++) {
          const float xhat = (x[c] - mu) * r;
          di[c] += (d[c] * weight[c] - meanD - xhat * meanDX) * r;
        }
      }
    });
  }
  // Parameter gradients: each task owns a column range and walks the rows in order (deterministic).
  parallelRange(C, 32, [&](int64_t c0, int64_t c1) {
    for (int64_t m = 0; m < M; m++) {
      const float* x = inp + m * C;
      const float* d = dout + m * C;
      const float mu = mean[m], r = rstd[m];
      for (int64_t c = c0; c < c1; c++) {
        dweight[c] += d[c] * ((x[c] - mu) * r);
        if (dbias) dbias[c] += d[c];
      }
    }
  });
}

}  // namespace cpu
}  // namespace tessera
