// Inverted dropout with a counter-based mask (rng.h dropoutMask), so every backend draws the same one.
#include "ops_cpu.h"
#include "rng.h"

namespace tessera {
namespace cpu {

// out = inp * mask, mask (n) saved for backward
void dropout_forward(float* out, float* mask, const float* inp, int64_t n, float p, uint64_t seed) {
  for (int64_t i = 0; i < n; i++) {
    mask[i] = p > 0.0f ? dropoutMask(seed, i, p) : 1.0f;
    out[i] = inp[i] * mask[i];
  }
}

// dinp += dout * mask
void dropout_backward(float* dinp, const float* dout, const float* mask, int64_t n) {
  for (int64_t i = 0; i < n; i++) dinp[i] += dout[i] * mask[i];
}

}  // namespace cpu
}  // namespace tessera
