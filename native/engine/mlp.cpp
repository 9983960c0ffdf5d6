// MLP activations: exact (erf, not tanh-approximated) GELU for timm's Mlp, and the SiLU-gated linear unit
// for SwiGLU(Packed). The fc1/fc2 projections are linear ops; the arithmetic is in vector_math.cpp.
#include "ops_cpu.h"
#include "vector_math.h"

namespace tessera {
namespace cpu {

void gelu_forward(float* out, const float* inp, int64_t n) {
  parallelRange(n, 1 << 14, [&](int64_t i0, int64_t i1) { vecGeluForward(out + i0, inp + i0, i1 - i0); });
}

void gelu_backward(float* dinp, const float* dout, const float* inp, int64_t n) {
  parallelRange(n, 1 << 14,
                [&](int64_t i0, int64_t i1) { vecGeluBackward(dinp + i0, dout + i0, inp + i0, i1 - i0); });
}

// The bf16 table's GELU (vector_math.h's piecewise one, to about 1e-6): what it produces is next rounded to bf16.
void gelu_forward_bf16(float* out, const float* inp, int64_t n) {
  parallelRange(n, 1 << 14, [&](int64_t i0, int64_t i1) { vecGeluForwardPiecewise(out + i0, inp + i0, i1 - i0); });
}

void gelu_backward_bf16(float* dinp, const float* dout, const float* inp, int64_t n) {
  parallelRange(n, 1 << 14,
                [&](int64_t i0, int64_t i1) { vecGeluBackwardPiecewise(dinp + i0, dout + i0, inp + i0, i1 - i0); });
}

// inp (M,2H) = [gate | value] (timm GluMlp gate_last=False) -> out (M,H) = silu(gate) * value
void swiglu_forward(float* out, const float* inp, int64_t M, int64_t H) {
  parallelRange(M, 16, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m++) vecSwigluForward(out + m * H, inp + m * 2 * H, inp + m * 2 * H + H, H);
  });
}

void swiglu_backward(float* dinp, const float* dout, const float* inp, int64_t M, int64_t H) {
  parallelRange(M, 16, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m++)
      vecSwigluBackward(dinp + m * 2 * H, dinp + m * 2 * H + H, dout + m * H, inp + m * 2 * H,
                        inp + m * 2 * H + H, H);
  });
}

}  // namespace cpu
}  // namespace tessera
