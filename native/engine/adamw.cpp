// AdamW with decoupled weight decay, in the same operation order as torch.optim.AdamW (single-tensor path)
// so results agree to float rounding.
#include <cmath>

#include "ops_cpu.h"

namespace tessera {
namespace cpu {

// p, g, m, v (n); t = 1-based step number
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                  float eps, float wd, int64_t t) {
  const float decay = static_cast<float>(1.0 - static_cast<double>(lr) * wd);
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(t));
  const float stepSize = static_cast<float>(lr / bc1);
  const float bc2Sqrt = static_cast<float>(std::sqrt(bc2));
  const float oneMinusB1 = 1.0f - beta1, oneMinusB2 = 1.0f - beta2;
  parallelRange(n, 1 << 15, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      p[i] *= decay;
      m[i] = m[i] * beta1 + oneMinusB1 * g[i];
      v[i] = v[i] * beta2 + oneMinusB2 * g[i] * g[i];
      const float denom = std::sqrt(v[i]) / bc2Sqrt + eps;
      p[i] -= stepSize * (m[i] / denom);
    }
  });
}

}  // namespace cpu
}  // namespace tessera
