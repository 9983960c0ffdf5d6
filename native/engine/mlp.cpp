// MLP activations: exact (erf, not tanh-approximated) GELU for timm's Mlp, and SiLU-gated linear unit for SwiGLU(Packed). The
// fc1/fc2 projections are linear ops.
#include <cmath>

#include "fast_math.h"
#include "ops_cpu.h"

namespace tessera {
namespace cpu {

void gelu_forward(float* out, const float* inp, int64_t n) {
  parallelRange(n, 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) out[i] = 0.5f * inp[i] * (1.0f + fastErf(inp[i] * 0.70710678118654752f));
  });
}

void gelu_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  parallelRange(n, 1 << 14, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const float x = inp[i];
      const float cdf = 0.5f * (1.0f + fastErf(x * 0.70710678118654752f));
      const float pdf = 0.39894228040143268f * fastExp(-0.5f * x * x);
      dinp[i] += dout[i] * (cdf + x * pdf);
    }
  });
}

// inp (M,2H) = [gate | value] (timm GluMlp gate_last=False) -> out (M,H) = silu(gate) * value
void swiglu_forward(float* out, const float* inp, int64_t M, int64_t H) {
  parallelRange(M, 64, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m++) {
      const float* g = inp + m * 2 * H;
      const float* v = g + H;
      float* o = out + m * H;
      for (int64_t j = 0; j < H; j++) o[j] = g[j] / (1.0f + fastExp(-g[j])) * v[j];
    }
  });
}

void swiglu_backward(float* dinp, const float* dout, const float* inp, int64_t M, int64_t H) {
  parallelRange(M, 64, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m++) {
      const float* g = inp + m * 2 * H;
      const float* v = g + H;
      const float* d = dout + m * H;
      float* dg = dinp + m * 2 * H;
      float* dv = dg + H;
      for (int64_t j = 0; j < H; j++) {
        const float s = 1.0f / (1.0f + fastExp(-g[j]));
        dv[j] += d[j] * g[j] * s;
        dg[j] += d[j] * v[j] * s * (1.0f + g[j] * (1.0f - s));
      }
    }
  });
}

}  // namespace cpu
}  // namespace tessera
